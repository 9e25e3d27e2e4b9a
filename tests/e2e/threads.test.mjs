// The CPU path on more than one thread (issue 15 item 3): where the page is cross-origin
// isolated, the CPU worker gets helper workers that take chunks of every large product with it
// (albert::cpu::team over a SharedArrayBuffer). On an albert-base-shaped model (products of
// millions of multiply-adds, which the team takes) `?threads=2` runs with one helper, the
// products are handed to it, and the predictions are those of one thread to the last bit (and the
// CLI's); a helper that cannot load the model or dies leaves the worker alone at once; a page
// that cannot share memory runs on one thread.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSameTopK, baseShapedModelDir, cliFill, openOnCpu, startServers } from './helpers.mjs';

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

/** Opens the base-shaped model on the CPU with `threads` (and `params`), fills TEXT; returns predictions and the worker's stats. */
const run = (t, threads, opts = {}, params = {}) => openOnCpu(t, s.app, modelUrl, TEXT, { threads: String(threads), ...params }, opts);

describe('CPU threads (issue 15 item 3)', () => {
  test('?threads=2: the products are handed to a helper; the predictions are one thread\'s, bit for bit, and the CLI\'s', async (t) => {
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

  // The first helper is the page's second worker. Its model arrives as an ArrayBuffer: replaced
  // by bytes that are no call (`?fault=garble`), or the helper is ended as a crash would end it
  // (`?fault=crash`). The app ignores the parameter; only this script reads it.
  const faultyHelper = () => {
    const fault = new URLSearchParams(location.search).get('fault');
    const Base = window.Worker;
    let n = 0;
    window.Worker = class extends Base {
      constructor(...args) {
        super(...args);
        if (++n !== 2) return;
        const post = this.postMessage.bind(this);
        this.postMessage = (m, t) => {
          if (!(m instanceof ArrayBuffer)) return post(m, t);
          if (fault === 'garble') return post(new Uint8Array([1, 2, 3]).buffer);
          this.terminate();
          this.dispatchEvent(new ErrorEvent('error', { message: 'RuntimeError: unreachable (the test ended this helper)' }));
        };
      }
    };
  };
  for (const [how, fault] of [['cannot load the model', 'garble'], ['dies', 'crash']]) {
    test(`a helper that ${how}: the worker goes on alone at once, with one thread's predictions`, async (t) => {
      const t0 = Date.now();
      const r = await run(t, 2, { initScript: faultyHelper }, { fault });
      const seconds = (Date.now() - t0) / 1000;
      console.log(`# a helper that ${how}: ready and predicting in ${seconds.toFixed(1)} s, ${JSON.stringify(r.stats)}`);
      assert.deepEqual([r.stats.threads, r.stats.shared], [1, 0]);
      // The worker's wait for its helpers is 60 s: it must not have waited it out.
      assert.ok(seconds < 40, `${seconds} s`);
      assertSameTopK(r.preds, cliFill(baseShapedModelDir(), TEXT, 8));
      assert.deepEqual(r.problems.filter((p) => !/albert-worker helper 1/.test(p)), []);
    });
  }

  test('a page that cannot share memory with workers runs the CPU path on one thread', async (t) => {
    const alone = await run(t, 2, {
      initScript: () => Object.defineProperty(globalThis, 'crossOriginIsolated', { get: () => false, configurable: true }),
    });
    assert.deepEqual([alone.stats.threads, alone.stats.shared], [1, 0]);
    assert.deepEqual(alone.problems, []);
  });
});
