//! tanh and exp within about 1 ulp, branch-free so that loops over them vectorize (libm's
//! scalar calls do not): gelu_new, the attention softmax and the ranking of logits rows (`rank`) run
//! through them. torch's vectorized CPU kernels use Sleef's functions of the same accuracy.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
