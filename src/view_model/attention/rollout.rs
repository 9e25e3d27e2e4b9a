//! Attention rollout (Abnar & Zuidema, 2020): how much each input token feeds a position's final
//! representation, through every layer and the residual stream.

/// Up to this many tokens the rollout view draws the whole rolled-out map with every forward
/// (L·T³: ~25 M multiply-adds for 12 layers at 128 tokens, a few ms); past it the map waits for
/// a click (at 512 tokens it is 1.6 G, seconds of a frozen page), while the bars (O(L·T²) per
/// [MASK]) always come at once.
pub const AUTO_MAP_TOKENS: usize = 128;

/// Whether the view computes the whole map for `t` tokens now (`asked`: the reader pressed
/// "Compute the map").
pub fn whole_map_now(t: usize, asked: bool) -> bool {
    t <= AUTO_MAP_TOKENS || asked
}

/// Attribution of the input tokens for one [MASK] position.
#[derive(Clone, Debug, PartialEq)]
pub struct MaskAttribution {
    pub position: usize,
    /// One weight per token; sums to 1.
    pub weights: Vec<f32>,
}

/// Attention rollout (Abnar & Zuidema, 2020). `layers` are the head-averaged `T × T`
/// attentions in execution order; each becomes `A' = 0.5·A + 0.5·I` with rows
/// renormalised, and the result is `A'_L · … · A'_1`. Row `q` of the result is how much
/// query `q`'s final representation draws on each input token. No layers: the identity.
pub fn rollout(layers: &[Vec<f32>], t: usize) -> Vec<f32> {
    let mut rolled = identity(t);
    for a in layers {
        assert_eq!(a.len(), t * t, "rollout: a layer is not {t} × {t}");
        rolled = matmul(&with_residual(a, t), &rolled, t);
    }
    rolled
}

/// `0.5·A + 0.5·I` with rows renormalised: one layer's step of the rollout.
fn with_residual(a: &[f32], t: usize) -> Vec<f32> {
    let mut ar = vec![0.0f32; t * t];
    for q in 0..t {
        let row = &mut ar[q * t..(q + 1) * t];
        for (k, v) in row.iter_mut().enumerate() {
            *v = 0.5 * a[q * t + k] + if q == k { 0.5 } else { 0.0 };
        }
        let sum: f32 = row.iter().sum();
        if sum > 0.0 {
            row.iter_mut().for_each(|v| *v /= sum);
        }
    }
    ar
}

/// Row `position` of [`rollout`] alone, in O(L·T²) instead of the whole map's O(L·T³): the
/// row vector `e_p` times `A'_L`, then `A'_{L-1}`, … `A'_1` (the product read from the left).
/// This is what the bars need; at 512 tokens the whole map is ~100× the work.
pub fn rollout_row(layers: &[Vec<f32>], t: usize, position: usize) -> Vec<f32> {
    let mut row = vec![0.0f64; t];
    if position >= t {
        return vec![0.0; t];
    }
    row[position] = 1.0;
    for a in layers.iter().rev() {
        assert_eq!(a.len(), t * t, "rollout: a layer is not {t} × {t}");
        let ar = with_residual(a, t);
        let mut next = vec![0.0f64; t];
        for (q, &r) in row.iter().enumerate() {
            if r == 0.0 {
                continue;
            }
            for (k, v) in next.iter_mut().enumerate() {
                *v += r * ar[q * t + k] as f64;
            }
        }
        row = next;
    }
    row.into_iter().map(|v| v as f32).collect()
}

fn identity(t: usize) -> Vec<f32> {
    let mut m = vec![0.0f32; t * t];
    for i in 0..t {
        m[i * t + i] = 1.0;
    }
    m
}

/// `a · b` for square `t × t` row-major matrices. Accumulated in f32, as the maps themselves are,
/// so the inner loop can vectorize (simd128): the whole map at 128 tokens (12 products of 128³)
/// took about 30 ms of the page's thread in f64 (issue 13 item 2). The rows, sums of at most T
/// products of probabilities, stay stochastic to about 1e-6.
fn matmul(a: &[f32], b: &[f32], t: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; t * t];
    for (a_row, out_row) in a.chunks_exact(t).zip(out.chunks_exact_mut(t)) {
        for (&aik, b_row) in a_row.iter().zip(b.chunks_exact(t)) {
            if aik == 0.0 {
                continue;
            }
            for (o, &bkj) in out_row.iter_mut().zip(b_row) {
                *o += aik * bkj;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{close, data};
    use super::super::{data::AttentionData, layer::LayerAttention};
    use super::*;

    #[test]
    fn rollout_rows_sum_to_one() {
        let d = data(11, 4, 8);
        let r = d.rollout().unwrap();
        for q in 0..11 {
            let sum: f32 = r[q * 11..(q + 1) * 11].iter().sum();
            assert!((sum - 1.0).abs() < 1e-4, "row {q} sums to {sum}");
            assert!(r[q * 11..(q + 1) * 11].iter().all(|&v| v >= 0.0));
        }
    }

    #[test]
    fn rollout_of_identity_attention_is_identity() {
        let t = 5;
        let layers = vec![identity(t); 6];
        assert!(close(&rollout(&layers, t), &identity(t)));
        assert!(close(&rollout(&[], t), &identity(t)));
    }

    #[test]
    fn rollout_matches_a_hand_computed_example() {
        // A1 = [[1,0],[.5,.5]] → A1' = [[1,0],[.25,.75]]
        // A2 = [[0,1],[1,0]]   → A2' = [[.5,.5],[.5,.5]]
        // A2'·A1' = [[.625,.375],[.625,.375]]
        let a1 = vec![1.0, 0.0, 0.5, 0.5];
        let a2 = vec![0.0, 1.0, 1.0, 0.0];
        assert!(close(&rollout(std::slice::from_ref(&a1), 2), &[1.0, 0.0, 0.25, 0.75]));
        assert!(close(&rollout(&[a1.clone(), a2.clone()], 2), &[0.625, 0.375, 0.625, 0.375]));
        // Order matters: A1'·A2' = [[.5,.5],[.5,.5]].
        assert!(close(&rollout(&[a2, a1], 2), &[0.5, 0.5, 0.5, 0.5]));
    }

    #[test]
    fn rollout_renormalises_rows_that_do_not_sum_to_one() {
        // Row 0 sums to 2: 0.5·[2,0] + 0.5·[1,0] = [1.5, 0] → [1, 0].
        let r = rollout(&[vec![2.0, 0.0, 0.0, 1.0]], 2);
        assert!(close(&r, &[1.0, 0.0, 0.0, 1.0]));
    }

    #[test]
    fn rollout_averages_heads_first() {
        // Head 0 = identity, head 1 = swap: mean = all 0.5, A' = [[.75,.25],[.25,.75]].
        let l = LayerAttention { index: 0, layer: 0, group: 0, inner: 0, heads: 2, data: vec![1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0], ..Default::default() };
        let d = AttentionData { tokens: vec!["a".into(), "b".into()], mask_positions: vec![1], layers: vec![l], thumb_side: 0 };
        assert!(close(&d.rollout().unwrap(), &[0.75, 0.25, 0.25, 0.75]));
        let attr = d.attributions_from(&d.rollout().unwrap());
        assert_eq!(attr.len(), 1);
        assert_eq!(attr[0].position, 1);
        assert!(close(&attr[0].weights, &[0.25, 0.75]));
    }

    #[test]
    fn the_f32_map_at_albert_base_size_keeps_to_the_f64_rows() {
        // 128 tokens, 12 maps of 12 heads: what the page computes in one task.
        let d = data(128, 12, 12);
        let r = d.rollout().unwrap();
        let mut worst = 0.0f32;
        for a in d.attributions() {
            let row = &r[a.position * 128..(a.position + 1) * 128];
            worst = row.iter().zip(&a.weights).fold(worst, |w, (x, y)| w.max((x - y).abs()));
        }
        for q in 0..128 {
            let sum: f32 = r[q * 128..(q + 1) * 128].iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "row {q} sums to {sum}");
        }
        assert!(worst < 1e-6, "max |f32 map − f64 row| = {worst:e}");
        println!("rollout at 128 tokens: max |f32 map − f64 row| = {worst:e}");
    }

    #[test]
    fn every_mask_gets_its_row_of_the_rollout() {
        let d = data(9, 3, 8);
        let r = d.rollout().unwrap();
        let attr = d.attributions_from(&d.rollout().unwrap());
        let alone = d.attributions();
        assert_eq!(alone.len(), attr.len());
        for (a, b) in alone.iter().zip(&attr) {
            assert_eq!(a.position, b.position);
            assert!(close(&a.weights, &b.weights), "each row alone equals its row of the map");
        }
        assert_eq!(attr.iter().map(|a| a.position).collect::<Vec<_>>(), vec![1, 7]);
        for a in &attr {
            assert!(close(&a.weights, &r[a.position * 9..(a.position + 1) * 9]));
            assert!((a.weights.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn one_row_equals_that_row_of_the_whole_map() {
        let d = data(13, 4, 8);
        let means: Vec<Vec<f32>> = d.layers.iter().map(|l| l.mean_heads().unwrap()).collect();
        let whole = rollout(&means, 13);
        for p in [0, 5, 12] {
            let row = rollout_row(&means, 13, p);
            assert!(close(&row, &whole[p * 13..(p + 1) * 13]), "row {p}: {row:?}");
        }
        // The order of layers matters for a row too (it is read from the last layer down).
        let a1 = vec![1.0, 0.0, 0.5, 0.5];
        let a2 = vec![0.0, 1.0, 1.0, 0.0];
        assert!(close(&rollout_row(&[a1.clone(), a2.clone()], 2, 0), &[0.625, 0.375]));
        assert!(close(&rollout_row(&[a2, a1], 2, 0), &[0.5, 0.5]));
        assert!(close(&rollout_row(&[], 3, 1), &[0.0, 1.0, 0.0]));
        assert_eq!(rollout_row(&means, 13, 99), vec![0.0; 13], "a position outside the tokens");
    }

    #[test]
    fn the_whole_map_waits_for_a_click_past_the_automatic_size() {
        assert!(whole_map_now(AUTO_MAP_TOKENS, false));
        assert!(!whole_map_now(AUTO_MAP_TOKENS + 1, false));
        assert!(whole_map_now(512, true));
    }
}
