// The CPU path on more than one thread (issue 15 item 3): where the page is cross-origin
// isolated, the CPU worker gets helper workers that compute shares of every large product
// (albert::cpu::team over a SharedArrayBuffer). On an albert-base-shaped model (products of
// millions of multiply-adds, which the team takes) `?threads=2` runs with one helper, the
// helper computes shares, and the predictions are those of one thread to the last bit (and the
// CLI's); a page that cannot share memory runs on one thread.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appUrl, assertSameTopK, baseShapedModelDir, cliFill, enterSentence, launch, readyStatus, startServers } from './helpers.mjs';

let s;
let modelUrl;
before(async () => {
  s = await startServers();
  baseShapedModelDir();
  modelUrl = `${s.models.url}gen/base-shaped/`;
});
after(async () => {
  await s?.close();
});

const TEXT = 'The old man walked slowly along the [MASK] and looked at the sea, where the boats came home in the evening light.';

/** Opens the base-shaped model on the CPU with `threads`, fills TEXT; returns predictions and the worker's stats. */
async function run(t, threads, opts = {}) {
  const { page, problems } = await launch(t, { webgpu: false, ...opts });
  await page.goto(appUrl(s.app, { model: modelUrl, backend: 'cpu', threads: String(threads) }));
  const status = await readyStatus(page, 180_000);
  assert.equal(status.backend, 'cpu');
  const preds = await enterSentence(page, TEXT);
  const stats = await page.evaluate(() => {
    const st = window.albertLensStats();
    return { threads: st.workerThreads, shared: st.workerSharedProducts, isolated: globalThis.crossOriginIsolated };
  });
  return { preds, stats, problems };
}

describe('CPU threads (issue 15 item 3)', () => {
  test('?threads=2: a helper computes shares of the products; the predictions are one thread\'s, bit for bit, and the CLI\'s', async (t) => {
    const one = await run(t, 1);
    const two = await run(t, 2);
    console.log(`# CPU threads: ${JSON.stringify(one.stats)} vs ${JSON.stringify(two.stats)}`);
    assert.equal(two.stats.isolated, true, 'the test server makes the page cross-origin isolated');
    assert.deepEqual([one.stats.threads, one.stats.shared], [1, 0], 'one thread: no helper, nothing shared');
    assert.equal(two.stats.threads, 2);
    // 12 layers × 6 products a forward, and the rest: at least one forward's worth.
    assert.ok(two.stats.shared >= 72, `products shared: ${two.stats.shared}`);
    assert.deepEqual(two.preds, one.preds, 'the same ids and probabilities, exactly');
    assertSameTopK(two.preds, cliFill(baseShapedModelDir(), TEXT, 8));
    assert.deepEqual([...one.problems, ...two.problems], []);
  });

  test('a page that cannot share memory with workers runs the CPU path on one thread', async (t) => {
    const alone = await run(t, 2, {
      initScript: () => Object.defineProperty(globalThis, 'crossOriginIsolated', { get: () => false, configurable: true }),
    });
    assert.deepEqual([alone.stats.threads, alone.stats.shared], [1, 0]);
    assert.deepEqual(alone.problems, []);
  });
});
