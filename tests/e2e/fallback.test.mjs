// Browser tests of the CPU fallback: the page answers on its CPU path (a worker running the
// engine's wasm) when WebGPU is absent, refused, asked away (?backend=cpu) or fails after the
// first answer, says why, and predicts as the `albert` CLI does.
//
//   node --test tests/e2e/fallback.test.mjs      (scripts/test builds dist/ first)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSameTopK, cliFill, enterSentence, readyStatus, startServers, waitPredictions } from './helpers.mjs';
import { openTiny, TINY } from './tiny.mjs';

let s;

before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

describe('CPU fallback', () => {
  // Headless Chromium on Linux without --enable-unsafe-webgpu exposes navigator.gpu, but
  // requestAdapter() resolves to null.
  test('no adapter: cpu backend with a notice, same predictions as the CLI', async (t) => {
    const { page, problems } = await openTiny(t, s, { webgpu: false });
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
    const { page } = await openTiny(t, s, { params: { backend: 'cpu' } });
    const status = await readyStatus(page);
    assert.equal(status.backend, 'cpu');
    assert.match(await page.getByTestId('notice').innerText(), /backend=cpu/);
    assertSameTopK(await waitPredictions(page, 1), cliFill(TINY, 'The capital of France is [MASK].', 8), 1e-5);
  });

  test('a browser without navigator.gpu falls back to cpu', async (t) => {
    const { page } = await openTiny(t, s, {
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
    const { page } = await openTiny(t, s, {
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
    const { page, problems } = await openTiny(t, s, {
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
