// bench/browser's columns, each run in its own browser context: ours (the app's ?bench=1 page,
// then its top-5 for the verify text checked against torch's: verifyTopK) and the peer
// (transformers.js in peer.html). driver.mjs starts the browser and the servers, and calls these.
import { basename } from 'node:path';

/** Our page: ?bench=1 on the model, then (after the report) its predictions for the verify text. */
export async function runOurs(browser, servers, opts, ref, backend, extra = {}) {
  const context = await browser.newContext();
  // The model server is another origin: the page asks before downloading (download-confirm).
  await context.addInitScript(() =>
    new MutationObserver(() => document.querySelector('[data-testid="download-confirm-yes"]')?.click()).observe(document, { subtree: true, childList: true }),
  );
  try {
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    const params = new URLSearchParams({
      model: `${servers.models.url}m/`,
      bench: '1',
      n: opts.seq.join(','),
      runs: String(backend === 'cpu' ? opts.cpuRuns : opts.runs),
      warmup: String(backend === 'cpu' ? opts.cpuWarmup : opts.warmup),
      k: '5',
    });
    if (ref.cases.verify_text) params.set('text', ref.cases.verify_text.text);
    if (backend === 'cpu') {
      params.set('backend', 'cpu');
      params.set('threads', String(opts.tjsThreads));
      for (const [k, v] of Object.entries(extra)) params.set(k, v);
    }
    else if (opts.profile !== false) params.set('profile', '1');
    const t0 = Date.now();
    await page.goto(`${servers.app.url}?${params}`);
    const bench = page.locator('[data-testid="bench"]:is([data-state="done"], [data-state="error"])');
    await bench.waitFor({ timeout: opts.columnTimeoutMs });
    const report = JSON.parse(await bench.textContent());
    if ((await bench.getAttribute('data-state')) !== 'done') throw new Error(`ours ${backend}: the page's bench failed: ${report.error}`);
    const status = page.getByTestId('status');
    const gotBackend = await status.getAttribute('data-backend');
    const want = backend === 'cpu' ? 'cpu' : 'webgpu';
    if (gotBackend !== want) throw new Error(`ours ${backend}: the page ran on '${gotBackend}', not '${want}': ${await status.innerText()}`);
    // The same thread count as transformers.js' wasm, or the comparison is not the same.
    const threads = report.rows.map((r) => r.threads);
    if (backend === 'cpu' && threads.some((n) => n !== opts.tjsThreads)) {
      throw new Error(`ours cpu: asked for ${opts.tjsThreads} threads, the page's forwards ran on ${threads.join(', ')} (is the page cross-origin isolated?)`);
    }
    const result = { backend: want, report, wall_s: (Date.now() - t0) / 1000, problems };
    // Same weights, through the page: its top-5 for the verify text against torch's.
    const c = ref.cases.verify_text;
    if (c) {
      await page.waitForFunction(() => document.querySelector('[data-testid="mask"] [data-testid="prediction"]'), null, { timeout: opts.columnTimeoutMs });
      const masks = await page.$$eval('[data-testid="mask"]', (gs) =>
        gs.map((g) => ({ position: Number(g.dataset.position), top: [...g.querySelectorAll('[data-testid="prediction"]')].map((p) => ({ id: Number(p.dataset.id), prob: Number(p.dataset.prob) })) })),
      );
      result.verify = verifyTopK(masks, c, opts.tol);
    } else {
      result.verify = { ok: null, reason: 'no tokenizer.json: no verify text' };
    }
    return result;
  } finally {
    await context.close();
  }
}

/** Top-5 ids and log-probabilities (within 2·tol, which |Δlogit| ≤ tol implies) vs torch's; near ties may swap. */
export function verifyTopK(masks, c, tol) {
  const logits = c.logits;
  const max = Math.max(...logits);
  const lse = max + Math.log(logits.reduce((a, x) => a + Math.exp(x - max), 0));
  const logp = (id) => logits[id] - lse;
  const out = { text: c.text, position: masks[0]?.position, want_position: c.mask_position, checks: [], ok: true };
  if (masks.length !== 1 || masks[0].position !== c.mask_position) {
    out.ok = false;
    out.error = `page shows ${masks.length} [MASK] group(s) at ${masks.map((m) => m.position)}; torch's ids put it at ${c.mask_position}`;
    return out;
  }
  let worst = 0;
  masks[0].top.forEach((p, r) => {
    const want = c.top5[r];
    if (!want) return;
    const d = Math.abs(Math.log(p.prob) - logp(p.id));
    const tied = c.top5.filter((q) => Math.abs(Math.log(q.prob) - Math.log(want.prob)) <= 2 * tol).map((q) => q.id);
    const good = d <= 2 * tol && (p.id === want.id || tied.includes(p.id));
    worst = Math.max(worst, d);
    out.checks.push({ rank: r, id: p.id, want_id: want.id, abs_diff_logprob: d, ok: good });
    out.ok &&= good;
  });
  out.max_abs_diff_logprob = worst;
  if (!out.checks.length) out.ok = false;
  return out;
}

export async function runPeer(browser, servers, opts, device) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const consoleLines = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    await page.goto(`${servers.app.url}peer/peer.html`);
    await page.waitForSelector('#state[data-state="ready"]', { timeout: 60_000 });
    const t0 = Date.now();
    const report = await page.evaluate((o) => window.peer.run(o), {
      tjsUrl: `${servers.app.url}tjs/transformers.js`,
      ortUrl: `${servers.app.url}ort/`,
      modelsBase: servers.models.url,
      modelId: 'm',
      referenceUrl: `${servers.models.url}r/${basename(opts.reference)}`,
      device,
      variants: opts.variants,
      seq: opts.seq,
      runs: device === 'wasm' ? opts.cpuRuns : opts.runs,
      warmup: device === 'wasm' ? opts.cpuWarmup : opts.warmup,
      threads: opts.tjsThreads,
      tol: opts.tol,
    });
    report.wall_s = (Date.now() - t0) / 1000;
    report.console_errors = consoleLines.filter((l) => /^(error|pageerror)/.test(l)).slice(0, 20);
    return report;
  } finally {
    await context.close();
  }
}
