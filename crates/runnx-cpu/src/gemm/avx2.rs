//! x86_64 AVX2 + FMA micro-kernel: 6 rows x 16 columns (12 ymm accumulators).

use super::{KernelDesc, Store};
use std::arch::x86_64::*;

const MR: usize = 6;
const NR: usize = 16;

pub const DESC: KernelDesc = KernelDesc {
    name: "avx2+fma",
    mr: MR,
    nr: NR,
    kc: 256,
    mc: 144,
    nc: 2048,
    func: kernel,
    direct: Some(direct),
    direct_small: None,
    fused_store: true,
};

/// # Safety
/// See [`super::MicroKernel`]; the CPU must support AVX2 and FMA.
pub unsafe fn kernel(k: usize, a: *const f32, b: *const f32, c: *mut f32, rsc: usize, st: &Store) {
    inner(k, a, b, c, rsc, st)
}

#[target_feature(enable = "avx2,fma")]
unsafe fn inner(k: usize, a: *const f32, b: *const f32, c: *mut f32, rsc: usize, st: &Store) {
    body::<false>(k, a, 0, b, c, rsc, st)
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

#[target_feature(enable = "avx2,fma")]
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
    body::<true>(k, a, lda, b, c, rsc, st)
}

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
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    let (mut a, mut b) = (a, b);
    for _ in 0..k {
        let b0 = _mm256_loadu_ps(b);
        let b1 = _mm256_loadu_ps(b.add(8));
        for (i, row) in acc.iter_mut().enumerate() {
            let av = _mm256_broadcast_ss(&*(if DIRECT { a.add(i * lda) } else { a.add(i) }));
            row[0] = _mm256_fmadd_ps(av, b0, row[0]);
            row[1] = _mm256_fmadd_ps(av, b1, row[1]);
        }
        a = a.add(if DIRECT { 1 } else { MR });
        b = b.add(NR);
    }
    let (alpha, beta) = (st.alpha, st.beta);
    let va = _mm256_set1_ps(alpha);
    let vb = _mm256_set1_ps(beta);
    let (lo, hi) = st.clamp.unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
    let (vlo, vhi) = (_mm256_set1_ps(lo), _mm256_set1_ps(hi));
    let clamp = st.clamp.is_some();
    let mut cb = [_mm256_setzero_ps(); 2];
    if !st.col_bias.is_null() {
        cb = [
            _mm256_loadu_ps(st.col_bias),
            _mm256_loadu_ps(st.col_bias.add(8)),
        ];
    }
    for (i, row) in acc.iter().enumerate() {
        let cp = c.add(i * rsc);
        let rb = if st.row_bias.is_null() {
            0.0
        } else {
            *st.row_bias.add(i)
        };
        let vrb = _mm256_set1_ps(rb);
        for (h, &v) in row.iter().enumerate() {
            let p = cp.add(h * 8);
            let mut r = if beta == 0.0 {
                _mm256_mul_ps(va, v)
            } else {
                _mm256_fmadd_ps(vb, _mm256_loadu_ps(p), _mm256_mul_ps(va, v))
            };
            r = _mm256_add_ps(r, _mm256_add_ps(vrb, cb[h]));
            if clamp {
                r = _mm256_min_ps(_mm256_max_ps(r, vlo), vhi);
            }
            _mm256_storeu_ps(p, r);
        }
    }
}
