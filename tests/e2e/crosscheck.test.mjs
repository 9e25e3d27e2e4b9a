// Browser test of the CPU–GPU cross-check: on WebGPU (SwiftShader) the GPU kernels agree with
// the CPU path at every layer within the engine's tolerance; the engine's perturbation hook
// (`?perturb_gpu=`, as a broken kernel) turns the last layer and the logits red; on the CPU
// backend the button explains why there is nothing to check. `?kernels=gpu` runs real GPUs'
// kernels (albert::gpu::Tuning::Gpu) on SwiftShader, so Chromium's WGSL compiler builds and runs
// what visitors with a GPU get, and their predictions are held to the CLI's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  appUrl,
  assertSameTopK,
  cliFill,
  dist,
  enterSentence,
  hasDefaultModel,
  launch,
  readyStatus,
  screenshot,
  startServers,
  waitPredictions,
  waitText,
} from './helpers.mjs';

const TEXT = 'the cat sat on the [MASK] and the dog ate a [MASK].';
const LAYERS = 4; // fixtures/groups: 4 applications of 2 groups with 2 inner layers each
const CROSS = { values: 1.1e-3, probs: 1.1e-4 }; // tolerance::CROSS (GPU + STRICT)
let s;

before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

/** The result's rows: layer (or null for the logits), each cell's text and verdict. */
async function rows(page) {
  return page.$$eval('[data-testid="crosscheck-result"] tbody tr', (trs) =>
    trs.map((tr) => ({
      layer: tr.dataset.layer ?? null,
      cells: [...tr.querySelectorAll('td')].map((td) => ({ text: td.textContent, pass: td.classList.contains('cc-pass'), fail: td.classList.contains('cc-fail') })),
    })),
  );
}

describe('cross-check', () => {
  test('passes on WebGPU, from the keyboard, and copies a report with the adapter', async (t) => {
    const { context, page, problems } = await launch(t);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.app.url });
    await page.goto(appUrl(s.app, { model: s.modelUrl('groups'), text: TEXT }));
    const st = await readyStatus(page);
    assert.equal(st.backend, 'webgpu', JSON.stringify(st));
    await waitPredictions(page, 2);
    await page.getByTestId('crosscheck').focus();
    await page.keyboard.press('Enter');
    const result = page.locator('[data-testid="crosscheck-result"]');
    await result.waitFor({ timeout: 60_000 });
    const r = await rows(page);
    assert.equal(r.length, LAYERS + 2, 'h_0, layers 1..4 and the logits');
    assert.deepEqual(r.map((x) => x.layer), ['0', '1', '2', '3', '4', null]);
    assert.equal(await result.getAttribute('data-state'), 'pass', JSON.stringify(r));
    assert.ok(r.every((x) => x.cells.every((c) => c.text === '—' || (c.pass && !c.fail))), JSON.stringify(r));
    assert.match(await result.innerText(), /Pass: CPU and GPU agree .* at the embeddings and all 4 layers/);
    assert.equal(await page.getByTestId('crosscheck-perturbed').count(), 0);
    const d = Number(await result.getAttribute('data-max-logit-diff'));
    assert.ok(d >= 0 && d <= CROSS.values, `max |Δ| logits ${d}`);
    console.log(`cross-check on SwiftShader: max |Δ| [MASK] logits ${d.toExponential(2)}; rows ${r.map((x) => x.cells.map((c) => c.text).join('/')).join(', ')}`);
    await page.getByTestId('crosscheck-copy').click();
    await waitText(page, 'crosscheck-card', 'Copied.');
    const report = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(report, /^albert-lens CPU–GPU cross-check: PASS\nadapter: .+\nmodel: .+\ninput: the cat sat/);
    assert.equal(report.trim(), (await page.getByTestId('crosscheck-report').textContent()).trim());
    await screenshot(page.getByTestId('crosscheck-card'), 'crosscheck.png');
    // A forward is not a new model: the verdict (whose report names its sentence) stays when the
    // sentence changes. (Every forward used to notify the model's readers, and the card cleared
    // its verdict, which made the lost-device test's cross-check flaky.)
    await enterSentence(page, 'a [MASK] sat on the mat.');
    assert.equal(await page.locator('[data-testid="crosscheck-result"]').getAttribute('data-state'), 'pass', 'the verdict is still shown');
    assert.deepEqual(problems, []);
  });

  test('a perturbed GPU output fails at the last layer and the logits only', async (t) => {
    const { page, problems } = await launch(t);
    await page.goto(appUrl(s.app, { model: s.modelUrl('groups'), text: TEXT, perturb_gpu: '0.01' }));
    await readyStatus(page);
    await waitPredictions(page, 2);
    assert.match(await page.getByTestId('crosscheck-perturbed').innerText(), /perturb_gpu=0.01/, 'the hook is announced, never silent');
    await page.getByTestId('crosscheck').click();
    const result = page.locator('[data-testid="crosscheck-result"]');
    await result.waitFor({ timeout: 60_000 });
    assert.equal(await result.getAttribute('data-state'), 'fail');
    const r = await rows(page);
    const failing = r.filter((x) => x.cells.some((c) => c.fail)).map((x) => x.layer);
    assert.deepEqual(failing, [String(LAYERS), null], JSON.stringify(r));
    const d = Number(await result.getAttribute('data-max-logit-diff'));
    assert.ok(d > CROSS.values, `perturbed logits differ by ${d}`);
    assert.match(await result.innerText(), /Fail: 3 of 10 numbers are outside/);
    assert.deepEqual(problems, []);
  });

  // The embedded model (H 384, six heads of 64) on a sentence of more than 32 tokens runs every
  // kernel real GPUs get: linear_gemv_wide (the [MASK] row's head), the 64×64 tiles split over K
  // with linear_split_sum (the encoder's linears past 32 rows) and attention_flash (heads ≤ 64).
  // Chromium compiles them with its own WGSL compiler (stricter than naga: it refused
  // attention_flash's first version, whose barriers sat in a loop it judged non-uniform). Only the
  // predictions are checked: on SwiftShader these kernels are slow (one forward of this
  // sentence: seconds; the cross-check's forwards with every map: over a minute), and the maps'
  // kernels are the emulators' anyway.
  const LONG =
    'In the morning the old man walked along the river to the market, where he bought bread, apples and a small [MASK] for his daughter, who was waiting for him at home with her two children and their dog.';
  test("real GPUs' kernels (?kernels=gpu) compile in Chromium and give the CLI's predictions", { skip: !hasDefaultModel && 'SKIPPED: this build has no embedded default model' }, async (t) => {
    const { page, problems } = await launch(t);
    const t0 = Date.now();
    await page.goto(appUrl(s.app, { text: LONG, kernels: 'gpu' }));
    const st = await readyStatus(page);
    assert.equal(st.backend, 'webgpu', JSON.stringify(st));
    assert.match(await page.locator('.device').innerText(), /Gpu kernels/, 'the forced kernel set is shown');
    const preds = await waitPredictions(page, 1);
    const ref = cliFill(join(dist, 'model'), LONG, 8);
    assert.ok(ref.ids.length > 32, `${ref.ids.length} tokens: past the wide gemv's 32 rows`);
    assertSameTopK(preds, ref);
    console.log(`real GPUs' kernels on SwiftShader, ${ref.ids.length} tokens: the CLI's top 8 (${((Date.now() - t0) / 1000).toFixed(1)} s to the prediction)`);
    assert.deepEqual(problems, []);
  });

  test('on the CPU backend the button says why it cannot run', async (t) => {
    const { page, problems } = await launch(t, { webgpu: false });
    await page.goto(appUrl(s.app, { model: s.modelUrl('groups'), text: TEXT, backend: 'cpu' }));
    await readyStatus(page);
    assert.equal(await page.getByTestId('crosscheck').isDisabled(), true);
    assert.match(await page.getByTestId('crosscheck-off').innerText(), /runs on the CPU here/);
    assert.deepEqual(problems, []);
  });
});
