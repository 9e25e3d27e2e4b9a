//! Each WGSL kernel against its CPU twin (`gpu::ops::x` vs `cpu::ops::x`) on awkward shapes:
//! sizes that are not multiples of the 64×64×16 tiles or the 128-thread workgroups, 1-token
//! inputs, padding, and f16 weights.

mod common;
use albert::config::Activation;
use albert::weights::{Tensor, TensorData};
use albert::gpu::Tuning;
use albert::{cpu, gpu::ops, Batch, DType};
use common::*;
use half::f16;

fn tensor(v: &[f32], shape: &[usize], dtype: DType) -> Tensor {
    let data = match dtype {
        DType::F32 => TensorData::F32(v.to_vec()),
        DType::F16 => TensorData::F16(v.iter().map(|&x| f16::from_f32(x)).collect()),
    };
    Tensor { name: "test".into(), shape: shape.to_vec(), data }
}

fn report(what: &str, d: f32, tol: f32) {
    eprintln!("{what}: max |Δ| {d:.2e}");
    assert!(d <= tol, "{what}: {d:e} > {tol:e}");
}

#[test]
fn linear_on_awkward_shapes_and_every_activation() {
    let Some(g0) = gpu() else { return };
    // Emulated kernels: m ≤ 8 runs linear_gemv_short_k (k ≤ 256) or linear_gemv, 9..=48
    // linear_small, more the 64×64 linear. Real GPUs' kernels: m ≤ 64 linear_gemv_wide, more
    // the 64×64 linear, split over K (slices, then linear_split_sum) when few tiles cover the
    // output and K is long: (300, 520, 70) in 4 slices, the last shorter; (257, 3000, 33) in 21;
    // (100, 300, 40) in 2; (270, 64, 3) unsplit. Each on odd sizes, across workgroup edges (64, 16 and 4 columns; 8
    // rows) and K below, at and past the wide kernel's 64 lanes.
    let shapes = [(1, 1, 1), (1, 128, 768), (3, 17, 5), (2, 256, 130), (8, 1000, 9), (5, 257, 17), (9, 40, 70), (48, 33, 65), (65, 33, 130), (128, 16, 64), (7, 300, 1000), (200, 64, 3), (64, 64, 7), (17, 129, 6), (300, 520, 70), (257, 3000, 33), (100, 300, 40), (270, 64, 3)];
    for ((si, &(m, k, n)), tuning) in shapes.iter().enumerate().flat_map(|s| [(s, Tuning::Emulated), (s, Tuning::Gpu)]) {
        let g = &g0.with_tuning(tuning);
        for dtype in [DType::F32, DType::F16] {
            let x = rand_vec(m * k, si as u64, 1.0);
            // f16 weights: the CPU sees the same rounded values, so only the math differs.
            let w = tensor(&rand_vec(n * k, 100 + si as u64, 0.3), &[n, k], dtype);
            let b = tensor(&rand_vec(n, 200 + si as u64, 0.5), &[n], dtype);
            let want = cpu::ops::linear(&x, m, k, &w.to_f32(), &b.to_f32(), n, Activation::GeluNew);
            let got = pollster::block_on(ops::linear(g, &x, m, k, &w, &b, n, Activation::GeluNew)).unwrap();
            report(&format!("linear m={m} k={k} n={n} {dtype:?} {tuning:?}"), max_abs_diff(&got, &want), KERNEL * (k as f32).sqrt().max(1.0));
        }
    }
    // Every activation code agrees with the CPU's formulas over a wide input range.
    let g = g0;
    let (m, k, n) = (4, 1, 64);
    let x: Vec<f32> = (0..m * k).map(|i| i as f32).collect();
    let w = tensor(&(0..n).map(|j| (j as f32 - 32.0) / 4.0).collect::<Vec<_>>(), &[n, k], DType::F32);
    let b = tensor(&vec![0.0; n], &[n], DType::F32);
    for name in albert::config::ACTIVATION_NAMES {
        let a = Activation::from_name(name).unwrap();
        let want = cpu::ops::linear(&x, m, k, &w.to_f32(), &b.to_f32(), n, a);
        let got = pollster::block_on(ops::linear(g, &x, m, k, &w, &b, n, a)).unwrap();
        let d = got.iter().zip(&want).map(|(g, w)| (g - w).abs() / w.abs().max(1.0)).fold(0.0, f32::max);
        report(&format!("activation {name}"), d, 1e-5);
    }
}

#[test]
fn embeddings_with_padding_and_types() {
    let Some(g) = gpu() else { return };
    for (dtype, e) in [(DType::F32, 16), (DType::F16, 130), (DType::F32, 1)] {
        let (v, p, tv) = (50, 20, 2);
        let batch = Batch::padded(&[(vec![2, 7, 49, 3, 11, 3], vec![0, 0, 0, 0, 1, 1]), (vec![2, 4, 3], vec![0, 0, 0])], 0);
        let word = tensor(&rand_vec(v * e, 1, 1.0), &[v, e], dtype);
        let pos = tensor(&rand_vec(p * e, 2, 1.0), &[p, e], dtype);
        let ty = tensor(&rand_vec(tv * e, 3, 1.0), &[tv, e], dtype);
        let lw = tensor(&rand_vec(e, 4, 1.0), &[e], dtype);
        let lb = tensor(&rand_vec(e, 5, 1.0), &[e], dtype);
        let want = cpu::ops::embeddings(&batch, &word.to_f32(), &pos.to_f32(), &ty.to_f32(), &lw.to_f32(), &lb.to_f32(), 1e-12, e);
        let got = pollster::block_on(ops::embeddings(g, &batch, &word, &pos, &ty, &lw, &lb, 1e-12, e)).unwrap();
        report(&format!("embeddings e={e} {dtype:?}"), max_abs_diff(&got, &want), KERNEL);
    }
}

#[test]
fn attention_probs_and_context_on_awkward_shapes() {
    let Some(g) = gpu() else { return };
    // (batch, seq, heads, head_dim): 1 token, seq beyond the 128-thread workgroup, odd dims.
    for (b, t, heads, d) in [(1, 1, 1, 1), (2, 5, 3, 7), (1, 130, 2, 8), (3, 17, 4, 64), (1, 257, 1, 5)] {
        let h = heads * d;
        let q = rand_vec(b * t * h, 11, 2.0);
        let k = rand_vec(b * t * h, 12, 2.0);
        let v = rand_vec(b * t * h, 13, 1.0);
        // The last sequence ends in padding; the first is full.
        let mask: Vec<u32> = (0..b * t).map(|i| u32::from(!(i / t == b - 1 && b > 1 && i % t >= t - 2))).collect();
        let want = cpu::ops::attention_probs(&q, &k, &mask, b, t, heads, d);
        let got = pollster::block_on(ops::attention_probs(g, &q, &k, &mask, b, t, heads, d)).unwrap();
        report(&format!("attention_probs b={b} t={t} heads={heads} d={d}"), max_abs_diff(&got, &want), KERNEL / 10.0);
        let want_ctx = cpu::ops::attention_context(&want, &v, b, t, heads, d);
        let got_ctx = pollster::block_on(ops::attention_context(g, &want, &v, b, t, heads, d)).unwrap();
        report(&format!("attention_context b={b} t={t} heads={heads} d={d}"), max_abs_diff(&got_ctx, &want_ctx), KERNEL);
    }
}

#[test]
fn fused_attention_on_awkward_shapes() {
    let Some(g) = gpu() else { return };
    // Head dims that split the 128 threads evenly (8, 64), unevenly (7, 48) or not at all
    // (130 > 128); sequences of 1 token, beyond one workgroup, and at the kernel's MAX_T.
    // Real GPUs' kernel (attention_flash, heads up to 64 wide) too: sequences within, at and
    // across its 16-key tiles and 8-row workgroups.
    let cases = [(1, 1, 1, 1), (2, 5, 3, 7), (1, 130, 2, 8), (3, 17, 4, 64), (2, 9, 2, 48), (1, 6, 1, 130), (1, albert::gpu::ATTENTION_MAX_T, 1, 4), (1, 16, 2, 64), (2, 33, 1, 65), (1, albert::gpu::ATTENTION_MAX_T, 2, 64)];
    let g0 = g;
    for ((b, t, heads, d), tuning) in cases.into_iter().flat_map(|c| [(c, Tuning::Emulated), (c, Tuning::Gpu)]) {
        let g = &g0.with_tuning(tuning);
        let h = heads * d;
        let q = rand_vec(b * t * h, 31, 2.0);
        let k = rand_vec(b * t * h, 32, 2.0);
        let v = rand_vec(b * t * h, 33, 1.0);
        let mask: Vec<u32> = (0..b * t).map(|i| u32::from(!(i / t == b - 1 && b > 1 && i % t >= t - 2))).collect();
        let want = cpu::ops::attention(&q, &k, &v, &mask, b, t, heads, d);
        let got = pollster::block_on(ops::attention(g, &q, &k, &v, &mask, b, t, heads, d)).unwrap();
        report(&format!("attention (fused) b={b} t={t} heads={heads} d={d} {tuning:?}"), max_abs_diff(&got, &want), KERNEL);
    }
    // Every key masked: uniform probabilities, so the context is the mean of v, as in torch.
    let (t, d) = (3, 2);
    let (q, v) = (rand_vec(t * d, 1, 1.0), rand_vec(t * d, 2, 1.0));
    let want = cpu::ops::attention(&q, &q, &v, &[0, 0, 0], 1, t, 1, d);
    for tuning in [Tuning::Emulated, Tuning::Gpu] {
        let got = pollster::block_on(ops::attention(&g0.with_tuning(tuning), &q, &q, &v, &[0, 0, 0], 1, t, 1, d)).unwrap();
        report(&format!("attention (fused) all masked {tuning:?}"), max_abs_diff(&got, &want), 1e-6);
    }
}

#[test]
fn fully_masked_rows_are_uniform_like_torch() {
    let Some(g) = gpu() else { return };
    let (t, d) = (3, 2);
    let q = rand_vec(t * d, 1, 1.0);
    let got = pollster::block_on(ops::attention_probs(g, &q, &q, &[0, 0, 0], 1, t, 1, d)).unwrap();
    let want = cpu::ops::attention_probs(&q, &q, &[0, 0, 0], 1, t, 1, d);
    assert!(want.iter().all(|&p| (p - 1.0 / 3.0).abs() < 1e-7));
    report("attention_probs all masked", max_abs_diff(&got, &want), 1e-7);
}

#[test]
fn layer_norms_and_gather() {
    let Some(g) = gpu() else { return };
    for (rows, n, dtype) in [(1, 1, DType::F32), (3, 768, DType::F16), (5, 129, DType::F32), (2, 4096, DType::F32)] {
        let x = rand_vec(rows * n, 21, 3.0);
        let r = rand_vec(rows * n, 22, 3.0);
        let w = tensor(&rand_vec(n, 23, 1.0), &[n], dtype);
        let b = tensor(&rand_vec(n, 24, 1.0), &[n], dtype);
        let want = cpu::ops::add_layer_norm(&x, &r, &w.to_f32(), &b.to_f32(), 1e-12, n);
        let got = pollster::block_on(ops::add_layer_norm(g, &x, &r, &w, &b, 1e-12, n)).unwrap();
        report(&format!("add_layer_norm rows={rows} n={n} {dtype:?}"), max_abs_diff(&got, &want), KERNEL);
        let want = cpu::ops::layer_norm(&x, &w.to_f32(), &b.to_f32(), 1e-5, n);
        let got = pollster::block_on(ops::layer_norm(g, &x, &w, &b, 1e-5, n)).unwrap();
        report(&format!("layer_norm rows={rows} n={n} {dtype:?}"), max_abs_diff(&got, &want), KERNEL);
    }
    let x = rand_vec(10 * 70, 31, 1.0);
    let rows = [9, 0, 3, 3];
    let got = pollster::block_on(ops::gather_rows(g, &x, 70, &rows)).unwrap();
    assert_eq!(got, cpu::ops::gather_rows(&x, 70, &rows));
}

#[test]
fn head_mean_and_max_pool_on_awkward_shapes() {
    let Some(g) = gpu() else { return };
    // (batch, heads, t): 1 token, one head, t across the 64-thread workgroups and the 64-cell
    // thumbnails (65, 130: blocks of 2 and 3 with a short last block), and 257 tokens.
    for (b, heads, t) in [(1, 1, 1), (2, 3, 5), (1, 12, 65), (2, 4, 130), (1, 2, 257)] {
        let probs = rand_vec(b * heads * t * t, 41 + t as u64, 1.0);
        let want = cpu::ops::head_mean(&probs, b, heads, t);
        let got = pollster::block_on(ops::head_mean(g, &probs, b, heads, t)).unwrap();
        // Summed in the same order, then one division (WGSL's `/` is within 2.5 ulp).
        report(&format!("head_mean b={b} heads={heads} t={t}"), max_abs_diff(&got, &want), 1e-6);
        for max in [1, 3, 64, 256] {
            let (want, side) = cpu::ops::max_pool(&probs, b * heads, t, max);
            let (got, got_side) = pollster::block_on(ops::max_pool(g, &probs, b * heads, t, max)).unwrap();
            assert_eq!((got_side, side), (albert::output::pooled_side(t, max).1, albert::output::pooled_side(t, max).1));
            // A maximum is one of the inputs: exact.
            assert_eq!(got, want, "max_pool b={b} heads={heads} t={t} max={max}");
        }
    }
}
