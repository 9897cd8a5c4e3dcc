//! Branch-free f32 approximations of exp, tanh, erf and friends that LLVM can
//! vectorise (libm calls cannot be). Each stays within about 1e-6 relative error
//! of the correctly rounded result (see the tests); NaN propagates, infinities
//! saturate like libm's.

// Fitted coefficients are kept as printed by the fit.
#![allow(clippy::excessive_precision, clippy::approx_constant)]

/// Clamp without losing NaN (`f32::max`/`min` would drop it).
#[inline(always)]
fn clamp(x: f32, lo: f32, hi: f32) -> f32 {
    let x = if x < lo { lo } else { x };
    if x > hi {
        hi
    } else {
        x
    }
}

/// exp(x): Cephes-style range reduction to |r| <= ln2/2, a degree-6 polynomial and
/// an exponent scale split in two so that subnormal results stay right.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = clamp(x, -104.0, 88.8);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // n is in [-150, 129], so `t`'s low mantissa bits hold it: read it with integer
    // ops rather than `n as i32`, whose saturating conversion does not vectorise on
    // every target (wasm32 simd128 scalarises it). NaN gives garbage scales but stays
    // NaN through `y`.
    let ni = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let n1 = ni >> 1;
    let n2 = ni - n1;
    let s1 = f32::from_bits(((n1 + 127) as u32) << 23);
    let s2 = f32::from_bits(((n2 + 127) as u32) << 23);
    y * s1 * s2
}

/// 1 / (1 + exp(-x)).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// tanh(x): an odd polynomial near 0 (no cancellation), 1 - 2/(exp(2|x|)+1) elsewhere.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let ax = x.abs();
    let e = exp(2.0 * clamp(ax, 0.0, 10.0));
    let large = (1.0 - 2.0 / (e + 1.0)).copysign(x);
    let s = x * x;
    let p = (((-5.704_988_7e-3 * s + 2.063_908_9e-2) * s - 5.373_971_6e-2) * s + 0.133_314_42) * s
        - 0.333_332_82;
    // x * (1 + s p) rather than x + x s p keeps the sign of -0.
    let small = x * (1.0 + s * p);
    if ax < 0.625 {
        small
    } else {
        large
    }
}

/// erf(x)/x on |x| <= 1 as a polynomial in x^2.
#[inline(always)]
fn erf_small(s: f32) -> f32 {
    let mut p = 7.847_262_4e-5f32;
    p = p * s - 8.008_193_3e-4;
    p = p * s + 5.188_099_8e-3;
    p = p * s - 2.685_369_2e-2;
    p = p * s + 0.112_835_82;
    p = p * s - 0.376_126_26;
    p * s + 1.128_379_2
}

/// exp(-t*t) without the rounding error of t*t: t = hi + lo with hi on 12 bits,
/// so hi*hi is exact and the rest is small.
#[inline(always)]
fn exp_neg_square(t: f32) -> f32 {
    let hi = f32::from_bits(t.to_bits() & 0xFFFF_F000);
    let lo = t - hi;
    exp(-(hi * hi)) * exp(-(lo * (t + hi)))
}

/// erfc(a) for a >= 0 (NaN passes through), with small relative error everywhere.
#[inline(always)]
pub fn erfc_nonneg(a: f32) -> f32 {
    let small = 1.0 - a * erf_small(a * a);
    // erfc(t) = exp(-t^2) / t * g(1/t), g fitted on t in [1, 10].
    let t = clamp(a, 1.0, 10.0);
    let u = 1.0 / t;
    let mut g = -3.102_477_2e-2f32;
    g = g * u + 0.234_882_58;
    g = g * u - 0.768_821_56;
    g = g * u + 1.418_068;
    g = g * u - 1.575_438_3;
    g = g * u + 0.969_902_96;
    g = g * u - 0.115_920_05;
    g = g * u - 0.267_237_52;
    g = g * u - 1.048_216e-3;
    g = g * u + 0.564_220_5;
    let large = exp_neg_square(clamp(a, 1.0, 11.0)) * u * g;
    if a < 1.0 {
        small
    } else {
        large
    }
}

/// erf(x).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let ax = x.abs();
    let small = x * erf_small(x * x);
    let large = (1.0 - erfc_nonneg(ax)).copysign(x);
    if ax < 1.0 {
        small
    } else {
        large
    }
}

/// Gelu with the exact erf: 0.5 x (1 + erf(x / sqrt 2)), through erfc for x < 0 so
/// that the tail keeps its relative accuracy.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    let c = erfc_nonneg(x.abs() * std::f32::consts::FRAC_1_SQRT_2);
    let f = if x < 0.0 { c } else { 2.0 - c };
    0.5 * x * f
}

/// Gelu with the tanh approximation: 0.5 x (1 + tanh(y)) = x * sigmoid(2y).
#[inline(always)]
pub fn gelu_tanh(x: f32) -> f32 {
    const K: f32 = 0.797_884_6; // sqrt(2 / pi)
    let y = K * (x + 0.044_715 * x * x * x);
    x * sigmoid(2.0 * y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f32, b: f64) -> f64 {
        if b == 0.0 {
            a.abs() as f64
        } else {
            ((a as f64 - b) / b).abs()
        }
    }

    fn grid(lo: f32, hi: f32, n: usize) -> impl Iterator<Item = f32> {
        (0..=n).map(move |i| lo + (hi - lo) * i as f32 / n as f32)
    }

    #[test]
    fn exp_is_accurate() {
        for x in grid(-87.0, 88.7, 400_000) {
            let e = rel(exp(x), (x as f64).exp());
            assert!(e < 3e-7, "exp({x}): rel err {e}");
        }
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(100.0), f32::INFINITY);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert!(exp(f32::NAN).is_nan());
        assert!((exp(-100.0) as f64 - (-100f64).exp()).abs() < 1e-44);
    }

    #[test]
    fn tanh_and_sigmoid_are_accurate() {
        for x in grid(-12.0, 12.0, 400_000).chain(grid(-1e-3, 1e-3, 1000)) {
            let e = rel(tanh(x), (x as f64).tanh());
            assert!(e < 1e-6, "tanh({x}): rel err {e}");
            let s = 1.0 / (1.0 + (-(x as f64)).exp());
            let e = rel(sigmoid(x), s);
            assert!(e < 1e-6, "sigmoid({x}): rel err {e}");
        }
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
        assert!(tanh(f32::NAN).is_nan());
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn erf_is_accurate() {
        for x in grid(-6.0, 6.0, 400_000).chain(grid(-1e-3, 1e-3, 1000)) {
            let e = rel(erf(x), libm::erf(x as f64));
            assert!(e < 1e-6, "erf({x}): rel err {e}");
        }
        for a in grid(0.0, 9.0, 200_000) {
            let e = rel(erfc_nonneg(a), libm::erfc(a as f64));
            assert!(e < 1e-6, "erfc({a}): rel err {e}");
        }
        assert_eq!(erf(f32::INFINITY), 1.0);
        assert_eq!(erf(f32::NEG_INFINITY), -1.0);
        assert!(erf(f32::NAN).is_nan());
    }

    #[test]
    fn gelu_is_accurate() {
        for x in grid(-12.0, 12.0, 200_000) {
            let xd = x as f64;
            // Same rounded argument as the f32 code: this checks the approximation.
            let t = (x * std::f32::consts::FRAC_1_SQRT_2) as f64;
            let want = 0.5 * xd * libm::erfc(-t);
            let e = rel(gelu(x), want);
            assert!(
                e < 2e-6 || (gelu(x) as f64 - want).abs() < 1e-30,
                "gelu({x}): rel err {e}"
            );
            let y = (0.797_884_6 * (x + 0.044_715 * x * x * x)) as f64;
            let want = xd / (1.0 + (-2.0 * y).exp());
            let e = rel(gelu_tanh(x), want);
            assert!(
                e < 2e-6 || (gelu_tanh(x) as f64 - want).abs() < 1e-30,
                "gelu_tanh({x}): rel err {e}"
            );
        }
    }
}
