//! What `albert bench` and the app's `?bench=1` share, so their numbers compare: the synthetic
//! input, the timing loop and the latency statistics.

use crate::error::Result;
use crate::output::{Batch, LogitsRequest, MapViews, Request};
use crate::pipeline::Backend;

/// One [MASK] row of logits, as the app asks, plus the attention maps when `attentions`.
pub fn request(n: usize, attentions: bool) -> Request {
    Request { logits: LogitsRequest::Rows(vec![n / 2]), attentions, ..Default::default() }
}

/// What the app's page asks of every forward of the sentence (src/session/fill.rs): one [MASK]
/// row, the logit lens, the drift, the neuron view's head (layer 1, head 0) and what its
/// attention views read of the maps (`maps`; `MapViews::default()` with `attentions` set is
/// every map whole, as the page asked before issue 13 item 3). Its `Output::nbytes` is what the
/// page reads back per forward.
pub fn page_request(n: usize, maps: MapViews) -> Request {
    Request {
        lens: true,
        drift: true,
        neuron: Some(crate::output::HeadSwitch { layer: 1, inner: 0, head: 0 }),
        maps,
        ..request(n, false)
    }
}

/// Forward times of `runs` forwards after `warmup` untimed ones.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Wall time of each forward including readback, ms (by the caller's clock).
    pub wall_ms: Vec<f64>,
    /// GPU time of each forward from timestamp queries, where the device has them.
    pub gpu_ms: Vec<f64>,
    /// Compute dispatches a forward records (GPU only).
    pub dispatches: Option<usize>,
}

/// Times forwards of `batch` on `backend`. `now` is a millisecond clock (`Instant` natively,
/// `performance.now()` in the browser).
pub async fn time_forwards(backend: &mut Backend, batch: &Batch, req: &Request, warmup: usize, runs: usize, now: impl Fn() -> f64) -> Result<Timings> {
    let mut t = Timings::default();
    for i in 0..warmup + runs {
        let start = now();
        backend.forward(batch, req).await?;
        if i >= warmup {
            t.wall_ms.push(now() - start);
            t.gpu_ms.extend(backend.last_gpu_ms());
        }
    }
    t.dispatches = backend.last_dispatches();
    Ok(t)
}

/// `[CLS] words… [MASK] words… [SEP]` of length `n`, ids spread over the vocabulary; the
/// [MASK] (id 4) is at `n / 2`.
pub fn synthetic_ids(vocab_size: usize, n: usize) -> Vec<u32> {
    let span = vocab_size.saturating_sub(5).max(1);
    let mut ids: Vec<u32> = (0..n).map(|i| (5 + (i * 7919) % span) as u32).collect();
    if n == 0 {
        return ids;
    }
    ids[0] = 2;
    if n > 1 {
        ids[n - 1] = 3;
    }
    ids[n / 2] = 4;
    ids
}

/// (p50, p90, mean, min) in the samples' unit; nearest-rank percentiles (index
/// `round((len - 1) * p)` of the sorted samples), which bench/compare.py replicates for PyTorch.
pub fn stats(ms: &[f64]) -> (f64, f64, f64, f64) {
    if ms.is_empty() {
        return (0.0, 0.0, 0.0, 0.0);
    }
    let mut s = ms.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize];
    (pct(0.5), pct(0.9), s.iter().sum::<f64>() / s.len() as f64, s[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_ids_have_cls_mask_sep_and_stay_in_vocab() {
        assert_eq!(synthetic_ids(1000, 1), vec![4]);
        let ids = synthetic_ids(1000, 9);
        assert_eq!((ids[0], ids[4], ids[8]), (2, 4, 3));
        assert!(synthetic_ids(1000, 128).iter().all(|&i| i < 1000));
    }

    #[test]
    fn stats_are_nearest_rank() {
        assert_eq!(stats(&[5.0, 1.0, 3.0, 2.0, 4.0]), (3.0, 5.0, 3.0, 1.0));
        assert_eq!(stats(&[]), (0.0, 0.0, 0.0, 0.0));
    }
}
