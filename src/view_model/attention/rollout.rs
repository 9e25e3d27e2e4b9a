//! Attention rollout (Abnar & Zuidema, 2020): how much each input token feeds a position's final
//! representation, through every layer and the residual stream.

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
        rolled = matmul(&ar, &rolled, t);
    }
    rolled
}

fn identity(t: usize) -> Vec<f32> {
    let mut m = vec![0.0f32; t * t];
    for i in 0..t {
        m[i * t + i] = 1.0;
    }
    m
}

/// `a · b` for square `t × t` row-major matrices (f64 accumulation).
fn matmul(a: &[f32], b: &[f32], t: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; t * t];
    let mut acc = vec![0.0f64; t];
    for i in 0..t {
        acc.iter_mut().for_each(|v| *v = 0.0);
        for k in 0..t {
            let aik = a[i * t + k] as f64;
            if aik == 0.0 {
                continue;
            }
            for (j, v) in acc.iter_mut().enumerate() {
                *v += aik * b[k * t + j] as f64;
            }
        }
        for j in 0..t {
            out[i * t + j] = acc[j] as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{close, data};
    use super::super::data::{AttentionData, LayerAttention};
    use super::*;

    #[test]
    fn rollout_rows_sum_to_one() {
        let d = data(11, 4, 8);
        let r = d.rollout();
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
        let l = LayerAttention { index: 0, layer: 0, group: 0, inner: 0, heads: 2, data: vec![1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0] };
        let d = AttentionData { tokens: vec!["a".into(), "b".into()], mask_positions: vec![1], layers: vec![l] };
        assert!(close(&d.rollout(), &[0.75, 0.25, 0.25, 0.75]));
        let attr = d.attributions_from(&d.rollout());
        assert_eq!(attr.len(), 1);
        assert_eq!(attr[0].position, 1);
        assert!(close(&attr[0].weights, &[0.25, 0.75]));
    }

    #[test]
    fn every_mask_gets_its_row_of_the_rollout() {
        let d = data(9, 3, 8);
        let r = d.rollout();
        let attr = d.attributions_from(&d.rollout());
        assert_eq!(attr.iter().map(|a| a.position).collect::<Vec<_>>(), vec![1, 7]);
        for a in &attr {
            assert!(close(&a.weights, &r[a.position * 9..(a.position + 1) * 9]));
            assert!((a.weights.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
    }
}
