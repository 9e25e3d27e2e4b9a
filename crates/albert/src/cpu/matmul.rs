//! The CPU's matrix products, `y = act(x·B + b)`: the output's columns split into one block a
//! thread, each a matrixmultiply call, or for a few rows (one sentence's [MASK] rows, a short
//! input) register-tiled loops that read the weight in place instead of packing it. `ops::linear`
//! (torch's `[out, in]` weight, the GPU kernel's twin) and the model's `[in, out]` layout both
//! land here.

use super::ops::act_slice;
use super::parallel::{par_for, threads, SyncPtr};
use crate::config::Activation;

/// `linear` with the weight transposed once at load, `wt` `[k, n]`: the model's layout, since
/// matrixmultiply packs a row-major `[k, n]` operand with unit-stride reads (with torch's
/// `[n, k]` every packed element is a strided load, and packing was a fifth of the forward).
pub fn linear_t(x: &[f32], m: usize, k: usize, wt: &[f32], b: &[f32], n: usize, a: Activation) -> Vec<f32> {
    linear_strided(x, m, k, wt, (n as isize, 1), b, n, a)
}

/// Columns `cols` of `linear_t`'s output, `[m, cols.len()]`: one chunk of a product split over
/// threads that do not share memory (`team`).
#[allow(clippy::too_many_arguments)]
pub fn linear_t_columns(x: &[f32], m: usize, k: usize, wt: &[f32], b: &[f32], n: usize, cols: std::ops::Range<usize>, a: Activation) -> Vec<f32> {
    assert_eq!(wt.len(), n * k);
    assert!(cols.start <= cols.end && cols.end <= n, "columns {cols:?} of {n}");
    linear_strided(x, m, k, &wt[cols.start..], (n as isize, 1), &b[cols.clone()], cols.len(), a)
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
/// `[n, k]` weight, `(n, 1)` for its transpose). The output columns are split into one block a
/// thread, each a single-threaded matrixmultiply call that packs only its own part of the weight
/// and applies the bias and activation to its block while it is in cache. (matrixmultiply's own
/// threading splits rows, 64 at a time: a short sentence ran on one core.)
#[allow(clippy::too_many_arguments)]
pub(super) fn linear_strided(x: &[f32], m: usize, k: usize, w: &[f32], (rs, cs): (isize, isize), b: &[f32], n: usize, a: Activation) -> Vec<f32> {
    assert_eq!(x.len(), m * k);
    // w holds B's last element, w[(k−1)·rs + (n−1)·cs] (a view of a wider weight may hold more).
    assert!(n == 0 || k == 0 || (k - 1) * (rs as usize) + (n - 1) * (cs as usize) < w.len());
    assert_eq!(b.len(), n);
    let mut y = vec![0.0f32; m * n];
    let blocks = column_blocks(m, k, n);
    let yp = SyncPtr(y.as_mut_ptr());
    par_for(blocks, |blk| {
        let (j0, j1) = block_range(n, blocks, blk);
        for i in 0..m {
            // SAFETY: row i's columns j0..j1 of the m×n output; blocks are disjoint column ranges.
            unsafe { std::slice::from_raw_parts_mut(yp.get().add(i * n + j0), j1 - j0) }.copy_from_slice(&b[j0..j1]);
        }
        if m > 0 && j1 > j0 && k > 0 && m <= FEW_ROWS && few_rows(x, m, k, w, (rs, cs), n, (j0, j1), yp) {
            // Done without packing (see `few_rows`).
        } else if m > 0 && j1 > j0 && k > 0 {
            // SAFETY: x holds m×k elements and w holds B's last element, as asserted; column j0 of B
            // starts at w[j0·cs] and the block's last element, w[(k−1)·rs + (j1−1)·cs], lies inside
            // w; y's block as above.
            unsafe {
                matrixmultiply::sgemm(
                    m, k, j1 - j0, 1.0, x.as_ptr(), k as isize, 1, w.as_ptr().offset(j0 as isize * cs), rs, cs, 1.0,
                    yp.get().add(j0), n as isize, 1,
                );
            }
        }
        for i in 0..m {
            // SAFETY: as above.
            act_slice(unsafe { std::slice::from_raw_parts_mut(yp.get().add(i * n + j0), j1 - j0) }, a);
        }
    });
    y
}

/// Products with at most this many rows go through `few_rows` (natively where the CPU has AVX2
/// and FMA; always in wasm). matrixmultiply packs the whole weight block for every call, which
/// is the same work whether it is then used for 8 rows or 512: at n = 8 packing was 61 % of a
/// forward (perf), the multiply-adds 24 %. (In wasm, more rows through `few_rows` were slower:
/// 1.7 s instead of 1.2 s for albert-base at 128 tokens with every product there.)
const FEW_ROWS: usize = 16;

/// `y[i, j0..j1] += Σ_kk x[i, kk]·B[kk, j]` for every row i < m, reading the weight in place:
/// for the `[k, n]` layout (`cs` = 1) a register tile of 4 rows × 16 columns per pass over k, for
/// torch's `[n, k]` layout (`rs` = 1, the tied decoder) one dot product per output. Returns false
/// (nothing done) where the layout is neither, or natively where the CPU lacks AVX2 + FMA. In
/// wasm the same loops run without FMA (wasm has none without relaxed SIMD, which not every
/// browser has), vectorized by simd128: packing the tied decoder's 30000 × 128 strided weight
/// for one [MASK] row cost more than the product.
#[allow(clippy::too_many_arguments)]
fn few_rows(x: &[f32], m: usize, k: usize, w: &[f32], (rs, cs): (isize, isize), n: usize, (j0, j1): (usize, usize), y: SyncPtr) -> bool {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the features are present; the callers' bounds are those of linear_strided.
        unsafe {
            if cs == 1 && rs >= n as isize {
                few_rows_kn(x, m, k, w, rs as usize, n, j0, j1, y.get());
                return true;
            }
            if rs == 1 && cs == k as isize {
                few_rows_nk(x, m, k, w, n, j0, j1, y.get());
                return true;
            }
        }
    }
    #[cfg(target_arch = "wasm32")]
    // SAFETY: the callers' bounds are those of linear_strided.
    unsafe {
        if cs == 1 && rs >= n as isize {
            few_rows_kn_impl::<false>(x, m, k, w, rs as usize, n, j0, j1, y.get());
            return true;
        }
        if rs == 1 && cs == k as isize {
            few_rows_nk_impl::<false>(x, m, k, w, n, j0, j1, y.get());
            return true;
        }
    }
    let _ = (x, m, k, w, rs, cs, n, j0, j1, y);
    false
}

/// `few_rows` for the `[k, n]` weight: tiles of `MR` rows × `NR` columns held in registers (8 of
/// AVX2's 16 ymm: 4 broadcasts and 2 loads feed 8 FMAs), accumulated straight into y, `KB` rows
/// of the weight at a time: a `KB` × 16 weight block (2 KB) is read from memory once and reused
/// from L1 by every row group, and the weight streams by in `KB` sequential runs (a whole column
/// strip of 768 rows at once was memory-latency bound: slower than packing). Tail columns one at
/// a time. The weight's rows are `ws` apart: `n`, or more for a column view of a wider weight.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn few_rows_kn(x: &[f32], m: usize, k: usize, w: &[f32], ws: usize, n: usize, j0: usize, j1: usize, y: *mut f32) {
    few_rows_kn_impl::<true>(x, m, k, w, ws, n, j0, j1, y)
}

/// `few_rows_kn`'s loops, with `FMA` multiply-adds or plain ones.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn few_rows_kn_impl<const FMA: bool>(x: &[f32], m: usize, k: usize, w: &[f32], ws: usize, n: usize, j0: usize, j1: usize, y: *mut f32) {
    const MR: usize = 4;
    const NR: usize = 16;
    const KB: usize = 32;
    let full = j0 + (j1 - j0) / NR * NR;
    for k0 in (0..k).step_by(KB) {
        let k1 = (k0 + KB).min(k);
        for j in (j0..full).step_by(NR) {
            let mut i = 0;
            while i + MR <= m {
                tile::<MR, NR, FMA>(x, i, k, (k0, k1), (w, ws), n, j, y);
                i += MR;
            }
            while i < m {
                tile::<1, NR, FMA>(x, i, k, (k0, k1), (w, ws), n, j, y);
                i += 1;
            }
        }
    }
    for jj in full..j1 {
        for i in 0..m {
            let dot = (0..k).fold(0.0f32, |acc, kk| madd::<FMA>(x[i * k + kk], w[kk * ws + jj], acc));
            *y.add(i * n + jj) += dot;
        }
    }
}

/// One `R × C` tile of `few_rows_kn` over weight rows k0..k1: y[i..i+R, j..j+C] += x[i..i+R,
/// k0..k1] · w[k0..k1, j..j+C].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<const R: usize, const C: usize, const FMA: bool>(x: &[f32], i: usize, k: usize, (k0, k1): (usize, usize), (w, ws): (&[f32], usize), n: usize, j: usize, y: *mut f32) {
    let mut acc = [[0.0f32; C]; R];
    for (r, row) in acc.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = *y.add((i + r) * n + j + c);
        }
    }
    for kk in k0..k1 {
        let wr: &[f32; C] = w[kk * ws + j..kk * ws + j + C].try_into().unwrap();
        for r in 0..R {
            let xv = x[(i + r) * k + kk];
            for c in 0..C {
                acc[r][c] = madd::<FMA>(xv, wr[c], acc[r][c]);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            *y.add((i + r) * n + j + c) = *v;
        }
    }
}

/// `few_rows` for torch's `[n, k]` weight (the decoder tied to the word embeddings, 30000 × E
/// at one [MASK] row): a dot product a row and output, 16 lanes of partial sums.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn few_rows_nk(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, j0: usize, j1: usize, y: *mut f32) {
    few_rows_nk_impl::<true>(x, m, k, w, n, j0, j1, y)
}

/// `a·b + c`: fused (one rounding) where `FMA`, else a multiply and an add.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `few_rows_nk`'s loops, with `FMA` multiply-adds or plain ones.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn few_rows_nk_impl<const FMA: bool>(x: &[f32], m: usize, k: usize, w: &[f32], n: usize, j0: usize, j1: usize, y: *mut f32) {
    const L: usize = 16;
    for j in j0..j1 {
        let wr = &w[j * k..(j + 1) * k];
        for i in 0..m {
            let xr = &x[i * k..(i + 1) * k];
            let mut lanes = [0.0f32; L];
            let mut kk = 0;
            while kk + L <= k {
                for l in 0..L {
                    lanes[l] = madd::<FMA>(xr[kk + l], wr[kk + l], lanes[l]);
                }
                kk += L;
            }
            let mut dot = lanes.iter().sum::<f32>();
            for t in kk..k {
                dot = madd::<FMA>(xr[t], wr[t], dot);
            }
            *y.add(i * n + j) += dot;
        }
    }
}

/// Column blocks of a `[m, k] · [k, n]` product: one a thread, at least `BLOCK_COLUMNS` wide, and
/// one in all when the product is too small to be worth a thread hand-off.
pub(super) fn column_blocks(m: usize, k: usize, n: usize) -> usize {
    // Below ~100k multiply-adds (tens of µs) waking a second thread costs about what it saves.
    const MIN_PARALLEL_MACS: usize = 1 << 17;
    if m * k * n < MIN_PARALLEL_MACS {
        return 1;
    }
    threads().min(n / BLOCK_COLUMNS).max(1)
}

/// Blocks are multiples of this many columns (matrixmultiply's widest f32 kernel is 16 wide), so
/// no block ends in a partial kernel tile except the last.
const BLOCK_COLUMNS: usize = 16;

/// Columns `[j0, j1)` of block `blk` of `blocks` over `n` columns.
pub(super) fn block_range(n: usize, blocks: usize, blk: usize) -> (usize, usize) {
    let per = n.div_ceil(blocks).div_ceil(BLOCK_COLUMNS) * BLOCK_COLUMNS;
    ((blk * per).min(n), ((blk + 1) * per).min(n))
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::ops::linear;

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

    /// The few-rows loops without FMA (wasm's) against an f64 product, on both layouts, a column
    /// view of a wider weight (ws > n) and tail columns.
    #[test]
    fn few_rows_without_fma_match_f64() {
        let (m, k, n, ws) = (5, 37, 45, 61);
        let x: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) / 7.0).collect();
        let wide: Vec<f32> = (0..k * ws).map(|i| ((i * 5 % 11) as f32 - 5.0) / 9.0).collect();
        let exact = |i: usize, j: usize, w: &dyn Fn(usize, usize) -> f32| (0..k).map(|kk| x[i * k + kk] as f64 * w(kk, j) as f64).sum::<f64>();
        let mut y = vec![0.0f32; m * n];
        // SAFETY: x is m×k, wide is k×ws with ws ≥ n, y is m×n.
        unsafe { few_rows_kn_impl::<false>(&x, m, k, &wide, ws, n, 0, n, y.as_mut_ptr()) };
        let nt: Vec<f32> = (0..n * k).map(|i| wide[(i % k) * ws + i / k]).collect();
        let mut z = vec![0.0f32; m * n];
        // SAFETY: nt is n×k.
        unsafe { few_rows_nk_impl::<false>(&x, m, k, &nt, n, 0, n, z.as_mut_ptr()) };
        for i in 0..m {
            for j in 0..n {
                let e = exact(i, j, &|kk, j| wide[kk * ws + j]);
                assert!((y[i * n + j] as f64 - e).abs() < 1e-5, "[k, n] ({i}, {j}): {} vs {e}", y[i * n + j]);
                assert!((z[i * n + j] as f64 - e).abs() < 1e-5, "[n, k] ({i}, {j}): {} vs {e}", z[i * n + j]);
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
    fn parallel_column_blocks_equal_one_block() {
        // A product big enough to split, with a column count that is not a multiple of the block.
        let (m, k, n) = (9, 130, 301);
        let (x, w, b) = linear_inputs(m, k, n);
        let wt = transpose(&w, n, k);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let split = pool.install(|| (column_blocks(m, k, n), linear_t(&x, m, k, &wt, &b, n, Activation::GeluNew)));
        let single = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let whole = single.install(|| (column_blocks(m, k, n), linear_t(&x, m, k, &wt, &b, n, Activation::GeluNew)));
        assert_eq!((split.0, whole.0), (3, 1));
        // Each element's dot product is the same sequence of operations whichever block holds it.
        assert_eq!(split.1, whole.1);
        for blocks in 1..=5 {
            let ranges: Vec<_> = (0..blocks).map(|i| block_range(n, blocks, i)).collect();
            assert_eq!((ranges[0].0, ranges[blocks - 1].1), (0, n));
            assert!(ranges.windows(2).all(|r| r[0].1 == r[1].0));
        }
    }
}
