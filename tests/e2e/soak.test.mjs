// Long sessions in the browser (issue 13, item 5): many forwards in a row on the tiny fixture
// (typing three texts of different lengths in turn, as a class would), then the page's memory:
// the JS heap after a forced garbage collection (Chrome DevTools Protocol), the wasm memory
// (`window.albertLensStats()`, which never shrinks, so any growth is kept) and the GPU buffers
// the engine has created (none after warm-up: plans are cached per shape). ALBERT_SOAK_N sets
// the number of forwards (default 100; 1000 for the full soak).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appUrl, launch, readyStatus, startServers, waitPredictions } from './helpers.mjs';

const N = Number(process.env.ALBERT_SOAK_N || 100);
const WARMUP = 15;
const TEXTS = [
  'The capital of France is [MASK].',
  'The [MASK] chased the [MASK] across the garden, and the children laughed.',
  'She poured a cup of [MASK] and sat down to read the newspaper before the long day began.',
];
let s;

before(async () => {
  s = await startServers();
});
after(async () => {
  await s?.close();
});

async function measure(page, cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = await cdp.send('Runtime.getHeapUsage');
  const st = await page.evaluate(() => window.albertLensStats());
  return { heapMB: heap.usedSize / 2 ** 20, wasmMB: st.wasmMemoryBytes / 2 ** 20, workerMB: st.workerWasmMemoryBytes / 2 ** 20, buffers: st.gpuBuffersCreated };
}

/** N forwards, typing the texts in turn; the memory after WARMUP of them and at the end. */
async function forwards(page, cdp) {
  let base;
  for (let i = 1; i <= N; i++) {
    // Each forward a different text from the last (three lengths: three cached GPU plans; the
    // engine keeps four, so more lengths would rebuild plans, which is not a leak but would
    // count as created buffers here).
    const text = TEXTS[i % 3];
    await page.getByTestId('sentence').fill(text);
    await waitPredictions(page, (text.match(/\[MASK\]/g) || []).length);
    if (i === WARMUP) base = await measure(page, cdp);
  }
  return { base, end: await measure(page, cdp) };
}

describe('soak', () => {
  for (const backend of ['webgpu', 'cpu']) {
    test(`${N} forwards on ${backend}: JS heap, wasm memory and GPU buffers stay flat`, async (t) => {
      const { page, problems } = await launch(t, { webgpu: backend === 'webgpu' });
      const cdp = await page.context().newCDPSession(page);
      await page.goto(appUrl(s.app, { model: s.modelUrl('tiny'), ...(backend === 'cpu' ? { backend: 'cpu' } : {}) }));
      await readyStatus(page);
      const { base, end } = await forwards(page, cdp);
      console.log(`soak ${backend}: ${N} forwards: JS heap ${base.heapMB.toFixed(1)} → ${end.heapMB.toFixed(1)} MB, wasm ${base.wasmMB.toFixed(1)} → ${end.wasmMB.toFixed(1)} MB, GPU buffers created ${base.buffers} → ${end.buffers}`);
      if (backend === 'cpu') {
        // The forward runs in the CPU worker: its memory must stay flat too.
        console.log(`soak cpu: the CPU worker's wasm memory ${base.workerMB.toFixed(1)} → ${end.workerMB.toFixed(1)} MB`);
        assert.ok(base.workerMB > 0, 'the CPU worker reported its memory');
        assert.ok(end.workerMB - base.workerMB <= 1, `the CPU worker's wasm memory grew ${(end.workerMB - base.workerMB).toFixed(1)} MB`);
      }
      assert.equal(end.buffers, base.buffers, 'no GPU buffer created after warm-up');
      assert.ok(end.heapMB - base.heapMB <= 3, `JS heap grew ${(end.heapMB - base.heapMB).toFixed(1)} MB`);
      // The page's wasm memory never shrinks, so any growth after warm-up stays. It grew about
      // 25 KB a forward until 2026-12-03: the attention views' rebuilt lists left their
      // effects in the subscriber sets of long-lived signals (src/ui/relay.rs).
      assert.ok(end.wasmMB - base.wasmMB <= 1, `wasm memory grew ${(end.wasmMB - base.wasmMB).toFixed(1)} MB over ${N - WARMUP} forwards`);
      assert.deepEqual(problems, []);
    });
  }
  // The same session with the attention maps hidden (the card's button): the rest of the page
  // (predictions, lens, drift, neuron view, the engine) must not grow at all.
  test(`${N} forwards on webgpu with the attention maps hidden: wasm memory stays flat`, async (t) => {
    const { page, problems } = await launch(t);
    const cdp = await page.context().newCDPSession(page);
    await page.goto(appUrl(s.app, { model: s.modelUrl('tiny') }));
    await readyStatus(page);
    await page.getByTestId('attention-toggle').click();
    const { base, end } = await forwards(page, cdp);
    console.log(`soak webgpu, maps hidden: ${N} forwards: wasm ${base.wasmMB.toFixed(1)} → ${end.wasmMB.toFixed(1)} MB, JS heap ${base.heapMB.toFixed(1)} → ${end.heapMB.toFixed(1)} MB`);
    assert.ok(end.wasmMB - base.wasmMB <= 1, `wasm memory grew ${(end.wasmMB - base.wasmMB).toFixed(1)} MB with the maps hidden`);
    assert.equal(end.buffers, base.buffers, 'no GPU buffer created after warm-up');
    assert.deepEqual(problems, []);
  });
});
