//! aarch64 NEON micro-kernel: 8 rows x 8 columns (16 q-register accumulators).

use super::{KernelDesc, Store};
use std::arch::aarch64::*;

const MR: usize = 8;
const NR: usize = 8;

pub const DESC: KernelDesc = KernelDesc {
    name: "neon",
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
/// See [`super::MicroKernel`]; the CPU must support NEON.
pub unsafe fn kernel(k: usize, a: *const f32, b: *const f32, c: *mut f32, rsc: usize, st: &Store) {
    inner(k, a, b, c, rsc, st)
}

#[target_feature(enable = "neon")]
unsafe fn inner(k: usize, a: *const f32, b: *const f32, c: *mut f32, rsc: usize, st: &Store) {
    let (alpha, beta) = (st.alpha, st.beta);
    let mut acc = [[vdupq_n_f32(0.0); 2]; MR];
    let (mut a, mut b) = (a, b);
    for _ in 0..k {
        let b0 = vld1q_f32(b);
        let b1 = vld1q_f32(b.add(4));
        let a0 = vld1q_f32(a);
        let a1 = vld1q_f32(a.add(4));
        acc[0][0] = vfmaq_laneq_f32::<0>(acc[0][0], b0, a0);
        acc[0][1] = vfmaq_laneq_f32::<0>(acc[0][1], b1, a0);
        acc[1][0] = vfmaq_laneq_f32::<1>(acc[1][0], b0, a0);
        acc[1][1] = vfmaq_laneq_f32::<1>(acc[1][1], b1, a0);
        acc[2][0] = vfmaq_laneq_f32::<2>(acc[2][0], b0, a0);
        acc[2][1] = vfmaq_laneq_f32::<2>(acc[2][1], b1, a0);
        acc[3][0] = vfmaq_laneq_f32::<3>(acc[3][0], b0, a0);
        acc[3][1] = vfmaq_laneq_f32::<3>(acc[3][1], b1, a0);
        acc[4][0] = vfmaq_laneq_f32::<0>(acc[4][0], b0, a1);
        acc[4][1] = vfmaq_laneq_f32::<0>(acc[4][1], b1, a1);
        acc[5][0] = vfmaq_laneq_f32::<1>(acc[5][0], b0, a1);
        acc[5][1] = vfmaq_laneq_f32::<1>(acc[5][1], b1, a1);
        acc[6][0] = vfmaq_laneq_f32::<2>(acc[6][0], b0, a1);
        acc[6][1] = vfmaq_laneq_f32::<2>(acc[6][1], b1, a1);
        acc[7][0] = vfmaq_laneq_f32::<3>(acc[7][0], b0, a1);
        acc[7][1] = vfmaq_laneq_f32::<3>(acc[7][1], b1, a1);
        a = a.add(MR);
        b = b.add(NR);
    }
    let va = vdupq_n_f32(alpha);
    for (i, row) in acc.iter().enumerate() {
        let cp = c.add(i * rsc);
        for (h, &v) in row.iter().enumerate() {
            let p = cp.add(h * 4);
            let r = if beta == 0.0 {
                vmulq_f32(va, v)
            } else {
                vfmaq_f32(vmulq_f32(va, v), vdupq_n_f32(beta), vld1q_f32(p))
            };
            vst1q_f32(p, r);
        }
    }
}
