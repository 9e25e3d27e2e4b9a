// Browser tests of the fill-mask page on WebGPU: predictions against the `albert` CLI, editing,
// keyboard, URL parameters, theme, ?bench=1 (the CPU fallback: fallback.test.mjs; what a forward
// reads back: readback.test.mjs; the layout: layout.test.mjs).
//
//   node --test tests/e2e/          (scripts/test builds dist/ first)
//   CHROMIUM_PATH=/path/to/chrome node --test tests/e2e/
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyPick,
  assertSameTopK,
  cliFill,
  enterSentence,
  readyStatus,
  settledStatus,
  startServers,
  waitPredictions,
} from './helpers.mjs';
import { openTiny, TINY, tinyPageBytes } from './tiny.mjs';

let s;

before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

describe('WebGPU (SwiftShader)', () => {
  test('page, status ready on webgpu, adapter, model named, first predictions equal the CLI', async (t) => {
    const { page, problems } = await openTiny(t, s);
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
    const { page, problems } = await openTiny(t, s);
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
    const { page } = await openTiny(t, s);
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
    const { page } = await openTiny(t, s);
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
    const { page } = await openTiny(t, s, { params: { text: 'A dog [MASK] here.' } });
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
    const { page } = await openTiny(t, s);
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
    const { page } = await openTiny(t, s, { colorScheme: 'dark' });
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

  test('?bench=1 times forwards and publishes JSON', async (t) => {
    const { page } = await openTiny(t, s, { params: { bench: '1', n: '4,8,999', runs: '3', warmup: '1' } });
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
    const { page } = await openTiny(t, s, { params: { bench: '1', n: '5', runs: '2', warmup: '0', profile: '1' } });
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
