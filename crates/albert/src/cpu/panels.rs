//! A linear's weight packed once, at load, into panels of `PANEL` output columns, and the
//! kernel that multiplies by it: the browser's CPU path (`Kernel::Panels`, issue 15 item 3).
//! matrixmultiply packs the weight again on every call, and its simd128 kernel holds 8 × 8
//! accumulators, more than V8 keeps in x86's 16 vector registers. In V8 on this project's VM,
//! at every product shape of albert-base and the small shape at 128 rows, matrixmultiply ran at
//! 11.9–12.6 G multiply-adds/s a core and this kernel at 14.9–16.3 (`bench/wasm-ops/run`).
//! Natively the default stays matrixmultiply's AVX2/FMA kernels; `Kernel::Panels` runs this one
//! there too, which is how the tests check the browser's arithmetic.
//!
//! Each output is the bias plus its k products added in order, a multiply and an add each (wasm
//! has no fused multiply-add without relaxed SIMD, which not every browser has), so an output
//! does not depend on the row count, the row's group or the columns a call computes: a team's
//! shares are the one thread's numbers bit for bit, and native runs give the browser's.
//! The tile is written with plain arrays that LLVM vectorizes (simd128 in the browser, SSE
//! natively) and raw pointers: in a probe with bounds checks in the inner loop it ran at 10 G
//! instead of 16.
//!
//! With the `relaxed-simd` feature, in wasm only, the tile is relaxed SIMD's
//! `f32x4.relaxed_madd` instead (`fused`): one instruction where there were two, fused where the
//! CPU has FMA (V8 on x86 with FMA3, on arm64), so each product is rounded once, not twice. That
//! build is a second worker module (`albert-worker-relaxed`), loaded only where the browser
//! validates relaxed SIMD; its outputs differ from the plain kernel's in the last bits, so a
//! team's threads must all run the same module (they do: the page starts them from one script).

use std::ops::Range;

use super::matmul::{block_range, column_blocks};
use super::ops;
use super::parallel::{par_for, SyncPtr};
use crate::activation::Activation;

/// Output columns a panel holds: two simd128 vectors. With `ROWS` rows a tile keeps 8 vector
/// accumulators, the two weight vectors and a broadcast in registers (4 × 16 or 5 × 8 spilled
/// or ran slower in V8).
pub const PANEL: usize = 8;

/// Rows of the input a tile multiplies at once (each weight vector loaded serves `ROWS` rows).
const ROWS: usize = 4;

/// Weight rows a tile runs through before the next panel: a `KC × PANEL` block (8 KB) stays in
/// L1 for every row group, and the tile reloads its accumulators only k / `KC` times.
const KC: usize = 256;

/// nn.Linear's weight for `[m, k] → [m, n]`: panel `p` holds columns `p·PANEL ..` as `[k,
/// PANEL]`, row after row, so a tile reads it front to back; the last panel is zero-padded.
pub struct Panels {
    data: Vec<f32>,
    k: usize,
    n: usize,
}

impl Panels {
    /// Packs torch's `[n, k]` weight (one row an output).
    pub fn from_rows(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k, "a [{n}, {k}] weight");
        let mut data = vec![0.0f32; n.div_ceil(PANEL) * k * PANEL];
        for (j, row) in w.chunks_exact(k.max(1)).enumerate().take(n) {
            let (p, c) = (j / PANEL, j % PANEL);
            for (kk, &v) in row.iter().enumerate() {
                data[(p * k + kk) * PANEL + c] = v;
            }
        }
        Panels { data, k, n }
    }

    /// The floats it holds (the last panel's padding included).
    pub fn floats(&self) -> usize {
        self.data.len()
    }

    /// `act(x · Wᵀ + b)`: x `[m, k]`, b `[n]` → `[m, n]`.
    pub fn linear(&self, x: &[f32], m: usize, b: &[f32], a: Activation) -> Vec<f32> {
        self.linear_columns(x, m, b, 0..self.n, a)
    }

    /// Columns `cols` of `linear`'s output, `[m, cols.len()]` (one chunk of a team's product).
    /// `cols` starts at a panel's first column.
    pub fn linear_columns(&self, x: &[f32], m: usize, b: &[f32], cols: Range<usize>, a: Activation) -> Vec<f32> {
        let width = cols.len();
        let mut y = vec![0.0f32; m * width];
        self.linear_columns_into(x, m, b, cols, a, &mut y, width);
        y
    }

    /// `linear_columns` written into `y`, whose rows are `ys` apart: row `i`'s columns go to
    /// `y[i·ys ..][.. cols.len()]` (a team's own chunks go straight into the product's output).
    #[allow(clippy::too_many_arguments)]
    pub fn linear_columns_into(&self, x: &[f32], m: usize, b: &[f32], cols: Range<usize>, a: Activation, y: &mut [f32], ys: usize) {
        let (k, n) = (self.k, self.n);
        assert_eq!(x.len(), m * k, "{m} rows of {k}");
        assert_eq!(b.len(), n, "a bias of {n}");
        assert!(cols.start <= cols.end && cols.end <= n && cols.start.is_multiple_of(PANEL), "columns {cols:?} of {n}");
        let width = cols.len();
        assert!(width <= ys && (m == 0 || (m - 1) * ys + width <= y.len()), "{m} rows of {width} columns, {ys} apart, in {}", y.len());
        // Blocks of whole panels (multiples of 16 columns), one a thread natively.
        let blocks = column_blocks(m, k, width);
        let yp = SyncPtr(y.as_mut_ptr());
        par_for(blocks, |blk| {
            let (j0, j1) = block_range(width, blocks, blk);
            // SAFETY: x is m×k and y holds m rows ys apart with room for width columns, as
            // asserted; blocks are disjoint column ranges of y.
            unsafe { self.block(x, m, b, (cols.start + j0, cols.start + j1), yp.get().add(j0), ys, a) };
        });
    }

    /// Output columns `c0..c1` (`c0` a panel's first) into `y`, whose rows are `ys` apart.
    ///
    /// # Safety
    /// x holds `m × k` values and y `m` rows of `ys` with room for `c1 − c0` columns.
    #[allow(clippy::too_many_arguments)]
    unsafe fn block(&self, x: &[f32], m: usize, b: &[f32], (c0, c1): (usize, usize), y: *mut f32, ys: usize, a: Activation) {
        let k = self.k;
        if c1 == c0 {
            return;
        }
        for i in 0..m {
            std::slice::from_raw_parts_mut(y.add(i * ys), c1 - c0).copy_from_slice(&b[c0..c1]);
        }
        // The last panel may be partial: it goes through a full-width copy (below), allocated once;
        // its padding lanes are computed and never stored.
        let mut part = if (c1 - c0).is_multiple_of(PANEL) { Vec::new() } else { vec![0.0f32; m * PANEL] };
        for k0 in (0..k).step_by(KC) {
            let k1 = (k0 + KC).min(k);
            for p in c0 / PANEL..c1.div_ceil(PANEL) {
                let panel = self.data.as_ptr().add(p * k * PANEL);
                let (j, cols) = (p * PANEL - c0, (c1 - p * PANEL).min(PANEL));
                if cols == PANEL {
                    rows(x.as_ptr(), m, k, (k0, k1), panel, y.add(j), ys);
                } else {
                    // The partial panel through the copy, so the one tile keeps its constant width
                    // (whole-vector loads and stores, accumulators in registers).
                    for i in 0..m {
                        std::ptr::copy_nonoverlapping(y.add(i * ys + j), part.as_mut_ptr().add(i * PANEL), cols);
                    }
                    rows(x.as_ptr(), m, k, (k0, k1), panel, part.as_mut_ptr(), PANEL);
                    for i in 0..m {
                        std::ptr::copy_nonoverlapping(part.as_ptr().add(i * PANEL), y.add(i * ys + j), cols);
                    }
                }
            }
        }
        for i in 0..m {
            ops::act_slice(std::slice::from_raw_parts_mut(y.add(i * ys), c1 - c0), a);
        }
    }
}

#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
mod fused;
#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
use fused::rows;

/// One panel's `PANEL` columns of y for all `m` rows, weight rows k0..k1: tiles of `ROWS` rows.
///
/// # Safety
/// x holds m rows of k, the panel k rows of `PANEL`, y m rows `ys` apart with `PANEL` columns.
#[cfg(not(all(target_arch = "wasm32", feature = "relaxed-simd")))]
#[inline(always)]
unsafe fn rows(x: *const f32, m: usize, k: usize, (k0, k1): (usize, usize), panel: *const f32, y: *mut f32, ys: usize) {
    let mut i = 0;
    while i + ROWS <= m {
        tile::<ROWS>(x.add(i * k), k, (k0, k1), panel, y.add(i * ys), ys);
        i += ROWS;
    }
    while i < m {
        tile::<1>(x.add(i * k), k, (k0, k1), panel, y.add(i * ys), ys);
        i += 1;
    }
}

/// `y[r, c] += Σ_{kk in k0..k1} x[r, kk] · panel[kk, c]` for r < R, c < `PANEL`.
///
/// # Safety
/// x holds R rows of k, the panel k rows of `PANEL`, y R rows `ys` apart with `PANEL` columns.
#[cfg(not(all(target_arch = "wasm32", feature = "relaxed-simd")))]
#[inline(always)]
unsafe fn tile<const R: usize>(x: *const f32, k: usize, (k0, k1): (usize, usize), panel: *const f32, y: *mut f32, ys: usize) {
    let mut acc = [[0.0f32; PANEL]; R];
    for (r, row) in acc.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = *y.add(r * ys + c);
        }
    }
    for kk in k0..k1 {
        let w = &*(panel.add(kk * PANEL) as *const [f32; PANEL]);
        for (r, row) in acc.iter_mut().enumerate() {
            let xv = *x.add(r * k + kk);
            for c in 0..PANEL {
                row[c] += xv * w[c];
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            *y.add(r * ys + c) = *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(m: usize, k: usize, n: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let f = |i: usize, s: usize| ((i * s % 97) as f32 - 48.0) / 50.0;
        ((0..m * k).map(|i| f(i, 7)).collect(), (0..n * k).map(|i| f(i, 13)).collect(), (0..n).map(|i| f(i, 3)).collect())
    }

    /// The kernel's own order (bias, then k products in order, each rounded), in f32: it must
    /// equal the kernel exactly, whatever the shape (tails of rows, panels and KC blocks).
    #[test]
    fn panels_add_each_output_in_order() {
        for (m, k, n) in [(1, 1, 1), (3, 5, 7), (4, 256, 8), (5, 257, 17), (9, 600, 40), (13, 100, 3), (0, 4, 8), (2, 0, 5)] {
            let (x, w, b) = inputs(m, k, n);
            let got = Panels::from_rows(&w, n, k).linear(&x, m, &b, Activation::Linear);
            let mut want = vec![0.0f32; m * n];
            for i in 0..m {
                for j in 0..n {
                    want[i * n + j] = (0..k).fold(b[j], |acc, kk| acc + x[i * k + kk] * w[j * k + kk]);
                }
            }
            assert_eq!(got, want, "m {m}, k {k}, n {n}");
        }
    }

    /// The activation is applied, and columns of a share are those columns of the whole, bit for
    /// bit, with or without threads.
    #[test]
    fn columns_are_slices_of_the_whole() {
        // 172 800 multiply-adds: over the bound for a block a thread, where there are threads.
        let (m, k, n) = (6, 300, 96);
        let (x, w, b) = inputs(m, k, n);
        let p = Panels::from_rows(&w, n, k);
        let whole = p.linear(&x, m, &b, Activation::GeluNew);
        let mut linear = p.linear(&x, m, &b, Activation::Linear);
        assert_ne!(whole, linear);
        ops::act_slice(&mut linear, Activation::GeluNew);
        assert_eq!(whole, linear);
        for cols in [0..16, 16..96, 32..40, 88..96, 8..8] {
            let part = p.linear_columns(&x, m, &b, cols.clone(), Activation::GeluNew);
            let want: Vec<f32> = whole.chunks_exact(n).flat_map(|r| r[cols.clone()].to_vec()).collect();
            assert_eq!(part, want, "columns {cols:?}");
            // Written in place into a wider output: those columns, and nothing else touched.
            let mut into = vec![-7.0f32; m * n];
            p.linear_columns_into(&x, m, &b, cols.clone(), Activation::GeluNew, &mut into[cols.start..], n);
            for (i, (got, all)) in into.chunks_exact(n).zip(whole.chunks_exact(n)).enumerate() {
                for j in 0..n {
                    let want = if cols.contains(&j) { all[j] } else { -7.0 };
                    assert_eq!(got[j], want, "columns {cols:?}, row {i}, column {j}");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "rows of 16 columns")]
    fn an_output_too_small_is_refused() {
        let (x, w, b) = inputs(3, 4, 16);
        let mut y = vec![0.0f32; 2 * 16 + 15];
        Panels::from_rows(&w, 16, 4).linear_columns_into(&x, 3, &b, 0..16, Activation::Linear, &mut y, 16);
    }

    #[test]
    #[should_panic(expected = "columns")]
    fn a_share_must_start_at_a_panel() {
        let (x, w, b) = inputs(1, 4, 16);
        Panels::from_rows(&w, 16, 4).linear_columns(&x, 1, &b, 3..16, Activation::Linear);
    }
}
