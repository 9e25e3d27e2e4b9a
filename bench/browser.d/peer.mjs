// transformers.js side of bench/browser: loads the ONNX export of the same weights our app
// loads, checks its logits against torch's (reference.json), then times forwards on the same
// token ids as our ?bench=1 (albert::bench::synthetic_ids). Everything is served locally by
// bench/browser.d/driver.mjs: no remote model, no browser cache.

/** albert::bench::synthetic_ids / bench.rs batch(): [CLS], ids spread over the vocabulary, [MASK] at n/2, [SEP] last. */
export function benchIds(n, vocab) {
  const ids = Array.from({ length: n }, (_, i) => 5 + ((i * 7919) % (vocab - 5)));
  ids[0] = 2;
  if (n > 1) ids[n - 1] = 3;
  ids[Math.floor(n / 2)] = 4;
  return ids;
}

/** Nearest rank at round((len-1)·p), as albert::bench::stats and bench/compare.py. */
export function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const pct = (p) => s[Math.floor((s.length - 1) * p + 0.5)];
  return { p50_ms: pct(0.5), p90_ms: pct(0.9), mean_ms: s.reduce((a, b) => a + b, 0) / s.length, min_ms: s[0] };
}

async function adapterInfo() {
  if (!navigator.gpu) return null;
  const a = await navigator.gpu.requestAdapter();
  if (!a) return null;
  const i = a.info || {};
  return { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description };
}

const sleep0 = () => new Promise((r) => setTimeout(r, 0));

/**
 * opts: { tjsUrl, ortUrl, modelsBase, modelId, device: 'webgpu'|'wasm', variants: ['row','full'],
 *         seq: [8,...], runs, warmup, threads, tol }
 * Returns { versions, adapter, cross_origin_isolated, threads, variants: [{ variant, file, load_ms, verify, rows }] }.
 */
export async function run(opts) {
  const T = await import(opts.tjsUrl);
  const { env, AutoModelForMaskedLM, Tensor } = T;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = opts.modelsBase;
  env.useBrowserCache = false;
  env.backends.onnx.wasm.wasmPaths = opts.ortUrl;
  env.backends.onnx.wasm.numThreads = opts.threads;
  const progress = (msg) => {
    document.getElementById('state').textContent = msg;
    console.log(`[peer ${opts.device}] ${msg}`);
  };

  const ref = await (await fetch(opts.referenceUrl)).json();
  const vocab = ref.config.vocab_size;
  const tensor = (ids) => new Tensor('int64', BigInt64Array.from(ids, (x) => BigInt(x)), [1, ids.length]);
  const inputs = (ids) => ({
    input_ids: tensor(ids),
    attention_mask: tensor(ids.map(() => 1)),
    token_type_ids: tensor(ids.map(() => 0)),
  });

  const report = {
    versions: { transformers_js: env.version, onnxruntime_web: env.backends.onnx.versions?.web ?? env.backends.onnx?.versions ?? null },
    adapter: opts.device === 'webgpu' ? await adapterInfo() : null,
    cross_origin_isolated: self.crossOriginIsolated,
    threads: opts.threads,
    variants: [],
  };
  // Informational: does transformers.js' tokenizer give the reference ids for the verify text?
  if (ref.cases.verify_text) {
    try {
      // (AutoTokenizer.from_pretrained probes files with a metadata request this static server
      // does not satisfy; the class and files are what it would load.)
      const get = async (f) => (await fetch(`${opts.modelsBase}${opts.modelId}/${f}`)).json();
      const tok = new T.AlbertTokenizer(await get('tokenizer.json'), await get('tokenizer_config.json'));
      const ids = Array.from(tok(ref.cases.verify_text.text).input_ids.data, Number);
      report.tokenizer_ids_equal = JSON.stringify(ids) === JSON.stringify(ref.cases.verify_text.ids);
      report.tokenizer_ids = ids;
    } catch (e) {
      report.tokenizer_error = String(e);
    }
  }

  for (const variant of opts.variants) {
    const file = variant === 'row' ? 'model_row' : 'model';
    progress(`${variant}: loading onnx/${file}.onnx`);
    let t = performance.now();
    const model = await AutoModelForMaskedLM.from_pretrained(opts.modelId, { device: opts.device, dtype: 'fp32', model_file_name: file });
    const entry = { variant, file: `onnx/${file}.onnx`, load_ms: performance.now() - t, verify: [], rows: [] };
    report.variants.push(entry);

    // Same weights: the [MASK] row's logits against torch's, before any timing.
    // (bench_n32 is checked by the export on onnxruntime; here the short cases keep SwiftShader quick.)
    for (const [name, c] of Object.entries(ref.cases).filter(([k]) => k !== 'bench_n32')) {
      t = performance.now();
      const out = await model(inputs(c.ids));
      const ms = performance.now() - t;
      const data = out.logits.data;
      const [, rows, v] = out.logits.dims;
      const off = (variant === 'row' ? 0 : c.mask_position) * v;
      let diff = 0;
      for (let j = 0; j < v; j++) diff = Math.max(diff, Math.abs(data[off + j] - c.logits[j]));
      entry.verify.push({ case: name, tokens: c.ids.length, logits_dims: out.logits.dims, rows, max_abs_diff: diff, ok: v === vocab && diff <= opts.tol, first_forward_ms: ms });
    }
    if (!entry.verify.every((x) => x.ok)) {
      entry.error = `logits differ from torch's by more than ${opts.tol}: ${JSON.stringify(entry.verify)}`;
      await model.dispose();
      return report;
    }

    for (const n of opts.seq) {
      if (n > ref.config.max_position_embeddings) continue;
      const feeds = inputs(benchIds(n, vocab));
      const samples = [];
      for (let i = 0; i < opts.warmup + opts.runs; i++) {
        await sleep0();
        const t0 = performance.now();
        const out = await model(feeds);
        // Logits are a CPU tensor (ORT read them back); touching them is part of the forward.
        const x = out.logits.data[out.logits.data.length - 1];
        const dt = performance.now() - t0;
        if (!Number.isFinite(x)) throw new Error(`n=${n}: non-finite logit`);
        if (i >= opts.warmup) samples.push(dt);
        progress(`${variant} n=${n}: ${i + 1}/${opts.warmup + opts.runs} (${dt.toFixed(0)} ms)`);
      }
      entry.rows.push({ seq_len: n, runs: samples.length, logits_shape: [1, variant === 'row' ? 1 : n, vocab], ...stats(samples), samples_ms: samples });
    }
    await model.dispose();
  }
  progress('done');
  return report;
}
