//! The panels' tile with relaxed SIMD's fused multiply-add (wasm, `relaxed-simd` feature only):
//! `f32x4.relaxed_madd` is one instruction where simd128 needs a multiply and an add, which on
//! x86 is what bounds the plain tile (each multiply-add two vector instructions). Where the CPU
//! has FMA the browser fuses it and each product is rounded once. The tile's shape, its order of
//! products and its registers are the plain tile's (`super::tile`): 2 vectors of `PANEL`
//! columns for each of `ROWS` rows.

use core::arch::wasm32::{f32x4_relaxed_madd, f32x4_splat, v128, v128_load, v128_store};

use super::{PANEL, ROWS};

/// `super::rows` with the fused tile.
///
/// # Safety
/// x holds m rows of k, the panel k rows of `PANEL`, y m rows `ys` apart with `PANEL` columns.
#[target_feature(enable = "relaxed-simd")]
pub(super) unsafe fn rows(x: *const f32, m: usize, k: usize, (k0, k1): (usize, usize), panel: *const f32, y: *mut f32, ys: usize) {
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

/// `y[r, c] += Σ_{kk in k0..k1} x[r, kk] · panel[kk, c]`, each step one `relaxed_madd`.
///
/// # Safety
/// As [`rows`], for R rows. Loads and stores are unaligned (wasm's v128 loads allow it).
#[target_feature(enable = "relaxed-simd")]
#[inline]
unsafe fn tile<const R: usize>(x: *const f32, k: usize, (k0, k1): (usize, usize), panel: *const f32, y: *mut f32, ys: usize) {
    const HALF: usize = PANEL / 2;
    let mut acc = [[f32x4_splat(0.0); 2]; R];
    for (r, row) in acc.iter_mut().enumerate() {
        row[0] = v128_load(y.add(r * ys) as *const v128);
        row[1] = v128_load(y.add(r * ys + HALF) as *const v128);
    }
    for kk in k0..k1 {
        let w0 = v128_load(panel.add(kk * PANEL) as *const v128);
        let w1 = v128_load(panel.add(kk * PANEL + HALF) as *const v128);
        for (r, row) in acc.iter_mut().enumerate() {
            let xv = f32x4_splat(*x.add(r * k + kk));
            row[0] = f32x4_relaxed_madd(xv, w0, row[0]);
            row[1] = f32x4_relaxed_madd(xv, w1, row[1]);
        }
    }
    for (r, row) in acc.iter().enumerate() {
        v128_store(y.add(r * ys) as *mut v128, row[0]);
        v128_store(y.add(r * ys + HALF) as *mut v128, row[1]);
    }
}
