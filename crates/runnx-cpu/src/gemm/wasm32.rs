//! wasm32 simd128 micro-kernel: 4 rows x 8 columns (8 v128 accumulators).
//!
//! 8 accumulators + 2 B vectors + 1 broadcast A value fit the 16 xmm registers that
//! engines map v128 onto on x86-64, so the loop runs without spills (a 6x8 tile needs
//! 15 and spills in V8). There is no fused multiply-add in baseline simd128 (only
//! in relaxed SIMD, which Node 20 does not enable by default): mul + add.
//! The store applies alpha/beta, the bias and the Relu/Clip clamp (`fused_store`).

use super::{KernelDesc, Store};
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
    store(&[[c00, c01], [c10, c11], [c20, c21], [c30, c31]], c, rsc, st);
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
