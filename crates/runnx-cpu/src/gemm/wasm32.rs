//! wasm32 simd128 micro-kernel: 4 rows x 8 columns (8 v128 accumulators).
//!
//! 8 accumulators + 2 B vectors + 1 broadcast A value fit the 16 xmm registers that
//! engines map v128 onto on x86-64, so the loop runs without spills (a 6x8 tile needs
//! 15 and spills in V8). There is no fused multiply-add in baseline simd128 (only
//! in relaxed SIMD, which Node 20 does not enable by default): mul + add.
//! The store applies alpha/beta, the bias and the Relu/Clip clamp (`fused_store`).

use super::{Activation, KernelDesc, Store};
use core::arch::wasm32::*;

const MR: usize = 4;
const NR: usize = 8;

pub const DESC: KernelDesc = KernelDesc {
    name: "wasm-simd128",
    mr: MR,
    nr: NR,
    kc: 256,
    mc: 128,
    nc: 1024,
    func: kernel,
    direct: Some(direct),
    direct_small: None,
    fused_store: true,
};

/// # Safety
/// See [`super::MicroKernel`].
pub unsafe fn kernel(k: usize, a: *const f32, b: *const f32, c: *mut f32, rsc: usize, st: &Store) {
    body::<false>(k, a, 0, b, c, rsc, st)
}

/// # Safety
/// See [`super::DirectKernel`].
#[allow(clippy::too_many_arguments)]
pub unsafe fn direct(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    c: *mut f32,
    rsc: usize,
    st: &Store,
) {
    body::<true>(k, a, lda, b, c, rsc, st)
}

/// With `DIRECT`, `a` is a row-major block (row stride `lda`); else a packed panel.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn body<const DIRECT: bool>(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    c: *mut f32,
    rsc: usize,
    st: &Store,
) {
    let z = f32x4_splat(0.0);
    let (mut c00, mut c01, mut c10, mut c11) = (z, z, z, z);
    let (mut c20, mut c21, mut c30, mut c31) = (z, z, z, z);
    let (mut a, mut b) = (a, b);
    let (r1, r2, r3) = if DIRECT {
        (lda, 2 * lda, 3 * lda)
    } else {
        (1, 2, 3)
    };
    for _ in 0..k {
        let b0 = v128_load(b as *const v128);
        let b1 = v128_load(b.add(4) as *const v128);
        let a0 = v128_load32_splat(a as *const u32);
        c00 = f32x4_add(c00, f32x4_mul(a0, b0));
        c01 = f32x4_add(c01, f32x4_mul(a0, b1));
        let a1 = v128_load32_splat(a.add(r1) as *const u32);
        c10 = f32x4_add(c10, f32x4_mul(a1, b0));
        c11 = f32x4_add(c11, f32x4_mul(a1, b1));
        let a2 = v128_load32_splat(a.add(r2) as *const u32);
        c20 = f32x4_add(c20, f32x4_mul(a2, b0));
        c21 = f32x4_add(c21, f32x4_mul(a2, b1));
        let a3 = v128_load32_splat(a.add(r3) as *const u32);
        c30 = f32x4_add(c30, f32x4_mul(a3, b0));
        c31 = f32x4_add(c31, f32x4_mul(a3, b1));
        a = a.add(if DIRECT { 1 } else { MR });
        b = b.add(NR);
    }
    store(
        &[[c00, c01], [c10, c11], [c20, c21], [c30, c31]],
        c,
        rsc,
        st,
    );
}

/// `c = alpha*acc + beta*c + row_bias[i] + col_bias[j]`, clamped (see [`Store`]).
#[inline(always)]
unsafe fn store(acc: &[[v128; 2]; MR], c: *mut f32, rsc: usize, st: &Store) {
    let va = f32x4_splat(st.alpha);
    let vb = f32x4_splat(st.beta);
    let (lo, hi) = st.clamp.unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
    let (vlo, vhi) = (f32x4_splat(lo), f32x4_splat(hi));
    let cb = if st.col_bias.is_null() {
        [f32x4_splat(0.0); 2]
    } else {
        [
            v128_load(st.col_bias as *const v128),
            v128_load(st.col_bias.add(4) as *const v128),
        ]
    };
    for (i, row) in acc.iter().enumerate() {
        let cp = c.add(i * rsc);
        let rb = if st.row_bias.is_null() {
            0.0
        } else {
            *st.row_bias.add(i)
        };
        let vrb = f32x4_splat(rb);
        for (h, &v) in row.iter().enumerate() {
            let p = cp.add(h * 4) as *mut v128;
            let mut r = f32x4_mul(va, v);
            if st.beta != 0.0 {
                r = f32x4_add(r, f32x4_mul(vb, v128_load(p)));
            }
            r = f32x4_add(r, f32x4_add(vrb, cb[h]));
            if st.clamp.is_some() {
                // pmax(lo, r) = `lo < r ? r : lo`: NaN becomes `lo`, as in the scalar path.
                r = f32x4_pmin(vhi, f32x4_pmax(vlo, r));
            }
            v128_store(p, r);
        }
    }
}

/// The epilogue activations with simd128 (GEMM and Conv outputs; the scalar loop
/// would otherwise run lane by lane, as `f32::max` and libm's `exp` do not vectorise
/// on wasm). Handles the longest prefix that is a multiple of 4 and returns the rest
/// (everything, for activations without a vector form here) for the scalar code.
/// NaN behaves as in the scalar code (Relu/Clip map it to the lower bound).
pub fn activation(x: &mut [f32], act: Activation) -> &mut [f32] {
    let z = f32x4_splat(0.0);
    let one = f32x4_splat(1.0);
    let f: &dyn Fn(v128) -> v128 = match act {
        Activation::Relu => &|v| f32x4_pmax(z, v),
        Activation::Clip(lo, hi) => {
            let (lo, hi) = (f32x4_splat(lo), f32x4_splat(hi));
            &move |v| f32x4_pmin(hi, f32x4_pmax(lo, v))
        }
        Activation::LeakyRelu(a) => {
            let a = f32x4_splat(a);
            &move |v| v128_bitselect(f32x4_mul(v, a), v, f32x4_lt(v, z))
        }
        Activation::Sigmoid => &|v| f32x4_div(one, f32x4_add(one, exp(f32x4_neg(v)))),
        Activation::HardSigmoid(a, b) => {
            let (a, b) = (f32x4_splat(a), f32x4_splat(b));
            &move |v| f32x4_min(one, f32x4_max(z, f32x4_add(f32x4_mul(a, v), b)))
        }
        Activation::HardSwish => {
            let (sixth, half) = (f32x4_splat(1.0 / 6.0), f32x4_splat(0.5));
            &move |v| {
                f32x4_mul(
                    v,
                    f32x4_min(one, f32x4_max(z, f32x4_add(f32x4_mul(v, sixth), half))),
                )
            }
        }
        Activation::None | Activation::Tanh | Activation::Elu(_) => return x,
    };
    let split = x.len() / 4 * 4;
    let (body, tail) = x.split_at_mut(split);
    for c in body.chunks_exact_mut(4) {
        let p = c.as_mut_ptr() as *mut v128;
        // SAFETY: `c` is 4 floats; v128 loads and stores need no alignment.
        unsafe { v128_store(p, f(v128_load(p))) };
    }
    tail
}

/// `ops::math::fast::exp` on four lanes (the same steps, so the same results).
#[inline(always)]
fn exp(x: v128) -> v128 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0;
    let (lo, hi) = (f32x4_splat(-104.0), f32x4_splat(88.8));
    // A clamp that keeps NaN.
    let x = v128_bitselect(lo, x, f32x4_lt(x, lo));
    let x = v128_bitselect(hi, x, f32x4_gt(x, hi));
    let t = f32x4_add(
        f32x4_mul(x, f32x4_splat(std::f32::consts::LOG2_E)),
        f32x4_splat(ROUND),
    );
    let n = f32x4_sub(t, f32x4_splat(ROUND));
    let r = f32x4_sub(
        f32x4_sub(x, f32x4_mul(n, f32x4_splat(LN2_HI))),
        f32x4_mul(n, f32x4_splat(LN2_LO)),
    );
    let mut p = f32x4_splat(1.987_569_1e-4);
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        0.166_666_65,
        0.5,
    ] {
        p = f32x4_add(f32x4_mul(p, r), f32x4_splat(c));
    }
    let y = f32x4_add(
        f32x4_add(f32x4_mul(f32x4_mul(p, r), r), r),
        f32x4_splat(1.0),
    );
    let ni = i32x4_sub(t, i32x4_splat(ROUND.to_bits() as i32));
    let n1 = i32x4_shr(ni, 1);
    let n2 = i32x4_sub(ni, n1);
    let bias = i32x4_splat(127);
    let s1 = i32x4_shl(i32x4_add(n1, bias), 23);
    let s2 = i32x4_shl(i32x4_add(n2, bias), 23);
    f32x4_mul(f32x4_mul(y, s1), s2)
}
