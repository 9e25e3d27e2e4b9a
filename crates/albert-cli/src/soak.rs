//! `albert soak`: many forwards in a row, the way the app runs them (attentions, logit lens,
//! drift, texts of a few lengths), printing memory as it goes: the process's resident set
//! (Linux `/proc/self/status`), GPU buffers alive (wgpu's registry) and buffers created. After
//! warm-up none may grow: a tab a class keeps open all day must not leak.

use albert::gpu::{buffers_created, Gpu};
use albert::{FillMask, FillOptions, Inside};
use serde::Serialize;

/// Sentences of three lengths (three cached GPU plans), cycled.
const TEXTS: [&str; 3] = [
    "The capital of France is [MASK].",
    "The [MASK] chased the [MASK] across the garden, and the children laughed.",
    "She poured a cup of [MASK] and sat down to read the newspaper before the long day at the office began in earnest.",
];

#[derive(Serialize, Debug, Clone)]
pub struct Sample {
    pub forward: usize,
    pub rss_mb: Option<f64>,
    pub live_buffers: Option<usize>,
    pub buffers_created: u64,
}

#[derive(Serialize, Debug)]
pub struct Report {
    pub device: String,
    pub forwards: usize,
    pub warmup: usize,
    pub seconds: f64,
    pub samples: Vec<Sample>,
    /// From the end of warm-up to the last forward.
    pub rss_growth_mb: Option<f64>,
    pub live_buffer_growth: Option<i64>,
    pub buffers_created_after_warmup: u64,
}

/// Resident set size in MB (`VmRSS`), where the OS says it.
pub fn rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn sample(forward: usize, gpu: Option<&Gpu>) -> Sample {
    Sample { forward, rss_mb: rss_mb(), live_buffers: gpu.and_then(Gpu::live_buffers), buffers_created: buffers_created() }
}

/// Runs `n` forwards (the first `warmup` not counted in the growth), sampling every `every`.
pub fn run(fm: &mut FillMask, gpu: Option<&Gpu>, device: String, n: usize, warmup: usize, every: usize, print: bool) -> anyhow::Result<Report> {
    let t0 = std::time::Instant::now();
    let opts = FillOptions { top_k: 5, logits: false, attentions: true, ..Default::default() };
    let inside = Inside { lens: true, drift: true, ..Default::default() };
    let mut samples = Vec::new();
    let mut base: Option<Sample> = None;
    for i in 1..=n {
        let text = TEXTS[i % TEXTS.len()];
        let r = pollster::block_on(fm.fill_inside(text, &opts, &inside))?;
        std::hint::black_box(&r);
        drop(r);
        if i == warmup.max(1) {
            base = Some(sample(i, gpu));
        }
        if i % every.max(1) == 0 || i == n {
            let s = sample(i, gpu);
            if print {
                println!(
                    "forward {:>6}: RSS {} MB, GPU buffers alive {}, created so far {}",
                    s.forward,
                    s.rss_mb.map_or("?".into(), |m| format!("{m:.1}")),
                    s.live_buffers.map_or("-".into(), |b| b.to_string()),
                    s.buffers_created
                );
            }
            samples.push(s);
        }
    }
    let last = sample(n, gpu);
    let base = base.unwrap_or_else(|| last.clone());
    Ok(Report {
        device,
        forwards: n,
        warmup,
        seconds: t0.elapsed().as_secs_f64(),
        rss_growth_mb: base.rss_mb.zip(last.rss_mb).map(|(a, b)| b - a),
        live_buffer_growth: base.live_buffers.zip(last.live_buffers).map(|(a, b)| b as i64 - a as i64),
        buffers_created_after_warmup: last.buffers_created - base.buffers_created,
        samples,
    })
}
