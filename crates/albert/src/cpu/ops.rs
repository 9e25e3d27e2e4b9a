//! CPU reference ops (f32). Each has a GPU twin of the same name in `gpu::ops` and a kernel
//! test comparing the two; the math follows transformers' modeling_albert.py line by line.

use crate::config::Activation;
use crate::output::Batch;

/// `act(x)` exactly as torch computes it (the table in `activation.rs`).
pub fn act(x: f32, a: Activation) -> f32 {
    a.apply(x)
}

/// Word + position + token-type embeddings, then LayerNorm: `[rows, E]`.
#[allow(clippy::too_many_arguments)]
pub fn embeddings(
    batch: &Batch,
    word: &[f32],
    position: &[f32],
    token_type: &[f32],
    ln_weight: &[f32],
    ln_bias: &[f32],
    eps: f32,
    e: usize,
) -> Vec<f32> {
    let mut out = vec![0.0f32; batch.rows() * e];
    for r in 0..batch.rows() {
        let t = r % batch.seq_len;
        let (id, ty) = (batch.input_ids[r] as usize, batch.token_type_ids[r] as usize);
        let row = &mut out[r * e..(r + 1) * e];
        for j in 0..e {
            row[j] = word[id * e + j] + token_type[ty * e + j] + position[t * e + j];
        }
    }
    layer_norm_inplace(&mut out, ln_weight, ln_bias, eps, e);
    out
}

/// `y = act(x · Wᵀ + b)` with torch's `[out, in]` weight: x `[m, k]`, w `[n, k]` → `[m, n]`.
pub fn linear(x: &[f32], m: usize, k: usize, w: &[f32], b: &[f32], n: usize, a: Activation) -> Vec<f32> {
    linear_strided(x, m, k, w, (1, k as isize), b, n, a)
}

/// `linear` with the weight transposed once at load, `wt` `[k, n]`: the model's layout, since
/// matrixmultiply packs a row-major `[k, n]` operand with unit-stride reads (with torch's
/// `[n, k]` every packed element is a strided load, and packing was a fifth of the forward).
pub fn linear_t(x: &[f32], m: usize, k: usize, wt: &[f32], b: &[f32], n: usize, a: Activation) -> Vec<f32> {
    linear_strided(x, m, k, wt, (n as isize, 1), b, n, a)
}

/// Transposes a row-major `[rows, cols]` matrix.
pub fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; w.len()];
    for (r, row) in w.chunks_exact(cols.max(1)).enumerate().take(rows) {
        for (c, &v) in row.iter().enumerate() {
            t[c * rows + r] = v;
        }
    }
    t
}

/// `y = act(x · B + b)` where `B[kk][j] = w[kk·rs + j·cs]` (`(rs, cs)` = `(1, k)` for torch's
/// `[n, k]` weight, `(n, 1)` for its transpose).
#[allow(clippy::too_many_arguments)]
fn linear_strided(x: &[f32], m: usize, k: usize, w: &[f32], (rs, cs): (isize, isize), b: &[f32], n: usize, a: Activation) -> Vec<f32> {
    assert_eq!(x.len(), m * k);
    assert_eq!(w.len(), n * k);
    let mut y = vec![0.0f32; m * n];
    for row in y.chunks_exact_mut(n) {
        row.copy_from_slice(b);
    }
    if m > 0 && n > 0 && k > 0 {
        // SAFETY: the slices hold m×k, n×k and m×n elements as asserted; strides describe them.
        unsafe {
            matrixmultiply::sgemm(
                m, k, n, 1.0, x.as_ptr(), k as isize, 1, w.as_ptr(), rs, cs, 1.0, y.as_mut_ptr(), n as isize, 1,
            );
        }
    }
    act_slice(&mut y, a);
    y
}

/// `act` over a slice. gelu_new (ALBERT's activation, on every FFN element) goes through
/// `tanh_fast`, a branch-free tanh the compiler vectorizes: libm's scalar tanhf was a fifth of
/// a CPU forward. torch's own vectorized tanh is an approximation too (Sleef, ~1 ulp).
pub fn act_slice(y: &mut [f32], a: Activation) {
    match a {
        Activation::Linear => {}
        Activation::GeluNew => {
            let c = (2.0 / std::f32::consts::PI).sqrt();
            for v in y.iter_mut() {
                let x = *v;
                *v = 0.5 * x * (1.0 + tanh_fast(c * (x + 0.044715 * x * x * x)));
            }
        }
        _ => y.iter_mut().for_each(|v| *v = act(*v, a)),
    }
}

/// tanh within 2.4e-7 absolute of libm's everywhere (the unit test checks), as
/// `sign(x)·(1 − 2/(e^{2|x|} + 1))` with `exp_fast`; no branches, so loops over it vectorize.
#[inline(always)]
pub fn tanh_fast(x: f32) -> f32 {
    // |x| ≥ 9 rounds to ±1 in f32; the clamp also keeps exp finite.
    let a = x.abs().min(9.0);
    let e = exp_fast(2.0 * a);
    (1.0 - 2.0 / (e + 1.0)).copysign(x)
}

/// e^x for x in [0, 18] (what `tanh_fast` needs): x = n·ln2 + r, |r| ≤ ln2/2, e^r by its degree-6
/// Taylor polynomial (relative error < 2e-7), 2^n from the exponent bits.
#[inline(always)]
fn exp_fast(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2²³ rounds to the nearest integer without a rounding instruction (SSE2 has none).
    const ROUND: f32 = 12_582_912.0;
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// Scaled, masked softmax of `q·kᵀ` per sequence and head: q, k `[b·t, H]` → `[b, heads, t, t]`.
/// Masked keys get probability 0, as transformers' `finfo.min` additive mask gives after softmax.
pub fn attention_probs(q: &[f32], k: &[f32], mask: &[u32], b: usize, t: usize, heads: usize, d: usize) -> Vec<f32> {
    let h = heads * d;
    let scale = 1.0 / (d as f32).sqrt();
    let mut probs = vec![0.0f32; b * heads * t * t];
    for bi in 0..b {
        for hi in 0..heads {
            let p = &mut probs[(bi * heads + hi) * t * t..(bi * heads + hi + 1) * t * t];
            let qo = bi * t * h + hi * d;
            // SAFETY: q/k rows of this sequence and head lie inside the slices; p is t×t.
            unsafe {
                matrixmultiply::sgemm(
                    t, d, t, scale, q[qo..].as_ptr(), h as isize, 1, k[qo..].as_ptr(), 1, h as isize, 0.0,
                    p.as_mut_ptr(), t as isize, 1,
                );
            }
            for row in p.chunks_exact_mut(t) {
                softmax_masked(row, &mask[bi * t..(bi + 1) * t]);
            }
        }
    }
    probs
}

fn softmax_masked(row: &mut [f32], mask: &[u32]) {
    let max = row.iter().zip(mask).filter(|(_, &m)| m != 0).map(|(&x, _)| x).fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        // Every key masked: torch's finfo.min mask makes all scores equal, i.e. uniform.
        let u = 1.0 / row.len() as f32;
        row.iter_mut().for_each(|x| *x = u);
        return;
    }
    let mut sum = 0.0f32;
    for (x, &m) in row.iter_mut().zip(mask) {
        *x = if m != 0 { (*x - max).exp() } else { 0.0 };
        sum += *x;
    }
    for x in row.iter_mut() {
        *x /= sum;
    }
}

/// `probs · v` per sequence and head, heads concatenated: → `[b·t, H]`.
pub fn attention_context(probs: &[f32], v: &[f32], b: usize, t: usize, heads: usize, d: usize) -> Vec<f32> {
    let h = heads * d;
    let mut ctx = vec![0.0f32; b * t * h];
    for bi in 0..b {
        for hi in 0..heads {
            let p = &probs[(bi * heads + hi) * t * t..];
            let o = bi * t * h + hi * d;
            // SAFETY: as in attention_probs; the output block is t×d with row stride h.
            unsafe {
                matrixmultiply::sgemm(
                    t, t, d, 1.0, p.as_ptr(), t as isize, 1, v[o..].as_ptr(), h as isize, 1, 0.0,
                    ctx[o..].as_mut_ptr(), h as isize, 1,
                );
            }
        }
    }
    ctx
}

/// Self-attention without the maps: `attention_context(attention_probs(q, k), v)`. The twin of
/// the GPU's fused kernel, which never writes the probabilities out.
#[allow(clippy::too_many_arguments)]
pub fn attention(q: &[f32], k: &[f32], v: &[f32], mask: &[u32], b: usize, t: usize, heads: usize, d: usize) -> Vec<f32> {
    attention_context(&attention_probs(q, k, mask, b, t, heads, d), v, b, t, heads, d)
}

/// `LayerNorm(x + residual)` row by row over `n` features.
pub fn add_layer_norm(x: &[f32], residual: &[f32], w: &[f32], b: &[f32], eps: f32, n: usize) -> Vec<f32> {
    let mut out: Vec<f32> = x.iter().zip(residual).map(|(a, r)| a + r).collect();
    layer_norm_inplace(&mut out, w, b, eps, n);
    out
}

pub fn layer_norm(x: &[f32], w: &[f32], b: &[f32], eps: f32, n: usize) -> Vec<f32> {
    let mut out = x.to_vec();
    layer_norm_inplace(&mut out, w, b, eps, n);
    out
}

fn layer_norm_inplace(x: &mut [f32], w: &[f32], b: &[f32], eps: f32, n: usize) {
    for row in x.chunks_exact_mut(n) {
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        let inv = 1.0 / (var + eps as f64).sqrt();
        for (j, v) in row.iter_mut().enumerate() {
            *v = ((*v as f64 - mean) * inv) as f32 * w[j] + b[j];
        }
    }
}

/// Rows `rows` of a `[_, width]` matrix.
pub fn gather_rows(x: &[f32], width: usize, rows: &[usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows.len() * width);
    for &r in rows {
        out.extend_from_slice(&x[r * width..(r + 1) * width]);
    }
    out
}

/// Mean over rows with `mask` = 1 of ‖cur − prev‖₂ and of cos(cur, prev) (torch's
/// cosine_similarity, eps 1e-8), rows of `width`.
pub fn drift(prev: &[f32], cur: &[f32], mask: &[u32], width: usize) -> [f32; 2] {
    let (mut l2, mut cos, mut n) = (0f64, 0f64, 0usize);
    for ((a, b), _) in cur.chunks_exact(width).zip(prev.chunks_exact(width)).zip(mask).filter(|(_, &m)| m == 1) {
        let (mut dot, mut aa, mut bb, mut dd) = (0f64, 0f64, 0f64, 0f64);
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (x as f64, y as f64);
            dot += x * y;
            aa += x * x;
            bb += y * y;
            dd += (x - y) * (x - y);
        }
        l2 += dd.sqrt();
        cos += dot / (aa.sqrt().max(1e-8) * bb.sqrt().max(1e-8));
        n += 1;
    }
    let n = n.max(1) as f64;
    [(l2 / n) as f32, (cos / n) as f32]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x `[m, k]`, w `[n, k]`, b `[n]` of smooth, distinct values.
    fn linear_inputs(m: usize, k: usize, n: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let x = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let w = (0..n * k).map(|i| (i as f32 * 0.11).cos()).collect();
        (x, w, (0..n).map(|i| i as f32).collect())
    }

    #[test]
    fn linear_matches_naive() {
        let (m, k, n) = (3, 5, 4);
        let (x, w, b) = linear_inputs(m, k, n);
        let y = linear(&x, m, k, &w, &b, n, Activation::Linear);
        for i in 0..m {
            for j in 0..n {
                let want: f32 = b[j] + (0..k).map(|kk| x[i * k + kk] * w[j * k + kk]).sum::<f32>();
                assert!((y[i * n + j] - want).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn transposed_linear_equals_linear() {
        let (m, k, n) = (5, 7, 3);
        let (x, w, b) = linear_inputs(m, k, n);
        let want = linear(&x, m, k, &w, &b, n, Activation::Relu);
        assert_eq!(linear_t(&x, m, k, &transpose(&w, n, k), &b, n, Activation::Relu), want);
    }

    #[test]
    fn tanh_fast_tracks_libm_and_gelu_new_tracks_the_formula() {
        let mut worst = 0.0f32;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4; // [-20, 20], dense around 0
            worst = worst.max((tanh_fast(x) - x.tanh()).abs());
        }
        for x in [0.0f32, -0.0, 1e-30, -1e-30, f32::MAX, f32::MIN, 88.0, -88.0] {
            worst = worst.max((tanh_fast(x) - x.tanh()).abs());
        }
        assert!(worst <= 2.4e-7, "tanh_fast max |Δ| {worst:e}");
        let xs: Vec<f32> = (-3000..=3000).map(|i| i as f32 * 3e-3).collect();
        let mut y = xs.clone();
        act_slice(&mut y, Activation::GeluNew);
        let d = xs.iter().zip(&y).map(|(&x, &g)| (g - act(x, Activation::GeluNew)).abs()).fold(0.0, f32::max);
        assert!(d <= 1e-6, "gelu_new via tanh_fast max |Δ| {d:e}");
    }

    #[test]
    fn masked_keys_get_zero_probability() {
        let (t, d) = (3, 2);
        let q: Vec<f32> = (0..t * d).map(|i| i as f32 * 0.1).collect();
        let p = attention_probs(&q, &q, &[1, 1, 0], 1, t, 1, d);
        for r in 0..t {
            assert_eq!(p[r * t + 2], 0.0);
            assert!((p[r * t] + p[r * t + 1] - 1.0).abs() < 1e-6);
        }
    }
}

