//! `albert`: the engine from the command line: fill a [MASK], dump attentions as JSON, show
//! what a checkpoint holds, and time forward passes. Exit codes: 0 success, 1 other failure,
//! 2 usage, 3 model could not be loaded, 4 bad input text, 5 GPU unavailable or failed.

mod bench;
mod report;
mod soak;
mod source;

use albert::{Error, FillMask, FillOptions, Inside, ModelInfo};
use clap::{Parser, Subcommand, ValueEnum};
use report::{fill_json, print_fill, print_info};
use serde_json::json;
use std::process::ExitCode;

/// The model albert-lens ships (trained by train/), in the source tree this binary was built from.
const DEFAULT_MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/model");

#[derive(Parser)]
#[command(name = "albert", version, about = "ALBERT masked-language models on the GPU (wgpu) or CPU, matching Hugging Face transformers")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Device {
    Gpu,
    Cpu,
}

#[derive(Subcommand)]
enum Cmd {
    /// Predict each [MASK] of a sentence ("A [SEP] B" makes a sentence pair).
    Fill {
        /// A model folder in Hugging Face layout, or a base URL holding the same files
        /// (default: the project's shipped model, assets/model).
        #[arg(long, default_value = DEFAULT_MODEL)]
        model: String,
        #[arg(long)]
        text: String,
        #[arg(long, default_value_t = 5)]
        top_k: usize,
        #[arg(long, value_enum, default_value = "gpu")]
        device: Device,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// With --json: each [MASK]'s full logits row.
        #[arg(long)]
        logits: bool,
        /// With --json: attention probabilities [head][T][T] of every layer application.
        #[arg(long)]
        attentions: bool,
        #[command(flatten)]
        inside: InsideArgs,
        /// Switch heads off, each in one layer application only: layer.inner:head (layer from
        /// 1, inner layer and head from 0), comma-separated, e.g. 3.0:5,1.0:0.
        #[arg(long, value_delimiter = ',')]
        ablate: Vec<String>,
        /// With --json: "neuron": the query and key vectors [T][head_dim] of head h in layer
        /// l.j (same layer.inner:head form as --ablate), after their biases.
        #[arg(long)]
        neuron: Option<String>,
    },
    /// Sentence order (AlbertForPreTraining's SOP head): how likely A then B is the original
    /// order, and B then A.
    Order {
        /// As for `fill`; the checkpoint needs the pooler and `sop_classifier`.
        #[arg(long, default_value = DEFAULT_MODEL)]
        model: String,
        #[arg(long)]
        a: String,
        #[arg(long)]
        b: String,
        #[arg(long, value_enum, default_value = "gpu")]
        device: Device,
        #[arg(long)]
        json: bool,
    },
    /// Parameters by part, bytes, and what the same shapes would cost without ALBERT's sharing.
    Info {
        /// As for `fill` (default: assets/model).
        #[arg(long, default_value = DEFAULT_MODEL)]
        model: String,
        #[arg(long)]
        json: bool,
    },
    /// Many forwards in a row, as the app runs them, printing memory (RSS, GPU buffers): after
    /// warm-up nothing may grow.
    Soak {
        #[arg(long, default_value = DEFAULT_MODEL)]
        model: String,
        #[arg(long, value_enum, default_value = "gpu")]
        device: Device,
        /// Forwards to run.
        #[arg(long, default_value_t = 1000)]
        n: usize,
        /// Forwards before the baseline (plans built, allocator settled).
        #[arg(long, default_value_t = 30)]
        warmup: usize,
        /// Print a sample every this many forwards.
        #[arg(long, default_value_t = 100)]
        every: usize,
        #[arg(long)]
        json: bool,
    },
    /// Forward latency (p50/p90) on the GPU and CPU paths.
    Bench {
        /// A model folder or URL; default: albert-base-v2's shapes with random weights.
        #[arg(long)]
        model: Option<String>,
        /// Sequence lengths.
        #[arg(long, value_delimiter = ',', default_value = "8,32,128,512")]
        seq: Vec<usize>,
        #[arg(long, value_delimiter = ',', default_value = "gpu,cpu")]
        device: Vec<String>,
        #[arg(long, default_value_t = 10)]
        runs: usize,
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// Weights dtype for random models.
        #[arg(long, default_value = "f32")]
        dtype: String,
        /// Also read back every layer's attention maps, as the app's attention explorer does
        /// (on the GPU this runs attention_probs + attention_context instead of the fused kernel).
        #[arg(long)]
        attentions: bool,
        /// GPU: also time every dispatch with timestamp queries (one compute pass each, `runs`
        /// profiled forwards after the timed ones) and report the time by stage and kernel.
        #[arg(long)]
        profile: bool,
        #[command(flatten)]
        inside: InsideArgs,
        /// CPU path: threads for its matmuls, attention heads and LayerNorms (default: every
        /// core, or RAYON_NUM_THREADS).
        #[arg(long)]
        threads: Option<usize>,
        #[arg(long)]
        json: bool,
    },
}

/// The "inside ALBERT" options `fill` and `bench` share (`bench` times a forward that computes them).
#[derive(clap::Args, Debug, Clone, Copy)]
struct InsideArgs {
    /// Run K layer applications instead of num_hidden_layers, then the MLM head (1..L; up to 2L
    /// for an all-shared model).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    depth: Option<u64>,
    /// The logit lens: the MLM head on every layer's [MASK] rows. `fill --json` adds
    /// masks[i].lens = [{layer, top_k, answer_rank, answer_prob}] for h_0..h_K.
    #[arg(long)]
    lens: bool,
    /// The drift: per layer the mean over tokens of ‖h_l − h_{l−1}‖₂ and cos(h_l, h_{l−1}).
    /// `fill --json` adds "drift": [{layer, l2, cosine}].
    #[arg(long)]
    drift: bool,
}

fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<bench::Usage>().is_some() {
        return 2;
    }
    match e.downcast_ref::<Error>() {
        Some(Error::Input(_)) => 4,
        Some(Error::Gpu(_)) => 5,
        Some(_) => 3,
        None => 1,
    }
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so printing to a closed pipe (`albert info | head -1`) panicked;
    // the default ends the process quietly, as for any Unix filter.
    #[cfg(unix)]
    // SAFETY: called first in main, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("albert: error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

fn open(model: &str, device: Device, quiet: bool) -> anyhow::Result<(FillMask, String)> {
    let files = source::load(model, quiet)?;
    let gpu = match device {
        Device::Gpu => Some(pollster::block_on(albert::gpu::Gpu::new())?),
        Device::Cpu => None,
    };
    let desc = gpu.as_ref().map(|g| format!("gpu: {}", g.describe())).unwrap_or_else(|| "cpu".to_string());
    let fm = pollster::block_on(FillMask::new(&files, gpu.as_ref()))?;
    Ok((fm, desc))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Fill { model, text, top_k, device, json, logits, attentions, inside: InsideArgs { depth, lens, drift }, ablate, neuron } => {
            let switches = ablate.iter().map(|s| s.parse::<albert::HeadSwitch>()).collect::<Result<Vec<_>, _>>().map_err(|e| bench::Usage(format!("--ablate: {e}")))?;
            let neuron = neuron.map(|s| s.parse::<albert::HeadSwitch>()).transpose().map_err(|e| bench::Usage(format!("--neuron: {e}")))?;
            let (mut fm, desc) = open(&model, device, json)?;
            let opts = FillOptions { top_k, logits: logits && json, attentions: attentions && json, ..Default::default() };
            let inside = Inside { depth: depth.map(|d| d as usize), lens: lens && json, drift: drift && json, switches, neuron: neuron.filter(|_| json) };
            let r = pollster::block_on(fm.fill_inside(&text, &opts, &inside))?;
            if json {
                println!("{}", serde_json::to_string(&fill_json(&model, &fm.info, &desc, &r))?);
            } else {
                print_fill(&model, &fm, &desc, &text, &r);
            }
        }
        Cmd::Order { model, a, b, device, json } => {
            let (mut fm, desc) = open(&model, device, json)?;
            let ab = pollster::block_on(fm.order(&a, &b))?;
            if json {
                let v = json!({
                    "model": model, "device": desc, "tokens": ab.tokens, "ids": ab.ids, "token_type_ids": ab.token_type_ids,
                    "sop_logits": ab.sop_logits, "in_order_prob": ab.in_order_prob,
                });
                println!("{}", serde_json::to_string(&v)?);
            } else {
                let ba = pollster::block_on(fm.order(&b, &a))?;
                println!("model: {model} on {desc}");
                println!("A then B: {:>6.2}% in order  (sop_logits {:.4}, {:.4})", ab.in_order_prob * 100.0, ab.sop_logits[0], ab.sop_logits[1]);
                println!("B then A: {:>6.2}% in order  (sop_logits {:.4}, {:.4})", ba.in_order_prob * 100.0, ba.sop_logits[0], ba.sop_logits[1]);
            }
        }
        Cmd::Soak { model, device, n, warmup, every, json } => {
            let files = source::load(&model, json)?;
            let gpu = match device {
                Device::Gpu => Some(pollster::block_on(albert::gpu::Gpu::new())?),
                Device::Cpu => None,
            };
            let desc = gpu.as_ref().map(|g| format!("gpu: {}", g.describe())).unwrap_or_else(|| "cpu".to_string());
            let mut fm = pollster::block_on(FillMask::new(&files, gpu.as_ref()))?;
            if !json {
                println!("model: {model} on {desc}; {n} forwards, baseline after {warmup}");
            }
            let r = soak::run(&mut fm, gpu.as_ref(), desc, n, warmup.min(n), every, !json)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "after warm-up: RSS {} MB, GPU buffers alive {}, created {} ({:.1} s)",
                    r.rss_growth_mb.map_or("?".into(), |g| format!("{g:+.1}")),
                    r.live_buffer_growth.map_or("-".into(), |g| format!("{g:+}")),
                    r.buffers_created_after_warmup,
                    r.seconds
                );
            }
        }
        Cmd::Info { model, json } => {
            let files = source::load(&model, json)?;
            let (cfg, w) = files.load()?;
            let tok = if files.tokenizer_json.is_some() { "tokenizer.json" } else if files.spiece_model.is_some() { "spiece.model" } else { "none" };
            let info = ModelInfo::new(&cfg, &w, &files, tok);
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                print_info(&model, &info);
            }
        }
        Cmd::Bench { model, seq, device, runs, warmup, dtype, attentions, profile, inside: InsideArgs { depth, lens, drift }, threads, json } => {
            if threads == Some(0) {
                return Err(bench::Usage("--threads 0: expected at least 1".into()).into());
            }
            let dtype = match dtype.as_str() {
                "f32" => albert::DType::F32,
                "f16" => albert::DType::F16,
                d => return Err(bench::Usage(format!("--dtype {d}: expected f32 or f16")).into()),
            };
            let (name, cfg, w) = match &model {
                Some(m) => {
                    let (c, w) = source::load(m, true)?.load()?;
                    (m.clone(), c, w)
                }
                None => {
                    let c = albert::Config::from_json(bench::BASE_V2)?;
                    let w = albert::AlbertWeights::random(&c, 0, dtype)?;
                    ("albert-base-v2 shapes, random weights".to_string(), c, w)
                }
            };
            if let Some(k) = depth.filter(|&k| k as usize > cfg.max_depth()) {
                return Err(bench::Usage(format!("--depth {k}: this model runs 1 to {} layers", cfg.max_depth())).into());
            }
            let opts = bench::Options { seq, devices: device, runs: runs.max(1), warmup, attentions, profile, depth: depth.map(|d| d as usize), lens, drift };
            let report = match threads {
                Some(t) => albert::cpu::with_threads(t, || bench::run(&name, &cfg, &w, &opts, !json))??,
                None => bench::run(&name, &cfg, &w, &opts, !json)?,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("model: {} ({} parameters, {:?})", report.model, report.parameters, report.dtype);
                if let (Some(c), Some(u)) = (report.gpu_pipeline_compile_ms, report.gpu_weight_upload_ms) {
                    println!("gpu: pipelines compiled in {c:.0} ms, weights uploaded in {u:.0} ms");
                }
                for r in &report.rows {
                    println!("{}", bench::fmt_row(r));
                }
                for r in &report.rows {
                    if let Some(p) = &r.profile {
                        print!("{}", bench::fmt_profile(r, p));
                    }
                }
                if let Some(why) = &report.profile_unavailable {
                    println!("profile: {why}");
                }
            }
        }
    }
    Ok(())
}
