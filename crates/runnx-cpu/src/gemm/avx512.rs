//! x86_64 AVX-512F micro-kernel: 12 rows x 32 columns (24 zmm accumulators).

use super::{KernelDesc, Store};
use std::arch::x86_64::*;

const MR: usize = 12;
const NR: usize = 32;

pub const DESC: KernelDesc = KernelDesc {
    name: "avx512f",
    mr: MR,
    nr: NR,
    kc: 256,
    mc: 144,
    nc: 2048,
    func: kernel,
    direct: Some(direct),
    direct_small: Some((4, direct4)),
    fused_store: true,
};

/// # Safety
/// See [`super::MicroKernel`]; the CPU must support AVX-512F.
pub unsafe fn kernel(k: usize, a: *const f32, b: *const f32, c: *mut f32, rsc: usize, st: &Store) {
    inner(k, a, b, c, rsc, st)
}

#[target_feature(enable = "avx512f")]
unsafe fn inner(k: usize, a: *const f32, b: *const f32, c: *mut f32, rsc: usize, st: &Store) {
    body::<false, MR>(k, a, 0, b, c, rsc, st)
}

/// # Safety
/// See [`super::DirectKernel`]; the CPU must support the kernel's features.
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
    direct_inner(k, a, lda, b, c, rsc, st)
}

#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn direct_inner(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    c: *mut f32,
    rsc: usize,
    st: &Store,
) {
    body::<true, MR>(k, a, lda, b, c, rsc, st)
}

/// # Safety
/// As [`direct`], for a 4-row tile (the rows left over below a multiple of 12).
pub unsafe fn direct4(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    c: *mut f32,
    rsc: usize,
    st: &Store,
) {
    direct4_inner(k, a, lda, b, c, rsc, st)
}

#[target_feature(enable = "avx512f")]
unsafe fn direct4_inner(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    c: *mut f32,
    rsc: usize,
    st: &Store,
) {
    body::<true, 4>(k, a, lda, b, c, rsc, st)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn body<const DIRECT: bool, const R: usize>(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    c: *mut f32,
    rsc: usize,
    st: &Store,
) {
    let mut acc = [[_mm512_setzero_ps(); 2]; R];
    let (mut a, mut b) = (a, b);
    for _ in 0..k {
        let b0 = _mm512_loadu_ps(b);
        let b1 = _mm512_loadu_ps(b.add(16));
        for (i, row) in acc.iter_mut().enumerate() {
            let av = _mm512_set1_ps(if DIRECT { *a.add(i * lda) } else { *a.add(i) });
            row[0] = _mm512_fmadd_ps(av, b0, row[0]);
            row[1] = _mm512_fmadd_ps(av, b1, row[1]);
        }
        a = a.add(if DIRECT { 1 } else { MR });
        b = b.add(NR);
    }
    let (alpha, beta) = (st.alpha, st.beta);
    let va = _mm512_set1_ps(alpha);
    let vb = _mm512_set1_ps(beta);
    let (lo, hi) = st.clamp.unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
    let (vlo, vhi) = (_mm512_set1_ps(lo), _mm512_set1_ps(hi));
    let clamp = st.clamp.is_some();
    let mut cb = [_mm512_setzero_ps(); 2];
    if !st.col_bias.is_null() {
        cb = [
            _mm512_loadu_ps(st.col_bias),
            _mm512_loadu_ps(st.col_bias.add(16)),
        ];
    }
    for (i, row) in acc.iter().enumerate() {
        let cp = c.add(i * rsc);
        let rb = if st.row_bias.is_null() {
            0.0
        } else {
            *st.row_bias.add(i)
        };
        let vrb = _mm512_set1_ps(rb);
        for (h, &v) in row.iter().enumerate() {
            let p = cp.add(h * 16);
            let mut r = if beta == 0.0 {
                _mm512_mul_ps(va, v)
            } else {
                _mm512_fmadd_ps(vb, _mm512_loadu_ps(p), _mm512_mul_ps(va, v))
            };
            r = _mm512_add_ps(r, _mm512_add_ps(vrb, cb[h]));
            if clamp {
                r = _mm512_min_ps(_mm512_max_ps(r, vlo), vhi);
            }
            _mm512_storeu_ps(p, r);
        }
    }
}
