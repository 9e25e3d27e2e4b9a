//! `?bench=1`: the inputs and statistics of the in-browser benchmark, the same as
//! `albert bench` (crates/albert-cli/src/bench.rs) so both sides compare.

use serde::Serialize;

// The input and statistics are the engine's, shared with `albert bench`.
pub use albert::bench::{stats, synthetic_ids};
pub use albert::gpu::StageTime;

/// One sequence length's timings (field names as `albert bench --json`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BenchRow {
    pub device: String,
    pub adapter: String,
    pub seq_len: usize,
    pub runs: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub mean_ms: f64,
    pub min_ms: f64,
    pub samples_ms: Vec<f64>,
    /// `?profile=1` on WebGPU: each dispatch's median GPU time over `runs` profiled forwards,
    /// summed by stage and kernel (as `albert bench --profile`).
    pub profile: Option<Vec<StageTime>>,
    /// Bytes one timed forward returned (`Output::nbytes`: read back from the GPU, or sent by
    /// the CPU worker): one [MASK] row of logits.
    pub readback_bytes: Option<usize>,
    /// The same for the page's own request at this length (`albert::bench::page_request`:
    /// what the attention views show of the maps at their first layer (`attention::request`),
    /// the lens, the drift, the neuron view): what each forward of the sentence costs in
    /// transfers (issue 13 item 3).
    pub page_readback_bytes: Option<usize>,
    /// The page's request as it was before issue 13 item 3: every attention map whole.
    pub page_all_maps_bytes: Option<usize>,
    /// On the CPU: the threads the forwards ran on (the worker and its helpers).
    pub threads: Option<usize>,
}

impl BenchRow {
    pub fn new(device: &str, adapter: &str, seq_len: usize, samples_ms: Vec<f64>) -> Self {
        let (p50, p90, mean, min) = stats(&samples_ms);
        BenchRow {
            device: device.into(),
            adapter: adapter.into(),
            seq_len,
            runs: samples_ms.len(),
            p50_ms: p50,
            p90_ms: p90,
            mean_ms: mean,
            min_ms: min,
            samples_ms,
            profile: None,
            readback_bytes: None,
            page_readback_bytes: None,
            page_all_maps_bytes: None,
            threads: None,
        }
    }
}

/// What `data-testid="bench"` holds once `data-state="done"`.
#[derive(Clone, Debug, Serialize, PartialEq, Default)]
pub struct BenchReport {
    pub model: String,
    pub dtype: String,
    pub parameters: usize,
    /// `webgpu` or `cpu`.
    pub backend: String,
    pub adapter: String,
    pub user_agent: String,
    pub warmup: usize,
    /// Time to compile the WGSL pipelines (GPU only).
    pub gpu_pipeline_compile_ms: Option<f64>,
    /// Time to parse the checkpoint and upload or prepare the weights.
    pub model_init_ms: Option<f64>,
    pub rows: Vec<BenchRow>,
    /// Lengths skipped because the model reads fewer tokens.
    pub skipped: Vec<usize>,
    /// Why `?profile=1` gave no per-dispatch times (the CPU backend, no timestamp queries).
    pub profile_unavailable: Option<String>,
}

/// Splits the requested lengths into those the model can run and those it cannot (longer than
/// it reads), by the engine's own check of an input (`Batch::validate`).
pub fn plan_lengths(requested: &[usize], cfg: &albert::Config) -> (Vec<usize>, Vec<usize>) {
    requested.iter().partition(|&&n| albert::Batch::single(synthetic_ids(cfg.vocab_size, n), vec![0; n]).validate(cfg).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_ids_match_the_cli() {
        let ids = synthetic_ids(30000, 8);
        assert_eq!(ids.len(), 8);
        assert_eq!(ids[0], 2);
        assert_eq!(ids[7], 3);
        assert_eq!(ids[4], 4);
        assert_eq!(ids[1], 5 + 7919);
        let ids = synthetic_ids(30000, 16);
        assert_eq!(ids[5], 9605); // 5 + (5 × 7919) mod 29995
        assert!(synthetic_ids(1000, 128).iter().all(|&i| i < 1000));
        assert_eq!(synthetic_ids(1000, 1), vec![4]);
    }

    #[test]
    fn nearest_rank_stats() {
        let (p50, p90, mean, min) = stats(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!((p50, p90, mean, min), (3.0, 5.0, 3.0, 1.0));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        let (p50, p90, _, _) = stats(&ten);
        assert_eq!((p50, p90), (6.0, 9.0));
        assert_eq!(stats(&[]), (0.0, 0.0, 0.0, 0.0));
    }

    #[test]
    fn rows_and_plans() {
        let r = BenchRow::new("webgpu", "swiftshader", 8, vec![2.0, 1.0]);
        assert_eq!((r.runs, r.min_ms), (2, 1.0));
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"p50_ms\":"));
        // The bytes a forward returned are null until the benchmark measures them.
        assert!(json.contains("\"readback_bytes\":null") && json.contains("\"page_readback_bytes\":null"), "{json}");
        let measured = BenchRow { readback_bytes: Some(4000), page_readback_bytes: Some(27704), ..r.clone() };
        assert!(serde_json::to_string(&measured).unwrap().contains("\"page_readback_bytes\":27704"));
        let cfg = albert::Config::from_json(
            r#"{"model_type":"albert","vocab_size":1000,"embedding_size":16,"hidden_size":32,"num_attention_heads":2,
                "intermediate_size":64,"max_position_embeddings":64}"#,
        )
        .unwrap();
        assert_eq!(plan_lengths(&[8, 32, 128, 64, 0], &cfg), (vec![8, 32, 64], vec![128, 0]));
    }
}
