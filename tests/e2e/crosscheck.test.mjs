// Browser test of the CPU–GPU cross-check: on WebGPU (SwiftShader) the GPU kernels agree with
// the CPU path at every layer within the engine's tolerance; the engine's perturbation hook
// (`?perturb_gpu=`, as a broken kernel) turns the last layer and the logits red; on the CPU
// backend the button explains why there is nothing to check.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appUrl, launch, readyStatus, screenshot, startServers, waitPredictions, waitText } from './helpers.mjs';

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

  test('on the CPU backend the button says why it cannot run', async (t) => {
    const { page, problems } = await launch(t, { webgpu: false });
    await page.goto(appUrl(s.app, { model: s.modelUrl('groups'), text: TEXT, backend: 'cpu' }));
    await readyStatus(page);
    assert.equal(await page.getByTestId('crosscheck').isDisabled(), true);
    assert.match(await page.getByTestId('crosscheck-off').innerText(), /runs on the CPU here/);
    assert.deepEqual(problems, []);
  });
});
