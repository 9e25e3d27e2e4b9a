// bench/browser's tables: a saved run (bench/results/*-browser-*.json) as the Markdown README block
// (latencies, ratios, where the WebGPU time goes), the ratios' median and range over rounds, and
// writing the block between bench/README.md's markers. driver.mjs runs the benchmark and calls these.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const README = join(root, 'bench/README.md');
export const RESULTS = join(root, 'bench/results');
const START = '<!-- browser-table:start -->';
const END = '<!-- browser-table:end -->';

const fmt = (x) => (x == null ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** Rows of the table: label → { n: row } (rows with p50/p90). */
export function tableRows(res) {
  const rows = [];
  const ours = (col, label) => {
    const r = res.columns[col];
    if (r?.report) rows.push({ key: col, label, cells: Object.fromEntries(r.report.rows.map((x) => [x.seq_len, x])) });
  };
  const tjs = (col, label) => {
    for (const v of res.columns[col]?.variants ?? []) {
      if (v.error) continue;
      const what = v.variant === 'row' ? '[MASK] row (model_row.onnx)' : 'all n×V logits (model.onnx)';
      rows.push({ key: `${col}:${v.variant}`, label: `${label}, ${what}`, cells: Object.fromEntries(v.rows.map((x) => [x.seq_len, x])) });
    }
  };
  ours('ours-webgpu', 'ours WebGPU, [MASK] row');
  const oursThreads = res.columns['ours-cpu']?.report?.rows?.[0]?.threads ?? 1;
  ours('ours-cpu', `ours CPU-wasm (${oursThreads} thread${oursThreads === 1 ? '' : 's'}${kernelOf(res, 'ours-cpu')}), [MASK] row`);
  ours('ours-cpu-simd128', `ours CPU-wasm (${oursThreads} thread${oursThreads === 1 ? '' : 's'}${kernelOf(res, 'ours-cpu-simd128')}), [MASK] row`);
  tjs('tjs-webgpu', 'transformers.js WebGPU');
  tjs('tjs-wasm', `transformers.js wasm (${res.settings.tjs_threads} thread${res.settings.tjs_threads === 1 ? '' : 's'})`);
  return rows;
}

/** ", relaxed-simd" or ", simd128": the worker's build, from the page's adapter line (runs before
 *  the two builds say nothing). */
function kernelOf(res, col) {
  const m = /wasm (relaxed-simd|simd128)/.exec(res.columns[col]?.report?.rows?.[0]?.adapter ?? '');
  return m ? `, ${m[1]}` : '';
}

export function ratioRows(res) {
  const by = Object.fromEntries(tableRows(res).map((r) => [r.key, r]));
  const pairs = [
    ['ours-webgpu', 'tjs-webgpu:row', 'ours WebGPU ÷ transformers.js WebGPU (same work: [MASK] row)'],
    ['ours-webgpu', 'tjs-webgpu:full', 'ours WebGPU ÷ transformers.js WebGPU (theirs: all n×V logits)'],
    ['ours-webgpu', 'tjs-wasm:row', 'ours WebGPU ÷ transformers.js wasm ([MASK] row)'],
    ['ours-webgpu', 'tjs-wasm:full', 'ours WebGPU ÷ transformers.js wasm (theirs: all n×V logits)'],
    ['ours-cpu', 'tjs-wasm:row', 'ours CPU-wasm ÷ transformers.js wasm (same work: [MASK] row)'],
    ['ours-cpu', 'tjs-wasm:full', 'ours CPU-wasm ÷ transformers.js wasm (theirs: all n×V logits)'],
    ['ours-cpu-simd128', 'tjs-wasm:row', 'ours CPU-wasm simd128 ÷ transformers.js wasm (same work: [MASK] row)'],
    ['ours-cpu', 'ours-cpu-simd128', 'ours CPU-wasm default ÷ ours simd128 (what relaxed SIMD buys)'],
  ];
  const out = [];
  for (const [a, b, label] of pairs) {
    if (!by[a] || !by[b]) continue;
    const cells = {};
    for (const n of res.settings.seq) {
      const x = by[a].cells[n]?.p50_ms;
      const y = by[b].cells[n]?.p50_ms;
      cells[n] = x != null && y ? x / y : null;
    }
    out.push({ label, cells });
  }
  return out;
}

/** Each ratio of `ratioRows` over several runs: per n, the median of the runs' ratios, the
 *  lowest and the highest, and how many runs had it. */
export function ratioSummary(runs) {
  const seq = [...new Set(runs.flatMap((r) => r.settings.seq))].sort((a, b) => a - b);
  const by = new Map();
  for (const res of runs) {
    for (const r of ratioRows(res)) {
      if (!by.has(r.label)) by.set(r.label, Object.fromEntries(seq.map((n) => [n, []])));
      for (const n of seq) if (r.cells[n] != null) by.get(r.label)[n].push(r.cells[n]);
    }
  }
  const median = (v) => {
    const s = [...v].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const rows = [...by].map(([label, cells]) => ({
    label,
    cells: Object.fromEntries(seq.map((n) => [n, cells[n].length ? { median: median(cells[n]), min: Math.min(...cells[n]), max: Math.max(...cells[n]), runs: cells[n].length } : null])),
  }));
  return { seq, rows };
}

/** `ratioSummary` as a markdown table, with each run's p50s under it. */
export function renderSummary(runs, files) {
  const { seq, rows } = ratioSummary(runs);
  const L = [];
  L.push(`Ratios of p50 over ${runs.length} runs (below 1 = ours faster): the median, then the lowest–highest (each run's column order is listed below).`);
  L.push('');
  L.push(`| ratio | ${seq.map((n) => `n=${n}`).join(' | ')} |`);
  L.push(`|---|${seq.map(() => '---:').join('|')}|`);
  for (const r of rows) L.push(`| ${r.label} | ${seq.map((n) => (r.cells[n] ? `${r.cells[n].median.toFixed(2)} (${r.cells[n].min.toFixed(2)}–${r.cells[n].max.toFixed(2)})` : '—')).join(' | ')} |`);
  L.push('');
  L.push('Each run (p50 in ms, ours / theirs for the same-work pair):');
  L.push('');
  runs.forEach((res, i) => {
    const t = Object.fromEntries(tableRows(res).map((r) => [r.key, r.cells]));
    const pair = (a, b) => seq.map((n) => `n=${n} ${fmt(t[a]?.[n]?.p50_ms)} / ${fmt(t[b]?.[n]?.p50_ms)}`).join(', ');
    const same = t['ours-cpu'] && t['tjs-wasm:row'] ? pair('ours-cpu', 'tjs-wasm:row') : pair('ours-webgpu', 'tjs-webgpu:row');
    const plain = t['ours-cpu-simd128'] ? `; ours simd128 ${seq.map((n) => `n=${n} ${fmt(t['ours-cpu-simd128'][n]?.p50_ms)}`).join(', ')}` : '';
    L.push(`- ${files[i] ?? `run ${i + 1}`} (${(res.settings.column_order ?? res.settings.columns).join(' → ')}, ${res.date.slice(11, 16)} UTC): ${same}${plain}`);
  });
  return L.join('\n');
}

/** ours-webgpu's per-stage profile as rows: { stage, cells: { n: { ms, share, kernel } } }, stages in program order. */
export function profileRows(res) {
  const rows = [];
  for (const row of res.columns['ours-webgpu']?.report?.rows ?? []) {
    const total = (row.profile ?? []).reduce((a, s) => a + s.ms, 0);
    for (const s of row.profile ?? []) {
      let r = rows.find((x) => x.stage === s.stage);
      if (!r) rows.push((r = { stage: s.stage, cells: {} }));
      const c = r.cells[row.seq_len];
      if (c) {
        c.ms += s.ms;
        c.kernel += `, ${s.kernel}`;
      } else r.cells[row.seq_len] = { ms: s.ms, kernel: s.kernel };
    }
    for (const r of rows) if (r.cells[row.seq_len]) r.cells[row.seq_len].share = total > 0 ? (100 * r.cells[row.seq_len].ms) / total : 0;
  }
  return rows;
}

export function render(res, resultsFile) {
  const seq = res.settings.seq;
  const c = res.model.config;
  const ow = res.columns['ours-webgpu']?.report;
  const oc = res.columns['ours-cpu']?.report;
  const tw = res.columns['tjs-webgpu'];
  const tw_ad = tw?.adapter ? [tw.adapter.vendor, tw.adapter.architecture, tw.adapter.device, tw.adapter.description].filter(Boolean).join(' / ') : null;
  const parity = [];
  for (const ch of res.model.export.parity.checks) parity.push(`${ch.what} (${ch.case}) ${Number(ch.max_abs_diff).toExponential(1)}`);
  const pageChecks = [];
  for (const col of ['tjs-webgpu', 'tjs-wasm']) {
    for (const v of res.columns[col]?.variants ?? []) pageChecks.push(`${col} ${v.variant} ${Math.max(...v.verify.map((x) => x.max_abs_diff)).toExponential(1)}`);
  }
  const oursChecks = ['ours-webgpu', 'ours-cpu', 'ours-cpu-simd128'].filter((k) => res.columns[k]?.verify?.ok).map((k) => `${k} max |Δ log p| ${res.columns[k].verify.max_abs_diff_logprob.toExponential(1)}`);
  const d = new Date(res.date);
  const L = [];
  L.push(`### ${res.model.name}: ${c.num_hidden_layers} layers, H ${c.hidden_size}`);
  L.push('');
  L.push(`Generated by \`bench/browser\` on ${d.toISOString().slice(0, 16).replace('T', ' ')} UTC — results file \`${resultsFile}\`.`);
  L.push('');
  L.push(`- **Command:** \`${res.command}\``);
  L.push(`- **Machine:** ${res.machine.cpu}, ${res.machine.cores_usable} cores usable, ${res.machine.memory_gib} GiB RAM, ${res.machine.os}; host \`${res.machine.host}\`; load average (1 min) before / after: ${res.load_avg_1m.before.toFixed(2)} / ${res.load_avg_1m.after.toFixed(2)}`);
  L.push(`- **Browser:** Chromium ${res.chromium.version} (\`${res.chromium.path}\`), headless, \`--enable-unsafe-webgpu\`, one browser, a fresh context per column, columns run one after the other`);
  L.push(`- **WebGPU adapter:** ours: \`${ow?.adapter || 'n/a'}\`; transformers.js: \`${tw_ad || 'n/a'}\``);
  L.push(`- **Peer:** @huggingface/transformers ${res.versions.transformers_js} (onnxruntime-web ${res.versions.onnxruntime_web}), fp32, \`env.useBrowserCache = false\`, local files only; wasm with ${res.settings.tjs_threads} thread${res.settings.tjs_threads === 1 ? '' : 's'}${res.columns['tjs-wasm']?.cross_origin_isolated ? ' (page cross-origin isolated)' : ''}`);
  L.push(`- **Code:** \`${res.code}\` at run time${res.app ? `; the app: \`dist/\` built ${res.app.dist_built.slice(0, 16).replace('T', ' ')} UTC (\`${res.app.wasm}\`, ${(res.app.wasm_bytes / 2 ** 20).toFixed(1)} MiB)` : ''}`);
  L.push(`- **Model:** ${res.model.name}: ${c.num_hidden_layers} layers (one shared block), H ${c.hidden_size}, ${c.num_attention_heads} heads, FFN ${c.intermediate_size}, E ${c.embedding_size}, V ${c.vocab_size}; random weights (seed 0, bench/compare.py's \`ensure_model\`), f32 safetensors (ours) and the same weights as ONNX opset ${res.model.export.opset} (transformers.js)`);
  L.push(`- **Workload:** batch 1, the ids of \`albert::bench::synthetic_ids\` ([CLS], …, [MASK] at n/2, [SEP]), attention mask 1, token types 0; ${res.settings.warmup} warm-up + ${res.settings.runs} timed forwards per cell on WebGPU, ${res.settings.cpu_warmup ?? res.settings.warmup} + ${res.settings.cpu_runs ?? res.settings.runs} on the CPU columns (ours CPU-wasm, transformers.js wasm); wall clock (\`performance.now()\`) per forward including reading the logits back to JS`);
  L.push(`- **What each side computes:** ours runs the encoder and the MLM head on the [MASK] row only (what the app asks for; its \`?bench=1\` has no all-rows mode) and reads back 1×V logits. transformers.js runs \`model_row.onnx\` (the same work: encoder, gather the [MASK] row, head; 1×V logits) and \`model.onnx\` (AlbertForMaskedLM.forward as its fill-mask pipeline runs it: head on all n rows, n×V logits read back)`);
  L.push(`- **Same weights:** export (onnxruntime vs torch, max |Δlogit|): ${parity.join('; ')}; in the page, transformers.js vs torch on the [MASK] row: ${pageChecks.join('; ') || 'n/a'}; ours in the page (top-5 for "${res.columns['ours-webgpu']?.verify?.text ?? res.columns['ours-cpu']?.verify?.text ?? '—'}") vs torch: ${oursChecks.join('; ') || 'n/a'} (tolerance ${res.settings.tol})`);
  if (ow || oc) L.push(`- **Ours, setup (not in the latencies):** ${[ow && `WebGPU: pipelines compiled in ${fmt(ow.gpu_pipeline_compile_ms)} ms, weights parsed and uploaded in ${fmt(ow.model_init_ms)} ms`, oc && `CPU-wasm: weights prepared in ${fmt(oc.model_init_ms)} ms`].filter(Boolean).join('; ')}; transformers.js model load (session creation): ${['tjs-webgpu', 'tjs-wasm'].flatMap((k) => (res.columns[k]?.variants ?? []).map((v) => `${k} ${v.variant} ${fmt(v.load_ms)} ms`)).join(', ')}`);
  L.push('');
  L.push('p50 latency in ms (p90 in parentheses), per forward:');
  L.push('');
  L.push(`| configuration | ${seq.map((n) => `n=${n}`).join(' | ')} |`);
  L.push(`|---|${seq.map(() => '---:').join('|')}|`);
  for (const r of tableRows(res)) L.push(`| ${r.label} | ${seq.map((n) => (r.cells[n] ? `${fmt(r.cells[n].p50_ms)} (${fmt(r.cells[n].p90_ms)})` : '—')).join(' | ')} |`);
  L.push('');
  L.push('Ratios of p50 (below 1 = ours faster):');
  L.push('');
  L.push(`| ratio | ${seq.map((n) => `n=${n}`).join(' | ')} |`);
  L.push(`|---|${seq.map(() => '---:').join('|')}|`);
  for (const r of ratioRows(res)) L.push(`| ${r.label} | ${seq.map((n) => (r.cells[n] == null ? '—' : r.cells[n].toFixed(2))).join(' | ')} |`);
  L.push('');
  const prof = profileRows(res);
  if (prof.length) {
    L.push(`Where ours' WebGPU time goes: GPU time per dispatch from timestamp queries (each dispatch in a compute pass of its own), the median of each dispatch over ${res.settings.runs} profiled forwards, summed by stage over the layers; ms (share of the profiled forward) and the kernel that ran:`);
    L.push('');
    L.push(`| stage | ${seq.map((n) => `n=${n}`).join(' | ')} |`);
    L.push(`|---|${seq.map(() => '---:').join('|')}|`);
    for (const r of prof) L.push(`| ${r.stage} | ${seq.map((n) => (r.cells[n] ? `${fmt(r.cells[n].ms)} (${r.cells[n].share.toFixed(0)} %) \`${r.cells[n].kernel}\`` : '—')).join(' | ')} |`);
    L.push(`| **sum** | ${seq.map((n) => { const t = prof.reduce((a, r) => a + (r.cells[n]?.ms ?? 0), 0); return t ? `**${fmt(t)}**` : '—'; }).join(' | ')} |`);
    L.push('');
  } else if (ow?.profile_unavailable) {
    L.push(`- Profile: ${ow.profile_unavailable}.`);
  }
  for (const e of res.errors) L.push(`- error: ${e.split('\n')[0]}`);
  L.push(`- Harness wall time: ${Object.entries(res.harness_s).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ')}.`);
  return L.join('\n');
}

export function writeReadme(table, readme = README) {
  const text = readFileSync(readme, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${readme}: no ${START} … ${END} markers`);
  writeFileSync(readme, `${text.slice(0, a + START.length)}\n${table}\n${text.slice(b)}`);
}

/** The newest saved run of each model (…-browser-….json, not -FAILED), smaller models first. */
export function latestRuns(dir = RESULTS) {
  const newest = new Map();
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    if (!/-browser-.*\.json$/.test(f) || /FAILED/.test(f)) continue;
    const res = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    if (res.kind !== 'browser' || res.errors?.length) continue;
    const old = newest.get(res.model.name);
    if (!old || old.res.date < res.date) newest.set(res.model.name, { res, file: join(dir, f) });
  }
  const size = ({ res }) => res.model.config.num_hidden_layers * res.model.config.hidden_size;
  return [...newest.values()].sort((a, b) => size(a) - size(b));
}

/** The README block: one table per run (by default the newest run of each model). */
export function renderBlock(runs) {
  const head = 'The newest `bench/browser` run of each model shape (`bench/browser --render FILE,…` picks others).';
  return [head, ...runs.map(({ res, file }) => render(res, relative(join(root, 'bench'), file)))].join('\n\n');
}
