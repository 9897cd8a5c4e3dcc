//! The portable micro-kernel: plain Rust on fixed-size arrays (auto-vectorised).

use super::{KernelDesc, Store};

const MR: usize = 4;
const NR: usize = 8;

pub const DESC: KernelDesc = KernelDesc {
    name: "generic",
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
    let a = std::slice::from_raw_parts(a, k * MR);
    let b = std::slice::from_raw_parts(b, k * NR);
    let mut acc = [[0f32; NR]; MR];
    for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        for i in 0..MR {
            let av = ap[i];
            for j in 0..NR {
                acc[i][j] += av * bp[j];
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        let crow = std::slice::from_raw_parts_mut(c.add(i * rsc), NR);
        if beta == 0.0 {
            for j in 0..NR {
                crow[j] = alpha * row[j];
            }
        } else {
            for j in 0..NR {
                crow[j] = alpha * row[j] + beta * crow[j];
            }
        }
    }
}
