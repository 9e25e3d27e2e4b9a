//! `albert bench`: latency of one forward pass (batch 1, one [MASK] row of logits, as the app
//! asks) on the GPU and CPU paths, for real shapes with random weights or a given model.
//! GPU times are wall clock including the readback; pipeline compilation and weight upload are
//! timed apart so they do not pollute the per-forward numbers. `--profile` adds the GPU time of
//! every dispatch, summed by stage and kernel: where a forward's time goes.

use albert::gpu::{by_stage, median_per_dispatch, DispatchTime, Gpu, StageTime};
use albert::bench::{stats, time_forwards};
use albert::{cpu, gpu, AlbertWeights, Backend, Batch, Config, DType, Request};
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Serialize)]
pub struct Row {
    pub device: String,
    pub adapter: String,
    pub seq_len: usize,
    pub runs: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub mean_ms: f64,
    pub min_ms: f64,
    /// Work of one forward in GFLOP (multiply-add = 2; see `flops`).
    pub gflop: f64,
    /// Effective GFLOP/s at the p50 latency.
    pub gflops: f64,
    /// Every timed forward (after warm-up), in run order, so callers can judge the noise.
    pub samples_ms: Vec<f64>,
    /// p50 of the GPU-side time from timestamp queries (first dispatch to last), when the
    /// adapter has them; `p50_ms` is wall time including submission and readback.
    pub gpu_p50_ms: Option<f64>,
    /// Compute dispatches per forward on the GPU path (all in one queue submission).
    pub dispatches: Option<usize>,
    /// `--profile`, GPU: each dispatch's median time over the profiled forwards, summed by stage
    /// and kernel (`albert::gpu::by_stage`), in program order.
    pub profile: Option<Vec<StageTime>>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub model: String,
    pub dtype: DType,
    pub parameters: usize,
    pub gpu_pipeline_compile_ms: Option<f64>,
    pub gpu_weight_upload_ms: Option<f64>,
    /// Whether every forward also returned all attention maps.
    pub attentions: bool,
    /// Layer applications per forward when not num_hidden_layers (`--depth`).
    pub depth: Option<usize>,
    /// Whether every forward also computed the logit lens / the drift.
    pub lens: bool,
    pub drift: bool,
    pub rows: Vec<Row>,
    /// Why `--profile` gave no per-dispatch times (no timestamp queries; the CPU path).
    pub profile_unavailable: Option<String>,
}

/// albert-base-v2's config (hub values), for random-weight benchmarks.
pub const BASE_V2: &str = r#"{"model_type": "albert", "vocab_size": 30000, "embedding_size": 128, "hidden_size": 768,
 "num_hidden_layers": 12, "num_hidden_groups": 1, "num_attention_heads": 12, "intermediate_size": 3072,
 "inner_group_num": 1, "hidden_act": "gelu_new", "max_position_embeddings": 512, "type_vocab_size": 2,
 "layer_norm_eps": 1e-12}"#;

/// FLOPs of one forward with `rows` logits rows (multiply-add = 2).
pub fn flops(c: &Config, n: usize, rows: usize) -> f64 {
    let (n, e, h, i, v) = (n as f64, c.embedding_size as f64, c.hidden_size as f64, c.intermediate_size as f64, c.vocab_size as f64);
    let per_layer = 2.0 * n * (4.0 * h * h + 2.0 * h * i) + 2.0 * 2.0 * n * n * h;
    let layers = (c.num_hidden_layers * c.inner_group_num) as f64;
    2.0 * n * e * h + layers * per_layer + rows as f64 * 2.0 * (h * e + e * v)
}

fn batch(c: &Config, n: usize) -> Batch {
    Batch::single(albert::bench::synthetic_ids(c.vocab_size, n), vec![0; n])
}

/// A bad command-line value (`--seq`, `--device`, `--dtype`): exit code 2, like clap's own
/// usage errors, and reported before any benchmark runs.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

pub struct Options {
    pub seq: Vec<usize>,
    pub devices: Vec<String>,
    pub runs: usize,
    pub warmup: usize,
    /// Read back the attention maps too (the app's workload).
    pub attentions: bool,
    /// Time every GPU dispatch too (`runs` profiled forwards a length).
    pub profile: bool,
    /// "Inside ALBERT" extras on every forward: depth, logit lens, drift.
    pub depth: Option<usize>,
    pub lens: bool,
    pub drift: bool,
}

pub fn run(model_name: &str, cfg: &Config, w: &AlbertWeights, opts: &Options, log: bool) -> anyhow::Result<Report> {
    let mut report = Report {
        model: model_name.to_string(),
        dtype: w.dtype,
        parameters: w.parameter_count(),
        gpu_pipeline_compile_ms: None,
        gpu_weight_upload_ms: None,
        attentions: opts.attentions,
        depth: opts.depth,
        lens: opts.lens,
        drift: opts.drift,
        rows: vec![],
        profile_unavailable: None,
    };
    for n in &opts.seq {
        if *n < 1 || *n > cfg.max_position_embeddings {
            let max = cfg.max_position_embeddings;
            return Err(Usage(format!("--seq {n}: must be 1..={max} (this model's max_position_embeddings is {max})")).into());
        }
    }
    if let Some(other) = opts.devices.iter().find(|d| !matches!(d.as_str(), "gpu" | "cpu")) {
        return Err(Usage(format!("--device {other}: expected gpu or cpu")).into());
    }
    // Wall clock in ms since the first call, for `albert::bench::time_forwards`.
    let epoch = Instant::now();
    let now = || epoch.elapsed().as_secs_f64() * 1e3;
    for dev in &opts.devices {
        let (mut backend, adapter, gpu) = match dev.as_str() {
            "gpu" => {
                let g = pollster::block_on(Gpu::new())?;
                let t = Instant::now();
                pollster::block_on(g.pipelines(w.dtype))?;
                report.gpu_pipeline_compile_ms = Some(t.elapsed().as_secs_f64() * 1e3);
                let t = Instant::now();
                let mut m = pollster::block_on(gpu::AlbertForMaskedLM::new(&g, cfg, w))?;
                // Uploads are queued; a tiny forward waits for them.
                pollster::block_on(m.forward(&batch(cfg, 1), &Request::default()))?;
                report.gpu_weight_upload_ms = Some(t.elapsed().as_secs_f64() * 1e3);
                (Backend::Gpu(m), g.describe(), Some(g))
            }
            _ => {
                if opts.profile && !opts.devices.iter().any(|d| d == "gpu") {
                    report.profile_unavailable = Some("--profile times GPU dispatches; for the CPU path use a sampling profiler (perf record target/release/albert bench --device cpu)".into());
                }
                let adapter = format!("albert cpu (f32, matrixmultiply blocks on rayon, {} threads)", albert::cpu::threads());
                (Backend::Cpu(cpu::AlbertForMaskedLM::new(cfg, w)?), adapter, None)
            }
        };
        for &n in &opts.seq {
            let b = batch(cfg, n);
            let req = Request { depth: opts.depth, lens: opts.lens, drift: opts.drift, ..albert::bench::request(n, opts.attentions) };
            let t = pollster::block_on(time_forwards(&mut backend, &b, &req, opts.warmup, opts.runs, now))?;
            let mut r = row(dev, &adapter, cfg, n, t.wall_ms);
            r.gpu_p50_ms = (!t.gpu_ms.is_empty()).then(|| stats(&t.gpu_ms).0);
            r.dispatches = t.dispatches;
            if let (true, Backend::Gpu(m), Some(g)) = (opts.profile, &mut backend, &gpu) {
                if g.timestamps {
                    let mut runs: Vec<Vec<DispatchTime>> = Vec::new();
                    for _ in 0..opts.runs {
                        runs.push(pollster::block_on(m.profile(&b, &req))?.1);
                    }
                    r.profile = Some(by_stage(&median_per_dispatch(&runs)));
                } else {
                    report.profile_unavailable = Some(format!("{} has no timestamp queries, so GPU dispatches cannot be timed", g.describe()));
                }
            }
            if log {
                eprintln!("{}", fmt_row(&r));
            }
            report.rows.push(r);
        }
    }
    Ok(report)
}

fn row(device: &str, adapter: &str, cfg: &Config, n: usize, ms: Vec<f64>) -> Row {
    let runs = ms.len();
    let (p50, p90, mean, min) = stats(&ms);
    let gflop = flops(cfg, n, 1) / 1e9;
    Row {
        device: device.into(),
        adapter: adapter.into(),
        seq_len: n,
        runs,
        p50_ms: p50,
        p90_ms: p90,
        mean_ms: mean,
        min_ms: min,
        gflop,
        gflops: gflop / (p50 * 1e-3),
        samples_ms: ms,
        gpu_p50_ms: None,
        dispatches: None,
        profile: None,
    }
}

/// The profile of one row as a table: stage, kernel, calls, ms, share of the profiled total.
pub fn fmt_profile(r: &Row, stages: &[StageTime]) -> String {
    let total: f64 = stages.iter().map(|s| s.ms).sum();
    let mut out = format!(
        "profile gpu n={}: {:.2} ms summed over {} dispatches (one pass each; p50 of a plain forward: GPU {}, wall {:.2} ms)\n",
        r.seq_len,
        total,
        stages.iter().map(|s| s.calls).sum::<usize>(),
        r.gpu_p50_ms.map_or("n/a".to_string(), |g| format!("{g:.2} ms")),
        r.p50_ms
    );
    for s in stages {
        let share = if total > 0.0 { 100.0 * s.ms / total } else { 0.0 };
        out.push_str(&format!("  {:<34} {:<18} {:>4} × {:>9.3} ms  {:>5.1} %\n", s.stage, s.kernel, s.calls, s.ms, share));
    }
    out
}

pub fn fmt_row(r: &Row) -> String {
    let mut gpu = r.gpu_p50_ms.map(|g| format!("  gpu-time p50 {g:>9.2} ms")).unwrap_or_default();
    if let Some(d) = r.dispatches {
        gpu.push_str(&format!("  {d} dispatches"));
    }
    format!(
        "{:<4} n={:<4} p50 {:>9.2} ms  p90 {:>9.2} ms  mean {:>9.2} ms  {:>7.2} GFLOP/s{gpu}  ({} runs; {})",
        r.device, r.seq_len, r.p50_ms, r.p90_ms, r.mean_ms, r.gflops, r.runs, r.adapter
    )
}
