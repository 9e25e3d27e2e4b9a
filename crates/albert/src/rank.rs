//! Ranking a logits row: its softmax normaliser and its top k, as the predictions and the logit
//! lens need them. The page ranks every row the CPU worker or the GPU returns (13 rows of 30 000
//! for albert-base's lens), on the page's thread, while the reader types: one exp per logit
//! (vectorized, within 1 ulp) and one comparison pass for the top k, not a sort or a second
//! pass of exps (issue 13 item 2).

use crate::cpu::math::exp_accurate;

/// Logits per f32 partial sum: each lane adds at most this many terms ≤ 1 before the total,
/// which is kept in f64, so the sum's relative error stays near 1e-7 however long the row is.
const SUM_CHUNK: usize = 64;

/// A row's softmax, as its max and Σ e^(x − max): each probability is then one exp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Softmax {
    max: f32,
    sum: f64,
}

impl Softmax {
    pub fn of(row: &[f32]) -> Self {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum = row.chunks(SUM_CHUNK).map(|c| c.iter().map(|&x| exp_accurate(x - max)).sum::<f32>() as f64).sum();
        Softmax { max, sum }
    }

    /// softmax(row)[i] for the logit `x = row[i]`.
    pub fn prob(&self, x: f32) -> f32 {
        (((x - self.max) as f64).exp() / self.sum) as f32
    }
}

/// Ids of the `k` largest logits, largest first, ties by the lower id. One pass: a logit is
/// compared with the k-th best so far and only then inserted. NaNs are never picked (the
/// pipeline refuses non-finite rows before ranking them).
pub fn top_ids(row: &[f32], k: usize) -> Vec<u32> {
    let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return Vec::new();
    }
    for (i, &x) in row.iter().enumerate() {
        // Ids come in increasing order, so an equal logit never displaces an earlier one.
        let beats_kth = best.len() < k || x > best[k - 1].0;
        if !beats_kth || x.is_nan() {
            continue;
        }
        let at = best.partition_point(|&(v, _)| v >= x);
        best.insert(at, (x, i as u32));
        best.truncate(k);
    }
    best.into_iter().map(|(_, i)| i).collect()
}

/// Softmax of one logits row, top `k` by probability (ties by id, for stable output).
pub fn top_k(row: &[f32], k: usize) -> Vec<(u32, f32)> {
    let s = Softmax::of(row);
    top_ids(row, k).into_iter().map(|i| (i, s.prob(row[i as usize]))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The old way, kept as the reference: every id sorted, softmax in f64 with libm's exp.
    fn reference(row: &[f32], k: usize) -> Vec<(u32, f64)> {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let sum: f64 = row.iter().map(|&x| (x as f64 - max).exp()).sum();
        let mut idx: Vec<u32> = (0..row.len() as u32).collect();
        idx.sort_by(|&a, &b| row[b as usize].total_cmp(&row[a as usize]).then(a.cmp(&b)));
        idx.into_iter().take(k).map(|i| (i, (row[i as usize] as f64 - max).exp() / sum)).collect()
    }

    /// A 30 000-logit row like a real model's (a spread of ±12) with ties planted at the top.
    fn row(seed: u64) -> Vec<f32> {
        let mut s = seed;
        let mut r: Vec<f32> = (0..30_000)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) * 24.0 - 12.0
            })
            .collect();
        r[29_999] = 14.0;
        r[17] = 14.0;
        r[5_000] = 13.5;
        r
    }

    #[test]
    fn top_k_matches_a_full_sort_in_f64() {
        let mut worst = 0.0f64;
        for seed in 1..6 {
            let r = row(seed);
            for k in [1, 5, 10, 50] {
                let got = top_k(&r, k);
                let want = reference(&r, k);
                assert_eq!(got.iter().map(|x| x.0).collect::<Vec<_>>(), want.iter().map(|x| x.0).collect::<Vec<_>>(), "seed {seed}, k {k}");
                for ((_, p), (_, q)) in got.iter().zip(&want) {
                    worst = worst.max((*p as f64 - q).abs() / q);
                }
            }
        }
        // f32 rounding of the result (6e-8) plus exp_accurate's 1 ulp in the sum.
        assert!(worst < 3e-7, "relative difference {worst:e}");
        println!("top_k vs f64 full sort: max relative difference {worst:e}");
    }

    #[test]
    fn ties_go_to_the_lower_id_and_small_rows_give_what_they_have() {
        let t = top_k(&[0.0, 2.0, 1.0, 2.0], 3);
        assert_eq!(t.iter().map(|x| x.0).collect::<Vec<_>>(), [1, 3, 2]);
        let z: f32 = [0.0f32, 2.0, 1.0, 2.0].iter().map(|x| x.exp()).sum();
        assert!((t[0].1 - 2f32.exp() / z).abs() < 1e-6);
        assert_eq!(top_k(&[1.0], 5).len(), 1);
        assert!(top_k(&[1.0, 2.0], 0).is_empty());
        assert_eq!(top_ids(&[f32::NAN, 1.0, f32::NAN, 3.0], 3), [3, 1]);
    }
}
