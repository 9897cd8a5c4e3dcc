//! wasm32 simd128 micro-kernel: 4 rows x 8 columns (8 v128 accumulators).

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
    direct: None,
    direct_small: None,
    fused_store: false,
};

/// # Safety
/// See [`super::MicroKernel`].
pub unsafe fn kernel(k: usize, a: *const f32, b: *const f32, c: *mut f32, rsc: usize, st: &Store) {
    let (alpha, beta) = (st.alpha, st.beta);
    let mut acc = [[f32x4_splat(0.0); 2]; MR];
    let (mut a, mut b) = (a, b);
    for _ in 0..k {
        let b0 = v128_load(b as *const v128);
        let b1 = v128_load(b.add(4) as *const v128);
        for (i, row) in acc.iter_mut().enumerate() {
            let av = f32x4_splat(*a.add(i));
            row[0] = f32x4_add(row[0], f32x4_mul(av, b0));
            row[1] = f32x4_add(row[1], f32x4_mul(av, b1));
        }
        a = a.add(MR);
        b = b.add(NR);
    }
    let va = f32x4_splat(alpha);
    let vb = f32x4_splat(beta);
    for (i, row) in acc.iter().enumerate() {
        let cp = c.add(i * rsc);
        for (h, &v) in row.iter().enumerate() {
            let p = cp.add(h * 4) as *mut v128;
            let r = if beta == 0.0 {
                f32x4_mul(va, v)
            } else {
                f32x4_add(f32x4_mul(va, v), f32x4_mul(vb, v128_load(p as *const v128)))
            };
            v128_store(p, r);
        }
    }
}
