#!/usr/bin/env node
// bench/browser's driver: one headless Chromium (WebGPU through SwiftShader unless the machine has
// a GPU Chromium can use), four columns on the same weights and the same token ids:
//
//   ours-webgpu   our app (dist/) with ?bench=1, WebGPU
//   ours-cpu      our app with ?bench=1&backend=cpu&threads=N (the engine's CPU path compiled to wasm,
//                 in a Web Worker with N − 1 helper workers: --threads, default 1; the worker
//                 built with relaxed SIMD where this Chromium has it, src/cpu_module.rs)
//   ours-cpu-simd128  the same with ?simd=128: the worker built for plain WebAssembly SIMD (not
//                 in the default columns; name it to measure what relaxed SIMD buys)
//   tjs-webgpu    transformers.js (@huggingface/transformers, ONNX Runtime Web) device 'webgpu'
//   tjs-wasm      transformers.js device 'wasm' (--threads, as ours)
//
// Each column runs in a fresh browser context (no shared caches) of the same browser, one after
// the other. Before timing: transformers.js' logits for the [MASK] row must match torch's
// (reference.json, written by export_onnx.py) within --tol, and after ours' timing our page's
// top-5 for the verify text must match torch's (log-probabilities within 2·tol), else exit 1.
//
//   node bench/browser.d/driver.mjs --model-dir DIR [--onnx-dir DIR] [--seq 8,32,128] [--runs 3]
//        [--warmup 1] [--cpu-runs 10] [--cpu-warmup 5] [--columns ours-webgpu,ours-cpu,tjs-webgpu,tjs-wasm] [--variants row,full]
//        [--threads 1]
//        [--out FILE | --no-save] [--no-readme] [--json] [--shape NAME] [--no-profile]
//
// ours-webgpu also profiles (the app's ?profile=1: after the timed forwards, --runs more with a
// timestamp around every dispatch, where the adapter has timestamp queries) and the README gets
// the table of where its GPU time goes, by stage; --no-profile skips that.
//   node bench/browser.d/driver.mjs --render latest|RESULTS.json,...   # only regenerate the README tables
//
// --rounds R runs the whole comparison R times, saving each run, with the columns in the opposite
// order every other round, and then prints each ratio's median over the rounds and its range. On a
// shared 2-core VM one run's ratio moved by ±20 % from one minute to the next (bench/README.md):
// a claim that one side is faster needs the range, not one run.
//   node bench/browser.d/driver.mjs --ratios RESULTS.json,...          # only that summary, of saved runs
//
// The README block holds one table per model shape: the newest saved run of each (--render latest),
// so a base-shape run does not erase the small-shape table.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { runOurs, runPeer } from './columns.mjs';
import { README, RESULTS, latestRuns, render, renderBlock, renderSummary, writeReadme } from './table.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const COLUMNS = ['ours-webgpu', 'ours-cpu', 'tjs-webgpu', 'tjs-wasm'];
/** Columns --columns may also name. */
const EXTRA_COLUMNS = ['ours-cpu-simd128'];
/** Our CPU columns: the page's URL parameters beyond backend=cpu. */
const OURS_CPU = { 'ours-cpu': {}, 'ours-cpu-simd128': { simd: '128' } };

const log = (msg) => console.error(`[browser ${new Date().toISOString().slice(11, 19)}] ${msg}`);

function usage(code) {
  console.error(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
  process.exit(code);
}

export function parse(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      'model-dir': { type: 'string' },
      'onnx-dir': { type: 'string' },
      reference: { type: 'string' },
      seq: { type: 'string', default: '8,32,128' },
      runs: { type: 'string', default: '3' },
      'cpu-runs': { type: 'string' },
      'cpu-warmup': { type: 'string' },
      warmup: { type: 'string', default: '1' },
      columns: { type: 'string', default: COLUMNS.join(',') },
      variants: { type: 'string', default: 'row,full' },
      threads: { type: 'string' },
      // The old name of --threads, from when only transformers.js' wasm could thread.
      'tjs-threads': { type: 'string' },
      tol: { type: 'string', default: '1e-3' },
      shape: { type: 'string', default: '' },
      out: { type: 'string' },
      'no-save': { type: 'boolean', default: false },
      'no-readme': { type: 'boolean', default: false },
      'no-profile': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      render: { type: 'string' },
      rounds: { type: 'string', default: '1' },
      ratios: { type: 'string' },
      'column-timeout-s': { type: 'string', default: '3600' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) usage(0);
  const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
  const opts = {
    modelDir: values['model-dir'] && resolve(values['model-dir']),
    seq: list(values.seq).map(Number),
    runs: Number(values.runs),
    // The CPU columns (ours-cpu, tjs-wasm) take under a second a forward: more runs, less noise.
    cpuRuns: values['cpu-runs'] != null ? Number(values['cpu-runs']) : Math.max(Number(values.runs), 10),
    // …and more warm-up: V8 tiers wasm up in the background, and with 1 warm-up the first timed
    // forwards of ORT's 27 MB wasm were 2-4× slower than the later ones on this 2-core machine.
    cpuWarmup: values['cpu-warmup'] != null ? Number(values['cpu-warmup']) : Math.max(Number(values.warmup), 5),
    warmup: Number(values.warmup),
    columns: list(values.columns),
    variants: list(values.variants),
    tjsThreads: Number(values.threads ?? values['tjs-threads'] ?? '1'),
    tol: Number(values.tol),
    shape: values.shape,
    out: values.out,
    save: !values['no-save'],
    readme: !values['no-readme'],
    profile: !values['no-profile'],
    json: values.json,
    render: values.render,
    rounds: Number(values.rounds),
    ratios: values.ratios,
    columnTimeoutMs: Number(values['column-timeout-s']) * 1000,
  };
  if (opts.render || opts.ratios) return opts;
  if (!opts.modelDir) throw new Error('--model-dir is required (or --render)');
  opts.onnxDir = resolve(values['onnx-dir'] || join(opts.modelDir, 'onnx'));
  opts.reference = resolve(values.reference || join(dirname(opts.onnxDir), 'reference.json'));
  for (const c of opts.columns) if (![...COLUMNS, ...EXTRA_COLUMNS].includes(c)) throw new Error(`unknown column ${c} (${[...COLUMNS, ...EXTRA_COLUMNS].join(', ')})`);
  for (const v of opts.variants) if (!['row', 'full'].includes(v)) throw new Error(`unknown variant ${v} (row, full)`);
  if (!opts.seq.length || opts.seq.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--seq: positive integers, e.g. 8,32,128');
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) throw new Error('--rounds: a positive integer');
  if (opts.rounds > 1 && opts.out) throw new Error('--rounds saves one results file a round: drop --out');
  if (!(opts.runs >= 1) || !(opts.cpuRuns >= 1) || !(opts.warmup >= 0) || !(opts.cpuWarmup >= 0)) throw new Error('--runs ≥ 1, --cpu-runs ≥ 1, --warmup ≥ 0, --cpu-warmup ≥ 0');
  return opts;
}

/** Nearest rank at round((len-1)·p), as albert::bench::stats. */
function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const pct = (p) => s[Math.floor((s.length - 1) * p + 0.5)];
  return { p50_ms: pct(0.5), p90_ms: pct(0.9), mean_ms: s.reduce((a, b) => a + b, 0) / s.length, min_ms: s[0] };
}

function machine() {
  const cpus = os.cpus();
  let cores = cpus.length;
  try {
    cores = os.availableParallelism();
  } catch {}
  return {
    host: os.hostname().split('.')[0],
    cpu: cpus[0]?.model ?? os.arch(),
    cores_usable: cores,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

function gitDescribe() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim();
    return dirty ? `${head} + uncommitted changes` : head;
  } catch {
    return 'unknown';
  }
}

/** Which app build ran: dist/'s build time and wasm file (the build may predate the checkout). */
function appBuild(dist) {
  try {
    const wasm = readdirSync(dist).find((f) => f.endsWith('_bg.wasm'));
    return { dist_built: statSync(join(dist, 'index.html')).mtime.toISOString(), wasm, wasm_bytes: wasm ? statSync(join(dist, wasm)).size : null };
  } catch {
    return null;
  }
}

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

export async function runBench(opts, columns = opts.columns) {
  const { chromium } = await import('playwright-core');
  const { startServer } = await import(join(root, 'scripts/static-server.mjs'));
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  const dist = join(root, 'dist');
  const needDist = opts.columns.some((c) => c.startsWith('ours'));
  for (const [p, why] of [
    ...(needDist ? [[join(dist, 'index.html'), 'build the app: trunk build --release']] : []),
    [executablePath, 'scripts/setup installs chromium'],
    [join(root, 'node_modules/@huggingface/transformers/dist/transformers.js'), 'npm ci --ignore-scripts (scripts/setup)'],
    [join(opts.onnxDir, 'model.onnx'), 'export it: bench/browser.d/export_onnx.py'],
    [opts.reference, 'export_onnx.py writes it'],
    [join(opts.modelDir, 'model.safetensors'), 'a Hugging Face-layout model folder'],
  ]) {
    if (!existsSync(p)) throw new Error(`missing ${p}: ${why}`);
  }
  const ref = JSON.parse(readFileSync(opts.reference, 'utf8'));
  if (!ref.parity?.ok) throw new Error(`${opts.reference}: the export's parity check did not pass`);
  const started = new Date();
  const tStart = Date.now();
  const load0 = os.loadavg()[0];

  const app = await startServer({
    root: needDist ? dist : here,
    port: 0,
    mounts: {
      '/peer/': here,
      '/tjs/': join(root, 'node_modules/@huggingface/transformers/dist'),
      '/ort/': join(root, 'node_modules/onnxruntime-web/dist'),
    },
  });
  const models = await startServer({ root: opts.modelDir, port: 0, cors: true, mounts: { '/m/onnx/': opts.onnxDir, '/r/': dirname(opts.reference), '/m/': opts.modelDir } });
  const servers = { app, models };
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'],
  });
  const res = {
    kind: 'browser',
    date: started.toISOString(),
    command: process.env.BENCH_COMMAND || `node ${relative(root, fileURLToPath(import.meta.url))} ${process.argv.slice(2).join(' ')}`,
    machine: machine(),
    load_avg_1m: { before: load0 },
    code: gitDescribe(),
    app: needDist ? appBuild(dist) : null,
    chromium: { path: executablePath, version: browser.version() },
    versions: { transformers_js: pkgVersion('@huggingface/transformers'), onnxruntime_web: pkgVersion('onnxruntime-web'), playwright_core: pkgVersion('playwright-core') },
    model: { name: opts.shape || basename(opts.modelDir), dir: relative(root, opts.modelDir), onnx_dir: relative(root, opts.onnxDir), config: ref.config, export: { opset: ref.opset, versions: ref.versions, parity: ref.parity } },
    settings: { column_order: columns, seq: opts.seq, runs: opts.runs, cpu_runs: opts.cpuRuns, warmup: opts.warmup, cpu_warmup: opts.cpuWarmup, columns: opts.columns, variants: opts.variants, tjs_threads: opts.tjsThreads, tol: opts.tol },
    columns: {},
    errors: [],
    harness_s: {},
  };
  try {
    for (const col of columns) {
      const t = Date.now();
      const cpuCol = col in OURS_CPU || col === 'tjs-wasm';
      log(`${col}: n=${opts.seq.join(',')}, ${cpuCol ? opts.cpuWarmup : opts.warmup} warm-up + ${cpuCol ? opts.cpuRuns : opts.runs} runs${col.startsWith('tjs') ? `, variants ${opts.variants.join(',')}` : ''}`);
      try {
        if (col.startsWith('ours')) {
          const r = await runOurs(browser, servers, opts, ref, col in OURS_CPU ? 'cpu' : 'webgpu', OURS_CPU[col]);
          res.columns[col] = r;
          if (r.verify.ok === false) res.errors.push(`${col}: the page's predictions differ from torch's: ${JSON.stringify(r.verify)}`);
          for (const row of r.report.rows) log(`${col} n=${row.seq_len}: p50 ${row.p50_ms.toFixed(1)} ms (p90 ${row.p90_ms.toFixed(1)})`);
          log(`${col}: same weights (page top-5 vs torch): ${r.verify.ok === null ? r.verify.reason : r.verify.ok ? `ok, max |Δ log p| ${r.verify.max_abs_diff_logprob.toExponential(1)}` : 'FAILED'}`);
        } else {
          const r = await runPeer(browser, servers, opts, col === 'tjs-webgpu' ? 'webgpu' : 'wasm');
          res.columns[col] = r;
          for (const v of r.variants) {
            if (v.error) res.errors.push(`${col} ${v.variant}: ${v.error}`);
            const worst = Math.max(...v.verify.map((x) => x.max_abs_diff));
            log(`${col} ${v.variant}: loaded in ${v.load_ms.toFixed(0)} ms; same weights (vs torch): ${v.error ? 'FAILED' : 'ok'}, max |Δlogit| ${worst.toExponential(1)}`);
            for (const row of v.rows) log(`${col} ${v.variant} n=${row.seq_len}: p50 ${row.p50_ms.toFixed(1)} ms (p90 ${row.p90_ms.toFixed(1)})`);
          }
        }
      } catch (e) {
        res.errors.push(`${col}: ${e.stack || e}`);
        log(`${col}: FAILED: ${e.message || e}`);
      }
      res.harness_s[col] = (Date.now() - t) / 1000;
    }
  } finally {
    await browser.close();
    await app.close();
    await models.close();
  }
  res.load_avg_1m.after = os.loadavg()[0];
  res.harness_s.total = (Date.now() - tStart) / 1000;
  return res;
}

function resultsPath(host) {
  mkdirSync(RESULTS, { recursive: true });
  const day = new Date().toISOString().slice(0, 10);
  for (let k = 1; ; k++) {
    const p = join(RESULTS, `${day}-browser-${host}${k > 1 ? `-${k}` : ''}.json`);
    if (!existsSync(p)) return p;
  }
}

async function main() {
  let opts;
  try {
    opts = parse(process.argv.slice(2));
  } catch (e) {
    console.error(`bench/browser: ${e.message}`);
    process.exit(2);
  }
  // Saved runs named on the command line: FILE,FILE,…
  const readRuns = (list) => list.split(',').map((f) => ({ res: JSON.parse(readFileSync(f, 'utf8')), file: resolve(f) }));
  if (opts.ratios) {
    const runs = readRuns(opts.ratios);
    console.log(renderSummary(runs.map((r) => r.res), runs.map((r) => relative(join(root, 'bench'), r.file))));
    return;
  }
  if (opts.render) {
    const runs = opts.render === 'latest' ? latestRuns() : readRuns(opts.render);
    writeReadme(renderBlock(runs));
    log(`regenerated the tables in ${relative(root, README)} from ${runs.map((r) => relative(root, r.file)).join(', ')}`);
    return;
  }
  const done = [];
  let failed = false;
  let file = null;
  for (let round = 0; round < opts.rounds; round++) {
    const columns = round % 2 ? [...opts.columns].reverse() : opts.columns;
    if (opts.rounds > 1) log(`round ${round + 1} of ${opts.rounds}: ${columns.join(' → ')}`);
    const res = await runBench(opts, columns);
    failed ||= res.errors.length > 0;
    file = null;
    if (opts.save) {
      file = opts.out ? resolve(opts.out) : resultsPath(res.machine.host);
      if (res.errors.length && !opts.out) file = file.replace(/\.json$/, '-FAILED.json');
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(res, null, 1)}\n`);
      log(`results: ${relative(root, file)}`);
    }
    // As the README and the summary name it (relative to bench/).
    const shown = file ? relative(join(root, 'bench'), file) : null;
    if (opts.json) process.stdout.write(`${JSON.stringify(res, null, 1)}\n`);
    else console.log(render(res, shown ?? '(not saved)'));
    for (const e of res.errors) log(`ERROR ${e.split('\n')[0]}`);
    if (!res.errors.length) done.push({ res, file: shown });
  }
  if (opts.rounds > 1 && !opts.json && done.length) {
    console.log('');
    console.log(renderSummary(done.map((d) => d.res), done.map((d) => d.file)));
  }
  if (failed) {
    log('FAILED: see the errors above (README not touched)');
    process.exit(1);
  }
  if (opts.readme && file) {
    writeReadme(renderBlock(latestRuns()));
    log(`table written to ${relative(root, README)}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(`bench/browser: ${e.stack || e}`);
    process.exit(1);
  });
}
