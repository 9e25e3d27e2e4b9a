// Browser tests of the fill-mask page: backend choice, predictions against the `albert` CLI,
// editing, keyboard, URL parameters, theme (the layout: layout.test.mjs).
//
//   node --test tests/e2e/          (scripts/test builds dist/ first)
//   CHROMIUM_PATH=/path/to/chrome node --test tests/e2e/
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  applyPick,
  appUrl,
  assertSameTopK,
  cliFill,
  cliJson,
  enterSentence,
  fixtures,
  launch,
  longModelDir,
  readyStatus,
  settledStatus,
  startServers,
  waitPredictions,
  waitText,
} from './helpers.mjs';
import { readFileSync } from 'node:fs';

const TINY = join(fixtures, 'tiny');
let s;

before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

/**
 * Bytes the page's forward returns on the tiny fixture (V 1000, 3 layers × 4 heads of 8) at n
 * tokens, all f32: one [MASK] row of logits, the lens (h_0..h_3: 4 × V), the drift (2 per layer),
 * the neuron view's q and k (2 × n × 8) and, with `maps`, every attention map (3 × 4 × n²).
 */
function tinyPageBytes(n, { maps = true } = {}) {
  return 4 * (1000 + 4 * 1000 + 2 * 3 + 2 * n * 8 + (maps ? 3 * 4 * n * n : 0));
}

/**
 * Floats the page reads back of the maps of a tiny-shaped model (3 maps × 4 heads) at n tokens
 * with `whole` maps whole (src/view_model/attention/request.rs): every map (`all`), or those
 * maps, every map's mean and every head's thumbnail of at most 64 cells a side (`views`); the
 * page takes the fewer.
 */
function tinyMapFloats(n, whole) {
  const side = Math.ceil(n / Math.ceil(n / 64));
  const all = 3 * 4 * n * n;
  const views = whole * 4 * n * n + 3 * n * n + 3 * 4 * side * side;
  return { all, views, side, read: Math.min(all, views) };
}

/** Opens the app on the tiny fixture. */
async function openTiny(t, { params = {}, ...opts } = {}) {
  const ctx = await launch(t, opts);
  await ctx.page.goto(appUrl(s.app, { model: s.modelUrl('tiny'), ...params }));
  return ctx;
}

describe('WebGPU (SwiftShader)', () => {
  test('page, status ready on webgpu, adapter, model named, first predictions equal the CLI', async (t) => {
    const { page, problems } = await openTiny(t);
    assert.equal(await page.title(), 'albert-lens');
    assert.equal((await page.locator('header h1').innerText()).trim(), 'albert-lens');
    assert.match(await page.locator('p.intro').innerText(), /WebGPU/);
    const box = page.getByTestId('sentence');
    assert.equal(await box.inputValue(), 'The capital of France is [MASK].');
    const status = await readyStatus(page);
    assert.equal(status.backend, 'webgpu');
    assert.match(status.text, /26\.7K parameters/);
    // What is loaded is said plainly.
    assert.match(await page.getByTestId('model-name').innerText(), /tiny/);
    const adapter = (await page.getByTestId('adapter').innerText()).trim();
    assert.match(adapter, /^WebGPU adapter: \S/);
    const info = await page.evaluate(async () => {
      const a = await navigator.gpu.requestAdapter();
      return a ? { vendor: a.info.vendor, architecture: a.info.architecture } : null;
    });
    for (const field of [info.vendor, info.architecture].filter(Boolean)) {
      assert.ok(adapter.includes(field), `adapter line ${JSON.stringify(adapter)} lacks ${field}`);
    }
    assert.equal(await page.getByTestId('f16').getAttribute('data-f16'), 'false');
    assert.ok(await page.getByTestId('notice').isHidden(), 'no CPU notice on WebGPU');
    const preds = await waitPredictions(page, 1);
    const ref = cliFill(TINY, 'The capital of France is [MASK].', 8);
    assertSameTopK(preds, ref);
    t.diagnostic(adapter);
    // What the sentence's forward read back.
    const stats = await page.evaluate(() => window.albertLensStats());
    assert.equal(stats.lastForwardBytes, tinyPageBytes(ref.ids.length), 'bytes of the first forward');
    assert.deepEqual(problems, []);
  });

  test('typed sentences, several masks and a sentence pair match the CLI', async (t) => {
    const { page, problems } = await openTiny(t);
    await readyStatus(page);
    for (const text of [
      'Paris is the [MASK] of France.',
      'The [MASK] chased the [MASK] across the garden.',
      'I forgot my umbrella. [SEP] I got completely [MASK] on the way.',
    ]) {
      const preds = await enterSentence(page, text);
      assertSameTopK(preds, cliFill(TINY, text, 8));
    }
    // The pair shows token types 0 and 1.
    const types = await page.$$eval('[data-testid="token"]', (els) => els.map((e) => e.dataset.type));
    assert.ok(types.includes('0') && types.includes('1'), `token types ${types}`);
    const cli = cliFill(TINY, 'I forgot my umbrella. [SEP] I got completely [MASK] on the way.', 8);
    assert.deepEqual(types.map(Number), cli.token_type_ids);
    assert.ok(await page.getByTestId('pair').isVisible());
    assert.deepEqual(problems, []);
  });

  test('top-k selector, clicking a prediction puts it in the sentence', async (t) => {
    const { page } = await openTiny(t);
    await readyStatus(page);
    await waitPredictions(page, 1);
    await page.getByTestId('top-k').selectOption('10');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="prediction"]').length === 10);
    const text = 'The [MASK] chased the [MASK] across the garden.';
    const preds = await enterSentence(page, text);
    const rank = 2;
    const picked = preds[1].top_k[rank];
    await page.locator('[data-testid="mask"]').nth(1).getByTestId('prediction').nth(rank).click();
    const box = page.getByTestId('sentence');
    assert.equal(await box.inputValue(), applyPick(text, 1, picked.token));
    // One mask is left, and its predictions are for the new text.
    const after = await waitPredictions(page, 1);
    assertSameTopK(after, cliFill(TINY, await box.inputValue(), 13));
  });

  test('no stale results: predictions disappear while the text differs, then match the new text', async (t) => {
    const { page } = await openTiny(t);
    await readyStatus(page);
    await waitPredictions(page, 1);
    const box = page.getByTestId('sentence');
    await box.click();
    await box.press('End');
    // Every keystroke makes the shown result stale: none may remain visible for the old text.
    for (const ch of ' It is [MASK].') {
      await box.pressSequentially(ch);
      const shown = await page.$$eval('[data-testid="prediction"]', (els) => els.length);
      const tokens = await page.$$eval('[data-testid="token"]', (els) => els.length);
      assert.equal(shown, 0, `predictions still shown after typing "${ch}"`);
      assert.equal(tokens, 0, `tokens still shown after typing "${ch}"`);
    }
    const text = await box.inputValue();
    assert.equal(text, 'The capital of France is [MASK]. It is [MASK].');
    const preds = await waitPredictions(page, 2);
    assertSameTopK(preds, cliFill(TINY, text, 8));
  });

  test('[MASK] button and Ctrl+M insert at the cursor; examples; ?text= in and out', async (t) => {
    const { page } = await openTiny(t, { params: { text: 'A dog [MASK] here.' } });
    const box = page.getByTestId('sentence');
    assert.equal(await box.inputValue(), 'A dog [MASK] here.');
    await readyStatus(page);
    await waitPredictions(page, 1);
    // Cursor after "A dog" → button.
    await box.click();
    await box.evaluate((el) => el.setSelectionRange(5, 5));
    await page.getByTestId('insert-mask').click();
    assert.equal(await box.inputValue(), 'A dog [MASK] [MASK] here.');
    await waitPredictions(page, 2);
    // The cursor sits after the inserted mask; Ctrl+M inserts another one there.
    await box.press('Control+m');
    assert.equal(await box.inputValue(), 'A dog [MASK] [MASK] [MASK] here.');
    await waitPredictions(page, 3);
    // Examples replace the sentence, and the URL follows the text.
    await page.getByTestId('example').nth(1).click();
    assert.equal(await box.inputValue(), 'The [MASK] chased the [MASK] across the garden.');
    await waitPredictions(page, 2);
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('text'), 'The [MASK] chased the [MASK] across the garden.');
    assert.equal(url.searchParams.get('model'), s.modelUrl('tiny'));
  });

  test('keyboard: Tab reaches the controls and a prediction, Enter applies it; focus is visible', async (t) => {
    const { page } = await openTiny(t);
    await readyStatus(page);
    await waitPredictions(page, 1);
    const box = page.getByTestId('sentence');
    await box.focus();
    const seen = [];
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => document.activeElement?.dataset?.testid || document.activeElement?.tagName);
      seen.push(id);
      if (id === 'prediction') break;
    }
    assert.ok(seen.includes('insert-mask'), `tab order: ${seen}`);
    assert.equal(seen.at(-1), 'prediction', `tab order: ${seen}`);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'focused prediction has an outline');
    const token = await page.evaluate(() => document.activeElement.dataset.token);
    await page.keyboard.press('Enter');
    assert.equal(await box.inputValue(), applyPick('The capital of France is [MASK].', 0, token));
  });

  test('dark mode: follows the system, toggles, and is remembered', async (t) => {
    const { page } = await openTiny(t, { colorScheme: 'dark' });
    await settledStatus(page);
    const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const dark = await bg();
    assert.equal(dark, 'rgb(17, 19, 23)');
    const toggle = page.getByTestId('theme-toggle');
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    await toggle.click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
    assert.equal(await bg(), 'rgb(251, 251, 252)');
    await page.reload();
    await settledStatus(page);
    assert.equal(await bg(), 'rgb(251, 251, 252)', 'the choice survives a reload');
  });

  test('hiding the attention maps: forwards read none back (fused kernel); showing them runs the sentence again', async (t) => {
    const { page, problems } = await openTiny(t);
    await readyStatus(page);
    const text = 'The capital of France is [MASK].';
    const n = cliFill(TINY, text, 8).ids.length;
    const bytes = () => page.evaluate(() => window.albertLensStats().lastForwardBytes);
    await page.waitForSelector('[data-testid="head-view"][data-tokens]');
    assert.equal(await bytes(), tinyPageBytes(n));
    await page.getByTestId('attention-toggle').click();
    assert.equal(await page.getByTestId('attention-toggle').getAttribute('aria-pressed'), 'false');
    assert.equal(await page.getByTestId('head-view').count(), 0, 'the views are gone');
    const forwards = await page.evaluate(() => window.albertLensStats().forwards);
    await page.getByTestId('sentence').fill('The capital of Spain is [MASK].');
    await page.waitForFunction((f) => window.albertLensStats().forwards > f, forwards);
    const m = cliFill(TINY, 'The capital of Spain is [MASK].', 8);
    assertSameTopK(await waitPredictions(page, 1), m);
    const nn = m.ids.length;
    assert.equal(await bytes(), tinyPageBytes(nn, { maps: false }), 'no maps read back');
    assert.match(await page.getByTestId('readback').innerText(), /without attention maps/);
    await page.getByTestId('attention-toggle').click();
    await page.waitForSelector('[data-testid="head-view"][data-tokens]');
    assert.equal(await bytes(), tinyPageBytes(nn), 'maps again');
    assert.match(await page.getByTestId('readback').innerText(), /attention maps included/);
    assert.deepEqual(problems, []);
  });

  test('?bench=1 times forwards and publishes JSON', async (t) => {
    const { page } = await openTiny(t, { params: { bench: '1', n: '4,8,999', runs: '3', warmup: '1' } });
    await readyStatus(page);
    const bench = page.locator('[data-testid="bench"][data-state="done"]');
    await bench.waitFor({ timeout: 60_000 });
    const report = JSON.parse(await bench.textContent());
    assert.equal(report.backend, 'webgpu');
    assert.deepEqual(report.rows.map((r) => r.seq_len), [4, 8]);
    assert.deepEqual(report.skipped, [999]);
    for (const r of report.rows) {
      assert.equal(r.runs, 3);
      assert.equal(r.samples_ms.length, 3);
      assert.ok(r.p50_ms > 0 && r.p90_ms >= r.p50_ms && r.min_ms <= r.p50_ms, JSON.stringify(r));
    }
    assert.ok(report.gpu_pipeline_compile_ms > 0);
    assert.equal(report.parameters, 26696);
    assert.ok(report.rows.every((r) => r.profile == null), 'no profile unless asked');
    // Bytes read back per forward (issue 13 item 3): the benchmark reads one [MASK] row of
    // logits; the page's own request is tinyPageBytes.
    for (const r of report.rows) {
      const n = r.seq_len;
      assert.equal(r.readback_bytes, 4 * 1000, `n=${n}: one row of logits`);
      // Short inputs: every map whole is fewer bytes than the views' reductions (a thumbnail of
      // at most 64 tokens is the map), so the page asks for every map, as before.
      assert.equal(r.page_readback_bytes, tinyPageBytes(n), `n=${n}: the page's request`);
      assert.equal(r.page_all_maps_bytes, tinyPageBytes(n), `n=${n}: every map`);
    }
    const cells = page.getByTestId('bench-readback');
    assert.equal(await cells.count(), 2);
    assert.equal(await cells.first().getAttribute('data-page-bytes'), String(report.rows[0].page_readback_bytes));
  });

  test('?bench=1&profile=1 adds the GPU time of every stage, in the JSON and as a table', async (t) => {
    const { page } = await openTiny(t, { params: { bench: '1', n: '5', runs: '2', warmup: '0', profile: '1' } });
    const bench = page.locator('[data-testid="bench"][data-state="done"]');
    await bench.waitFor({ timeout: 60_000 });
    const report = JSON.parse(await bench.textContent());
    const profile = report.rows[0].profile;
    if (!profile) {
      // An adapter without timestamp queries: the reason, and no table.
      assert.match(report.profile_unavailable, /timestamp/);
      assert.equal(await page.getByTestId('bench-profile').count(), 0);
      return;
    }
    const calls = Object.fromEntries(profile.map((s) => [s.stage, s.calls]));
    // The tiny fixture's shared layer runs 3 times; the head once, on the [MASK] row.
    assert.equal(calls['attention.query_key_value'], 3);
    assert.equal(calls['attention (fused)'], 3);
    assert.equal(calls['predictions.decoder'], 1);
    assert.ok(profile.every((s) => Number.isFinite(s.ms) && s.ms >= 0), JSON.stringify(profile));
    const table = page.getByTestId('bench-profile');
    assert.equal(await table.count(), 1);
    const rows = await table.locator('tbody tr').allInnerTexts();
    assert.equal(rows.length, profile.length);
    assert.match(rows.find((r) => r.startsWith('predictions.decoder')), /linear_gemv_short_k\s+1\s+[\d.]+ ms\s+[\d.]+ %/);
  });
});

describe('CPU fallback', () => {
  // Headless Chromium on Linux without --enable-unsafe-webgpu exposes navigator.gpu, but
  // requestAdapter() resolves to null.
  test('no adapter: cpu backend with a notice, same predictions as the CLI', async (t) => {
    const { page, problems } = await openTiny(t, { webgpu: false });
    const status = await readyStatus(page);
    assert.equal(status.backend, 'cpu');
    const notice = await page.getByTestId('notice').innerText();
    assert.match(notice, /no adapter was granted|no WebGPU/);
    assert.match(notice, /slower/);
    for (const text of ['The capital of France is [MASK].', 'The [MASK] chased the [MASK] across the garden.']) {
      const preds = await enterSentence(page, text);
      assertSameTopK(preds, cliFill(TINY, text, 8), 1e-5);
    }
    assert.deepEqual(problems, []);
  });

  test('?backend=cpu skips WebGPU even when it is there', async (t) => {
    const { page } = await openTiny(t, { params: { backend: 'cpu' } });
    const status = await readyStatus(page);
    assert.equal(status.backend, 'cpu');
    assert.match(await page.getByTestId('notice').innerText(), /backend=cpu/);
    assertSameTopK(await waitPredictions(page, 1), cliFill(TINY, 'The capital of France is [MASK].', 8), 1e-5);
  });

  test('a browser without navigator.gpu falls back to cpu', async (t) => {
    const { page } = await openTiny(t, {
      initScript: () => {
        Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
      },
    });
    const status = await readyStatus(page);
    assert.equal(status.backend, 'cpu');
    assert.match(await page.getByTestId('notice').innerText(), /no WebGPU/);
    await waitPredictions(page, 1);
  });

  test('a failing WebGPU probe falls back to cpu and says why', async (t) => {
    const { page } = await openTiny(t, {
      initScript: () => {
        const gpu = navigator.gpu;
        if (gpu) gpu.requestAdapter = () => Promise.reject(new Error('adapter request refused by test'));
      },
    });
    const status = await readyStatus(page);
    assert.equal(status.backend, 'cpu');
    assert.match(await page.getByTestId('notice').innerText(), /adapter request refused by test/);
    await waitPredictions(page, 1);
  });

  test('WebGPU failing after the CPU bridge answered: the CPU path takes over, says why, same predictions as the CLI', async (t) => {
    const { page, problems } = await openTiny(t, {
      initScript: () => {
        // The probe's adapter is granted; the device that load asks of it is not.
        if (globalThis.GPUAdapter) GPUAdapter.prototype.requestDevice = () => Promise.reject(new Error('device refused by test'));
      },
    });
    const status = await readyStatus(page);
    assert.equal(status.backend, 'cpu');
    assert.match(await page.getByTestId('notice').innerText(), /WebGPU failed.*device refused by test/);
    const first = await page.evaluate(() => window.albertLensStats().firstPrediction);
    assert.equal(first.bridge, true, `the bridge answered first: ${JSON.stringify(first)}`);
    assertSameTopK(await waitPredictions(page, 1), cliFill(TINY, 'The capital of France is [MASK].', 8), 1e-5);
    assert.deepEqual(problems, []);
  });
});

describe('pay for what is shown (issue 13 item 3)', () => {
  for (const webgpu of [true, false]) {
    test(`${webgpu ? 'WebGPU' : 'CPU worker'}: at 100 tokens a forward reads back one map whole, the means and the thumbnails; the JSON export still holds every map; another layer runs again`, async (t) => {
      const { page, problems } = await launch(t, webgpu ? {} : { webgpu: false });
      const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
      const text = `${words} and the [MASK] is here.`;
      await page.goto(appUrl(s.app, { model: s.modelUrl('gen/long'), text }));
      assert.equal((await readyStatus(page)).backend, webgpu ? 'webgpu' : 'cpu');
      await waitPredictions(page, 1);
      const cli = cliJson(['fill', '--model', longModelDir(), '--text', text, '--attentions', '--top-k', '5']);
      const n = cli.ids.length;
      const stats = () => page.evaluate(() => window.albertLensStats());
      const one = tinyMapFloats(n, 1);
      assert.ok(one.views < one.all, `at n = ${n} the views' reductions must be fewer floats than every map`);
      assert.equal((await stats()).lastForwardBytes, tinyPageBytes(n, { maps: false }) + 4 * one.views, 'one map whole, means, thumbnails');
      assert.match(await page.getByTestId('readback').innerText(), /attention maps included/);
      // The model view paints the forward's thumbnails: every head of every map, pooled (a
      // canvas a map, one thumbnail a head).
      await page.waitForFunction((side) => {
        const c = [...document.querySelectorAll('[data-testid="model-view-row"]')];
        return c.length === 3 && c.every((e) => e.dataset.side === String(side));
      }, one.side);
      // The rollout rolls out the forward's means (its figure can be exported).
      await page.waitForSelector('[data-testid="rollout"] [data-testid="export-svg"]:not([disabled])');

      // The JSON export runs the sentence once more with every map: it equals the CLI's.
      const button = page.locator('[data-testid="heatmap"] [data-testid="export-json"]');
      const waiting = page.waitForEvent('download');
      await button.click();
      const dl = await waiting;
      assert.equal(await dl.failure(), null);
      const got = JSON.parse(readFileSync(await dl.path(), 'utf8'));
      assert.equal(got.attentions.length, 3);
      const flat = got.attentions.flat(3);
      const want = cli.attentions.flat(3);
      assert.equal(flat.length, want.length);
      const worst = flat.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
      assert.ok(worst <= 2e-4, `largest |page − CLI| attention ${worst}`);

      // Another layer in the head view: the shown forward lacks it, so the sentence runs again.
      const before = (await stats()).forwards;
      await page.getByTestId('head-view-layer').selectOption('2');
      await page.waitForFunction((b) => window.albertLensStats().forwards > b, before);
      await waitText(page, 'head-view-foot', /lines shown/);
      assert.equal((await stats()).lastForwardBytes, tinyPageBytes(n, { maps: false }) + 4 * one.views, 'map 2 whole instead of map 0');
      // A head of map 0 in the heatmap: two maps whole cost more than every map, so every map.
      const two = tinyMapFloats(n, 2);
      const before2 = (await stats()).forwards;
      await page.getByTestId('heatmap-head').selectOption('1');
      await page.waitForFunction((b) => window.albertLensStats().forwards > b, before2);
      await page.waitForFunction(() => !/Reading/.test(document.querySelector('[data-testid="heatmap-readout"]').textContent));
      assert.equal((await stats()).lastForwardBytes, tinyPageBytes(n, { maps: false }) + 4 * two.read, 'two maps whole, or every map');
      // Back to the mean: every map is shown already, no forward.
      const settled = (await stats()).forwards;
      await page.getByTestId('heatmap-head').selectOption('mean');
      await page.waitForTimeout(500);
      assert.equal((await stats()).forwards, settled, 'the mean needs no forward');
      assert.deepEqual(problems, []);
    });
  }
});
