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
fn linear_strided(x: &[f32], m: usize, k: usize, w: &[f32], (rs, cs): (isize, isize), b: &[f32], n: usize, a: Activation) -> Vec<f32> {
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

/// Threads the CPU path uses: the current rayon pool natively (`cpu::with_threads`, else
/// RAYON_NUM_THREADS or every core); one in the browser.
pub fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::current_num_threads();
    #[cfg(target_arch = "wasm32")]
    1
}

/// `f(i)` for every `i < n`: on the rayon pool natively, in order in the browser.
pub(super) fn par_for(n: usize, f: impl Fn(usize) + Sync + Send) {
    #[cfg(not(target_arch = "wasm32"))]
    if n > 1 {
        use rayon::prelude::*;
        return (0..n).into_par_iter().for_each(f);
    }
    (0..n).for_each(f)
}

/// `f(i, chunk)` for every `size`-element chunk of `v`, in parallel natively.
fn par_chunks_mut(v: &mut [f32], size: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    #[cfg(not(target_arch = "wasm32"))]
    if v.len() > size {
        use rayon::prelude::*;
        return v.par_chunks_mut(size.max(1)).enumerate().for_each(|(i, c)| f(i, c));
    }
    v.chunks_mut(size.max(1)).enumerate().for_each(|(i, c)| f(i, c))
}

/// A pointer parallel blocks write disjoint parts of one output through.
#[derive(Clone, Copy)]
pub(super) struct SyncPtr(pub(super) *mut f32);
// SAFETY: every user writes disjoint elements from each thread and joins before reading.
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}
impl SyncPtr {
    /// A method, not `.0`: closures then capture the whole (Sync) wrapper, not the raw field.
    pub(super) fn get(self) -> *mut f32 {
        self.0
    }
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

/// tanh within `TANH_MAX_ULP` (0.9) ulp of the exact value (the unit test checks against f64 over
/// a dense sweep of f32), with no branches or calls, so loops over it vectorize. The earlier
/// `1 − 2/(e^{2|x|} + 1)` everywhere was 2.4e-7 from libm in absolute terms, which is hundreds of
/// ulps for small |x| (cancellation), and put the CPU path's attention 5–8× further from a
/// float64 reference than torch's float32.
/// - |x| < ln3/2 (tanh < 1/2): `x + x³·P(x²)`, P a degree-4 least-squares fit of
///   (tanh x − x)/x³ (relative error 1.1e-9);
/// - above: `(e − 1)/(e + 1)` with e = e^{2|x|}; e in f32 (`exp_accurate`, < 1 ulp), the quotient
///   in f64, so the cancellation in e − 1 and the two roundings of an f32 quotient do not add up
///   to 1.5 ulp near 1/2 (what an all-f32 version measured).
#[inline(always)]
pub fn tanh_accurate(x: f32) -> f32 {
    // |x| ≥ 9 rounds to ±1 in f32; the clamp also keeps exp finite. A compare and select, not
    // `f32::min`: wasm's min has another NaN rule, so LLVM made `min` a call to fminf per lane
    // and the loop scalar (gelu_new ran at a third of its speed in V8). Same result, NaN included.
    let a = x.abs();
    let a = if a < 9.0 { a } else { 9.0 };
    let s = a * a;
    let small = a + a * s * (-0.333_333_17 + s * (0.133_325_72 + s * (-0.053_851_1 + s * (0.021_067_652 + s * -0.006_269_629))));
    let e = exp_accurate(2.0 * a) as f64;
    let large = ((e - 1.0) / (e + 1.0)) as f32;
    // Both are computed, then selected: a blend, which vectorizes, instead of a branch.
    let t = if a < 0.549_306_1 { small } else { large };
    t.copysign(x)
}

/// e^x within `EXP_MAX_ULP` (the unit test checks against f64) for x ≤ 88 (what `tanh_accurate`
/// and the softmax need; below −87.3, where e^x leaves the normal range, it returns e^−87.3 ≈
/// 1.2e-38 instead of a subnormal or 0: no probability or tanh can tell). x = n·ln2 + r,
/// |r| ≤ ln2/2 (ln2 in two parts, so r is exact), e^r by its degree-7 Taylor polynomial
/// (truncation 5e-9 relative), 2^n from the exponent bits. Branch-free, so loops vectorize.
#[inline(always)]
pub fn exp_accurate(x: f32) -> f32 {
    // A select, not `f32::max` (see `tanh_accurate`): NaN gives −87.3 either way.
    let x = if x > -87.3 { x } else { -87.3 };
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5·2²³ rounds to the nearest integer without a rounding instruction (SSE2 has none),
    // and leaves that integer in the low mantissa bits: 2^n comes from integer ops, where
    // `n as i32` (a saturating cast) would be done one lane at a time.
    const ROUND: f32 = 12_582_912.0;
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let n = t - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // 1 + (r + r²·Q): the small part summed first, so the only large rounding is the last add
    // (1 + r·(1 + …) measured 1.2 ulp, this 1.01).
    let p = 1.0 + (r + r * r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    p * f32::from_bits(t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127) << 23)
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

    /// Distance of `got` from `exact` in units in the last place of f32 at `exact`.
    fn ulps(got: f32, exact: f64) -> f64 {
        let e = (exact.abs() as f32).max(f32::MIN_POSITIVE);
        (got as f64 - exact).abs() / (f32::from_bits(e.to_bits() + 1) - e) as f64
    }

    /// `tanh_accurate`'s measured bound (0.875 ulp, near x = 0.55 where its two branches meet),
    /// rounded up: within 1 ulp, as torch's Sleef tanh (its vectorized CPU kernel) is.
    const TANH_MAX_ULP: f64 = 0.9;

    #[test]
    fn tanh_accurate_is_within_one_ulp_of_f64() {
        let mut worst = (0.0f64, 0.0f32);
        let mut check = |x: f32| {
            let u = ulps(tanh_accurate(x), (x as f64).tanh());
            if u > worst.0 {
                worst = (u, x);
            }
        };
        // Every 61st f32 from the smallest subnormal up to 12 (past saturation), both signs:
        // ~18 million points, dense in every binade including the branch switch at ln3/2.
        let top = 12.0f32.to_bits();
        for bits in (1..top).step_by(61) {
            check(f32::from_bits(bits));
            check(-f32::from_bits(bits));
        }
        for x in [0.0f32, -0.0, 0.549_306_1, 0.549_306_2, 9.0, 9.01, 88.0, -88.0, f32::MAX, f32::MIN] {
            check(x);
        }
        assert!(worst.0 <= TANH_MAX_ULP, "tanh_accurate: {:.3} ulp at x = {:e}", worst.0, worst.1);
        assert!(tanh_accurate(0.0).to_bits() == 0 && tanh_accurate(-0.0).to_bits() == (-0.0f32).to_bits());
    }

    /// `exp_accurate`'s measured bound over its range (1.011 ulp at x = −5.89), rounded up: about
    /// 1 ulp, as Sleef's expf_u10 that torch's vectorized softmax uses.
    const EXP_MAX_ULP: f64 = 1.05;

    #[test]
    fn exp_accurate_is_within_one_ulp_of_f64() {
        let mut worst = (0.0f64, 0.0f32);
        // Every 37th f32 in [-87.3, 88], both signs' binades down to the smallest normal argument.
        for bits in (0..88.0f32.to_bits()).step_by(37) {
            for x in [f32::from_bits(bits), -f32::from_bits(bits)].into_iter().filter(|&x| x >= -87.3) {
                let u = ulps(exp_accurate(x), (x as f64).exp());
                if u > worst.0 {
                    worst = (u, x);
                }
            }
        }
        assert!(worst.0 <= EXP_MAX_ULP, "exp_accurate: {:.3} ulp at x = {:e}", worst.0, worst.1);
        assert!(exp_accurate(f32::NEG_INFINITY) < 2e-38 && exp_accurate(-1e30) >= 0.0);
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

