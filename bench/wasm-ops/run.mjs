// Drives the wasm-ops library (src/lib.rs) in Node: per-op times of one CPU-wasm forward and
// the matmul kernels' rates at its product shapes, both kernels in the same run and alternated
// round by round, since this project's VMs drift by tens of percent within a minute.
// Usage (through bench/wasm-ops/run): node --no-liftoff run.mjs <wasm> [--shape base|small] [--n 128] [--rounds 5]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { shape: { type: 'string', default: 'base' }, n: { type: 'string', default: '128' }, rounds: { type: 'string', default: '5' } },
});
const SHAPES = { base: { h: 768, heads: 12, ffn: 3072, layers: 12 }, small: { h: 384, heads: 6, ffn: 1536, layers: 6 } };
const shape = SHAPES[opts.shape];
if (!shape) throw new Error(`--shape base|small, not ${opts.shape}`);
const [n, rounds] = [Number(opts.n), Number(opts.rounds)];
const OPS = ['q, k, v', 'attention probs', 'attention context', 'dense', 'add + LayerNorm', 'FFN', 'gelu_new', 'FFN output', 'add + LayerNorm'];
const KERNELS = ['Gemm (matrixmultiply)', 'Panels'];

const module = await WebAssembly.compile(readFileSync(positionals[0]));
const imports = {};
for (const i of WebAssembly.Module.imports(module)) {
  imports[i.module] ??= {};
  // Only `now` is called; the rest are the engine's browser bindings, unreachable from here.
  imports[i.module][i.name] = i.name === 'now' ? () => performance.now() : () => { throw new Error(`${i.module}.${i.name} called`); };
}
const lib = (await WebAssembly.instantiate(module, imports)).exports;

const { h, heads, ffn, layers } = shape;
const perOp = KERNELS.map(() => OPS.map(() => []));
for (let k = 0; k < 2; k++) lib.layer(n, h, heads, ffn, k, 2);
for (let r = 0; r < rounds; r++) {
  for (const k of r % 2 ? [1, 0] : [0, 1]) {
    lib.layer(n, h, heads, ffn, k, 3);
    const t = new Float64Array(lib.memory.buffer, lib.times(), OPS.length);
    OPS.forEach((_, i) => perOp[k][i].push(t[i] * layers));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toPrecision(2));
console.log(`${opts.shape} shape (H ${h}, ${heads} heads, FFN ${ffn}, ${layers} layers), n = ${n}: ms per forward's encoder, median of ${rounds} rounds`);
console.log(`| op | ${KERNELS.join(' | ')} |\n|---|---:|---:|`);
const totals = [0, 1].map((k) => perOp[k].reduce((s, xs) => s + median(xs), 0));
OPS.forEach((op, i) => console.log(`| ${op} | ${[0, 1].map((k) => `${fmt(median(perOp[k][i]))} (${((100 * median(perOp[k][i])) / totals[k]).toFixed(1)} %)`).join(' | ')} |`));
console.log(`| **all** | ${totals.map(fmt).join(' | ')} |`);

console.log(`\nProducts [n, in] · [in, out]: G multiply-adds/s, best of 5 a round, median of ${rounds} rounds`);
console.log(`| n × in × out | ${KERNELS.join(' | ')} |\n|---|---:|---:|`);
for (const [m, kk, nn] of [[n, h, h], [n, h, ffn], [n, ffn, h]]) {
  const rates = [[], []];
  for (let k = 0; k < 2; k++) lib.product(m, kk, nn, k, 2);
  for (let r = 0; r < rounds; r++) for (const k of r % 2 ? [1, 0] : [0, 1]) rates[k].push(lib.product(m, kk, nn, k, 5));
  console.log(`| ${m} × ${kk} × ${nn} | ${rates.map((x) => median(x).toFixed(1)).join(' | ')} |`);
}
