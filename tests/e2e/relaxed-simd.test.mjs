// The CPU worker's two builds (issue 15 item 3): where the browser validates relaxed SIMD the
// page starts `albert-worker-relaxed`, whose products use `f32x4.relaxed_madd` (fused where the
// CPU has FMA); elsewhere, and with `?simd=128`, the plain simd128 build. Each must give the
// CLI's predictions; a team of either build must give its one thread's bit for bit (every
// thread runs the same module); and a browser without relaxed SIMD must get the plain build, not
// a worker that fails to compile.
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

const TEXT = 'She opened the [MASK] and read the letter that had come from her brother in the city.';

/** The base-shaped model on the CPU (one thread unless `params` say): predictions for TEXT and the worker's stats. */
const run = (t, params = {}, opts = {}) => openOnCpu(t, s.app, modelUrl, TEXT, { threads: '1', ...params }, opts);

/** The largest difference of probability between two runs' predictions of the same ids. */
function maxProbDiff(a, b) {
  let max = 0;
  a.forEach((m, i) => m.top_k.forEach((p) => {
    const q = b[i].top_k.find((x) => x.id === p.id);
    if (q) max = Math.max(max, Math.abs(p.prob - q.prob));
  }));
  return max;
}

describe('the CPU worker with relaxed SIMD (issue 15 item 3)', () => {
  test('Chromium runs the relaxed build, ?simd=128 the plain one: both give the CLI\'s predictions; two threads of each give its one thread\'s bit for bit', async (t) => {
    const relaxed = await run(t);
    const team = await run(t, { threads: '2' });
    const plain = await run(t, { simd: '128' });
    const plainTeam = await run(t, { simd: '128', threads: '2' });
    console.log(`# relaxed SIMD: ${JSON.stringify(relaxed.stats)}, ${JSON.stringify(team.stats)}, plain ${JSON.stringify(plain.stats)}, ${JSON.stringify(plainTeam.stats)}; largest probability difference relaxed vs plain ${maxProbDiff(relaxed.preds, plain.preds).toExponential(2)}`);
    assert.equal(relaxed.stats.kernel, 'relaxed-simd', 'this Chromium validates relaxed SIMD');
    assert.equal(team.stats.kernel, 'relaxed-simd');
    assert.equal(plain.stats.kernel, 'simd128');
    assert.equal(plainTeam.stats.kernel, 'simd128');
    for (const r of [team, plainTeam]) {
      assert.equal(r.stats.threads, 2);
      assert.ok(r.stats.shared > 0, `products shared: ${r.stats.shared}`);
    }
    assert.deepEqual(team.preds, relaxed.preds, 'relaxed: the same ids and probabilities, exactly');
    assert.deepEqual(plainTeam.preds, plain.preds, 'plain: the same ids and probabilities, exactly');
    const cli = cliFill(baseShapedModelDir(), TEXT, 8);
    assertSameTopK(relaxed.preds, cli);
    assertSameTopK(plain.preds, cli);
    assert.deepEqual([...relaxed.problems, ...team.problems, ...plain.problems, ...plainTeam.problems], []);
  });

  test('a browser without relaxed SIMD gets the plain build', async (t) => {
    // WebAssembly.validate refuses any module with f32x4.relaxed_madd (0xfd 0x85 0x02), as a
    // browser without relaxed SIMD does.
    const noRelaxed = () => {
      const validate = WebAssembly.validate;
      WebAssembly.validate = (bytes) => {
        const u = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
        for (let i = 0; i + 2 < u.length; i++) if (u[i] === 0xfd && u[i + 1] === 0x85 && u[i + 2] === 0x02) return false;
        return validate.call(WebAssembly, bytes);
      };
    };
    const r = await run(t, {}, { initScript: noRelaxed });
    assert.equal(r.stats.kernel, 'simd128');
    assertSameTopK(r.preds, cliFill(baseShapedModelDir(), TEXT, 8));
    assert.deepEqual(r.problems, []);
  });
});
