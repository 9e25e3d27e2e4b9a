//! Which kernel runs a product or an attention, for its shape and the adapter's `Tuning`, and
//! its grid. CPU-emulated adapters and real GPUs want opposite things (few invocations and
//! barriers; many threads in flight), so each threshold here says where it was measured.

use super::device::Tuning;
use super::kernels::*;
use std::sync::OnceLock;

/// Rows below which `linear_small` (16-row tiles) beats `linear` (64-row tiles) on
/// CPU-emulated adapters.
const SMALL_M: usize = 48;
/// Rows up to which the gemv kernels are used.
const GEMV_M: usize = GEMV_ROWS as usize;
/// Longest input (K) for which few rows use `linear_gemv_short_k` (one thread a column).
const SHORT_K: usize = 256;
/// Rows up to which real GPUs run `linear_gemv_wide` (8 rows a workgroup) rather than the
/// 64×64 tiles; natively `ALBERT_GPU_WIDE_M` overrides it. bench/on-nvidia swept it on an H200
/// (bench/README.md, "On an NVIDIA H200"): against unsplit tiles the wide kernel won up to 256
/// rows; against tiles split over K, only up to 32 (n = 128: 6.24 ms a forward with the wide
/// kernel, 4.74 with split tiles; n = 64: 3.65 against 3.08).
const WIDE_M: usize = 32;

fn wide_m() -> usize {
    static WIDE: OnceLock<usize> = OnceLock::new();
    overridable(&WIDE, "ALBERT_GPU_WIDE_M", WIDE_M)
}

/// Workgroups a split linear aims for: about four on each multiprocessor of a large GPU (an
/// H200 has 132); wgpu does not say how many a device has. On the H200, 512 beat 256 and 128
/// (n = 128: 4.36, 4.74 and 5.71 ms a forward; unsplit 14.68). Natively `ALBERT_GPU_SPLIT_WGS`
/// overrides it (bench/on-nvidia sweeps it; 1 turns splitting off).
const SPLIT_TARGET_WGS: usize = 512;

fn split_target_wgs() -> usize {
    static WGS: OnceLock<usize> = OnceLock::new();
    overridable(&WGS, "ALBERT_GPU_SPLIT_WGS", SPLIT_TARGET_WGS)
}

/// A measured threshold, or natively the environment's `var` (a number) instead, read once:
/// bench/on-nvidia sweeps them on a lent GPU without a rebuild. Browsers have no environment.
fn overridable(cell: &'static OnceLock<usize>, var: &str, default: usize) -> usize {
    *cell.get_or_init(|| std::env::var(var).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default))
}
/// Shortest K slice worth its own workgroup.
const SPLIT_MIN_K: usize = 128;

/// K slices for the 64×64 tiles of `m` × `n` outputs on real GPUs: enough that the tiles and
/// slices reach SPLIT_TARGET_WGS workgroups, each slice at least SPLIT_MIN_K long. Returns
/// (slices, slice length); one slice means no split.
pub(super) fn k_split(m: usize, n: usize, k: usize) -> (usize, usize) {
    k_split_to(split_target_wgs(), m, n, k)
}

fn k_split_to(target: usize, m: usize, n: usize, k: usize) -> (usize, usize) {
    let tiles = m.div_ceil(LINEAR_TILE as usize) * n.div_ceil(LINEAR_TILE as usize);
    let want = target.div_ceil(tiles.max(1)).min(k / SPLIT_MIN_K).max(1);
    let k_len = k.div_ceil(want).next_multiple_of(LINEAR_KT as usize);
    (k.div_ceil(k_len.max(1)).max(1), k_len)
}

/// The linear kernel for `m` rows of `k` inputs and `n` outputs, and its grid.
pub(super) fn linear_kernel(m: usize, n: usize, k: usize, tuning: Tuning) -> (Kernel, [u32; 3]) {
    let (m, n) = (m.max(1) as u32, n.max(1) as u32);
    let rows = m as usize;
    if tuning.real_gpu() {
        if rows <= wide_m() {
            (Kernel::LinearGemvWide, [n.div_ceil(WIDE_COLS), m.div_ceil(GEMV_ROWS), 1])
        } else {
            (Kernel::Linear, [n.div_ceil(LINEAR_TILE), m.div_ceil(LINEAR_TILE), 1])
        }
    } else if rows <= GEMV_M && k <= SHORT_K {
        (Kernel::LinearGemvShortK, [n.div_ceil(SHORT_K_COLS), m.div_ceil(GEMV_ROWS), 1])
    } else if rows <= GEMV_M {
        (Kernel::LinearGemv, [n.div_ceil(GEMV_COLS), m.div_ceil(GEMV_ROWS), 1])
    } else if rows <= SMALL_M {
        (Kernel::LinearSmall, [n.div_ceil(SMALL_COLS), m.div_ceil(SMALL_ROWS), 1])
    } else {
        (Kernel::Linear, [n.div_ceil(LINEAR_TILE), m.div_ceil(LINEAR_TILE), 1])
    }
}

/// The fused attention kernel for heads `head_dim` wide, and the query rows a workgroup takes.
pub(super) fn attention_kernel(head_dim: usize, tuning: Tuning) -> (Kernel, u32) {
    if tuning.real_gpu() && head_dim <= ATTENTION_TILE_D as usize {
        (Kernel::AttentionFlash, ATTENTION_FLASH_ROWS)
    } else {
        (Kernel::Attention, ATTENTION_ROWS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_split_reaches_the_workgroups_in_whole_steps() {
        // ffn_output at 512 rows: 96 tiles, K = 3072 → 6 slices of 512 for 512 workgroups, 3 of
        // 1024 for 256, none for 1.
        assert_eq!(k_split_to(512, 512, 768, 3072), (6, 512));
        assert_eq!(k_split_to(256, 512, 768, 3072), (3, 1024));
        assert_eq!(k_split_to(1, 512, 768, 3072), (1, 3072));
        // The kernel test's shapes, at the default: 10 tiles → capped at K / 128 = 4 slices of
        // 144 (the last 88); 21 slices of 144; 2 of 160.
        assert_eq!(k_split_to(SPLIT_TARGET_WGS, 300, 70, 520), (4, 144));
        assert_eq!(k_split_to(SPLIT_TARGET_WGS, 257, 33, 3000), (21, 144));
        assert_eq!(k_split_to(SPLIT_TARGET_WGS, 100, 40, 300), (2, 160));
        // K too short to split, or tiles enough already.
        assert_eq!(k_split_to(SPLIT_TARGET_WGS, 270, 3, 64), (1, 64));
        assert_eq!(k_split_to(SPLIT_TARGET_WGS, 8192, 3072, 768), (1, 768));
    }

    #[test]
    fn every_choice_is_compiled_for_its_tuning() {
        // Pipelines compile only `Kernel::used_by` kernels; a choice outside them would panic in
        // `Pipelines::get`.
        for tuning in [Tuning::Emulated, Tuning::Gpu] {
            for m in [1, 8, 9, 32, 33, 48, 49, 64, 65, 256, 257, 512, 4096] {
                for (n, k) in [(1, 1), (30000, 128), (768, 3072), (2304, 768), (2, 768)] {
                    let (kernel, _) = linear_kernel(m, n, k, tuning);
                    assert!(kernel.used_by(tuning), "{kernel:?} for m={m} n={n} k={k} under {tuning:?}");
                    if kernel == Kernel::Linear && tuning.real_gpu() && k_split(m, n, k).0 > 1 {
                        assert!(Kernel::LinearSplitSum.used_by(tuning));
                    }
                }
            }
            for d in [1, 64, 65, 128] {
                let (kernel, _) = attention_kernel(d, tuning);
                assert!(kernel.used_by(tuning), "{kernel:?} for head_dim {d} under {tuning:?}");
            }
        }
    }
}
