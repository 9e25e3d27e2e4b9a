//! CPU reference ops (f32). Each has a GPU twin of the same name in `gpu::ops` and a kernel
//! test comparing the two; the math follows transformers' modeling_albert.py line by line.

use super::matmul::linear_strided;
use super::math::{exp_accurate, tanh_accurate};
use super::parallel::{par_chunks_mut, par_for, SyncPtr};
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

/// `act` over a slice. gelu_new (ALBERT's activation, on every FFN element) goes through
/// `tanh_accurate`, a branch-free tanh within 1 ulp that the compiler vectorizes: libm's scalar
/// tanhf was a fifth of a CPU forward. torch's own vectorized tanh is Sleef's (≤ 1 ulp).
pub fn act_slice(y: &mut [f32], a: Activation) {
    match a {
        Activation::Linear => {}
        Activation::GeluNew => {
            let c = (2.0 / std::f32::consts::PI).sqrt();
            for v in y.iter_mut() {
                let x = *v;
                *v = 0.5 * x * (1.0 + tanh_accurate(c * (x + 0.044715 * x * x * x)));
            }
        }
        _ => y.iter_mut().for_each(|v| *v = act(*v, a)),
    }
}

/// Scaled, masked softmax of `q·kᵀ` per sequence and head: q, k `[b·t, H]` → `[b, heads, t, t]`.
/// Masked keys get probability 0, as transformers' `finfo.min` additive mask gives after softmax.
/// Heads run in parallel (12 independent t×t blocks; one thread each, far too small to split).
pub fn attention_probs(q: &[f32], k: &[f32], mask: &[u32], b: usize, t: usize, heads: usize, d: usize) -> Vec<f32> {
    let h = heads * d;
    let scale = 1.0 / (d as f32).sqrt();
    let mut probs = vec![0.0f32; b * heads * t * t];
    par_chunks_mut(&mut probs, t * t, |bh, p| {
        let (bi, hi) = (bh / heads, bh % heads);
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
    });
    probs
}

fn softmax_masked(row: &mut [f32], mask: &[u32]) {
    let max = masked_max(row, mask);
    if max == f32::NEG_INFINITY {
        // Every key masked: torch's finfo.min mask makes all scores equal, i.e. uniform.
        let u = 1.0 / row.len() as f32;
        row.iter_mut().for_each(|x| *x = u);
        return;
    }
    // exp_accurate, not libm's scalar expf: t² exponentials a head (at n = 512, 38 million a
    // forward), and the select instead of a branch keeps the loop vectorized.
    for (x, &m) in row.iter_mut().zip(mask) {
        let e = exp_accurate(*x - max);
        *x = if m != 0 { e } else { 0.0 };
    }
    let sum = lane_sum(row);
    for x in row.iter_mut() {
        *x /= sum;
    }
}

/// Lanes of partial results in `masked_max` and `lane_sum`: plain folds are one dependency chain
/// (a float sum cannot be reordered by the compiler, and `f32::max`'s NaN rule is a branch), and
/// the scores' max and sum were most of the softmax's time at n = 512 (perf).
const LANES: usize = 8;

/// The largest score of an unmasked key; −∞ when every key is masked.
fn masked_max(row: &[f32], mask: &[u32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    for (xs, ms) in row.chunks(LANES).zip(mask.chunks(LANES)) {
        for ((l, &x), &m) in lanes.iter_mut().zip(xs).zip(ms) {
            let v = if m != 0 { x } else { f32::NEG_INFINITY };
            *l = if v > *l { v } else { *l };
        }
    }
    lanes.into_iter().fold(f32::NEG_INFINITY, |a, b| if b > a { b } else { a })
}

/// Σ row in `LANES` interleaved partial sums (pairwise-like, so no less accurate than one chain).
fn lane_sum(row: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    for xs in row.chunks(LANES) {
        for (l, &x) in lanes.iter_mut().zip(xs) {
            *l += x;
        }
    }
    lanes.iter().sum()
}

/// `probs · v` per sequence and head, heads concatenated: → `[b·t, H]`; heads in parallel.
pub fn attention_context(probs: &[f32], v: &[f32], b: usize, t: usize, heads: usize, d: usize) -> Vec<f32> {
    let h = heads * d;
    assert!(probs.len() >= b * heads * t * t && v.len() >= b * t * h);
    let mut ctx = vec![0.0f32; b * t * h];
    let cp = SyncPtr(ctx.as_mut_ptr());
    par_for(b * heads, |bh| {
        let (bi, hi) = (bh / heads, bh % heads);
        let p = &probs[bh * t * t..];
        let o = bi * t * h + hi * d;
        // SAFETY: as in attention_probs; the output block is t×d with row stride h, columns
        // hi·d..(hi+1)·d of this sequence's rows: disjoint between heads.
        unsafe {
            matrixmultiply::sgemm(
                t, t, d, 1.0, p.as_ptr(), t as isize, 1, v[o..].as_ptr(), h as isize, 1, 0.0,
                cp.get().add(o), h as isize, 1,
            );
        }
    });
    ctx
}

/// Self-attention without the maps: `attention_context(attention_probs(q, k), v)`. The twin of
/// the GPU's fused kernel, which never writes the probabilities out.
#[allow(clippy::too_many_arguments)]
pub fn attention(q: &[f32], k: &[f32], v: &[f32], mask: &[u32], b: usize, t: usize, heads: usize, d: usize) -> Vec<f32> {
    attention_context(&attention_probs(q, k, mask, b, t, heads, d), v, b, t, heads, d)
}

/// `LayerNorm(x + residual)` row by row over `n` features (the sum fused into the norm's pass).
pub fn add_layer_norm(x: &[f32], residual: &[f32], w: &[f32], b: &[f32], eps: f32, n: usize) -> Vec<f32> {
    assert_eq!(x.len(), residual.len());
    let mut out = x.to_vec();
    par_chunks_mut(&mut out, n * LAYER_NORM_ROWS, |c, rows| {
        let r = &residual[c * n * LAYER_NORM_ROWS..][..rows.len()];
        rows.iter_mut().zip(r).for_each(|(v, r)| *v += r);
        layer_norm_rows(rows, w, b, eps, n);
    });
    out
}

pub fn layer_norm(x: &[f32], w: &[f32], b: &[f32], eps: f32, n: usize) -> Vec<f32> {
    let mut out = x.to_vec();
    layer_norm_inplace(&mut out, w, b, eps, n);
    out
}

/// Rows a LayerNorm task takes: 16 × 768 features is ~10 µs of work, above a hand-off's cost.
const LAYER_NORM_ROWS: usize = 16;

fn layer_norm_inplace(x: &mut [f32], w: &[f32], b: &[f32], eps: f32, n: usize) {
    par_chunks_mut(x, n * LAYER_NORM_ROWS, |_, rows| layer_norm_rows(rows, w, b, eps, n));
}

fn layer_norm_rows(x: &mut [f32], w: &[f32], b: &[f32], eps: f32, n: usize) {
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

/// The mean over heads of attention maps `[b, heads, t, t]` → `[b, t, t]`: summed in head
/// order, then divided (head_mean.wgsl does the same).
pub fn head_mean(probs: &[f32], b: usize, heads: usize, t: usize) -> Vec<f32> {
    let tt = t * t;
    let mut out = vec![0f32; b * tt];
    for (o, maps) in out.chunks_exact_mut(tt.max(1)).zip(probs.chunks_exact((heads * tt).max(1))) {
        for head in maps.chunks_exact(tt.max(1)) {
            o.iter_mut().zip(head).for_each(|(a, &v)| *a += v);
        }
        o.iter_mut().for_each(|a| *a /= heads.max(1) as f32);
    }
    out
}

/// Each of `maps` `t × t` matrices reduced to at most `max × max` by the largest value of each
/// block (`output::pooled_side`), so a sharp peak stays visible in a thumbnail; the new side.
/// NaN never wins a block, and a block of NaNs reads 0 (max_pool.wgsl does the same).
pub fn max_pool(m: &[f32], maps: usize, t: usize, max: usize) -> (Vec<f32>, usize) {
    let (f, n) = crate::output::pooled_side(t, max);
    let mut out = vec![f32::NEG_INFINITY; maps * n * n];
    for (o, map) in out.chunks_exact_mut((n * n).max(1)).zip(m.chunks_exact((t * t).max(1))) {
        for (r, row) in map.chunks_exact(t).enumerate() {
            let o = &mut o[(r / f) * n..(r / f + 1) * n];
            for (c, &v) in row.iter().enumerate() {
                if v > o[c / f] {
                    o[c / f] = v;
                }
            }
        }
    }
    out.iter_mut().filter(|v| **v == f32::NEG_INFINITY).for_each(|v| *v = 0.0);
    (out, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_pool_keeps_each_blocks_peak_and_head_mean_averages() {
        // 5 × 5 to at most 2 × 2: blocks of 3 (the last one 2 wide).
        let mut m = vec![0.0f32; 25];
        m[0] = 0.5; // block (0, 0)
        m[4] = 0.9; // row 0, col 4: block (0, 1)
        m[3 * 5 + 1] = 0.7; // row 3, col 1: block (1, 0)
        m[24] = f32::NAN; // never wins: block (1, 1) reads 0
        assert_eq!(max_pool(&m, 1, 5, 2), (vec![0.5, 0.9, 0.7, 0.0], 2));
        // Short maps keep their side (blocks of one); two maps pool independently.
        let two = [vec![0.25f32; 4], vec![0.75; 4]].concat();
        assert_eq!(max_pool(&two, 2, 2, 64), (two.clone(), 2));
        assert_eq!(crate::output::pooled_side(130, 64), (3, 44));
        assert_eq!(crate::output::pooled_side(128, 64), (2, 64));
        // Two heads of 2 × 2 → their mean; a batch of two keeps its sequences apart.
        assert_eq!(head_mean(&[1.0, 0.0, 0.5, 0.5, 0.0, 1.0, 0.5, 0.5], 1, 2, 2), vec![0.5, 0.5, 0.5, 0.5]);
        assert_eq!(head_mean(&[1.0, 2.0], 2, 1, 1), vec![1.0, 2.0]);
    }

    #[test]
    fn gelu_new_is_within_a_few_ulp_of_f64() {
        // 0.5·x·(1 + tanh(·)) in f32 (as torch computes it) adds a few roundings, and for
        // negative x, 1 + tanh cancels: its error is a fraction of ulp(1) times |x|. So the bound
        // is relative to max(|gelu(x)|, |x|): relative error where gelu ≈ x, |x|·ε where it
        // vanishes.
        const GELU_MAX_REL: f64 = 2.0 * f32::EPSILON as f64;
        let xs: Vec<f32> = (-60_000..=60_000).map(|i| i as f32 * 1e-4).collect();
        let mut y = xs.clone();
        act_slice(&mut y, Activation::GeluNew);
        let exact = |x: f64| 0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh());
        let worst = xs.iter().zip(&y).map(|(&x, &g)| (g as f64 - exact(x as f64)).abs() / exact(x as f64).abs().max(x.abs() as f64).max(f64::MIN_POSITIVE)).fold(0.0, f64::max);
        assert!(worst <= GELU_MAX_REL, "gelu_new relative error {worst:e}");
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
