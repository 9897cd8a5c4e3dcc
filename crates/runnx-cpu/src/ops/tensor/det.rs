//! Det: determinants of square matrices (LU with partial pivoting, in f64).

use super::one;
use crate::Registry;
use runnx_ir::dtype::Number;
use runnx_ir::{dispatch_float, ensure, kernel, Inputs, Kernel, NodeCtx, Result, Tensor};

pub fn register(r: &mut Registry) {
    r.add("Det", det);
}

/// Determinant of an n x n row-major matrix (destroys `m`).
fn det_lu(m: &mut [f64], n: usize) -> f64 {
    let mut det = 1.0;
    for c in 0..n {
        let mut p = c;
        for r in c + 1..n {
            if m[r * n + c].abs() > m[p * n + c].abs() {
                p = r;
            }
        }
        let pivot = m[p * n + c];
        if pivot == 0.0 {
            return 0.0;
        }
        if p != c {
            for j in 0..n {
                m.swap(p * n + j, c * n + j);
            }
            det = -det;
        }
        det *= pivot;
        for r in c + 1..n {
            let f = m[r * n + c] / pivot;
            if f != 0.0 {
                for j in c + 1..n {
                    m[r * n + j] -= f * m[c * n + j];
                }
            }
        }
    }
    det
}

fn det(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let r = x.rank();
        ensure!(r >= 2, "Det needs rank >= 2, got {:?}", x.shape());
        let n = x.shape()[r - 1];
        ensure!(
            x.shape()[r - 2] == n,
            "Det needs square matrices, got {:?}",
            x.shape()
        );
        let batch = x.shape()[..r - 2].to_vec();
        dispatch_float!(x.dtype(), T => {
            let src = x.as_slice::<T>()?;
            let mat = n * n;
            let count: usize = batch.iter().product();
            let mut out = Vec::with_capacity(count);
            let mut buf = vec![0f64; mat];
            for b in 0..count {
                for (d, s) in buf.iter_mut().zip(&src[b * mat..(b + 1) * mat]) {
                    *d = s.to_f64();
                }
                out.push(T::from_f64(det_lu(&mut buf, n)));
            }
            one(Tensor::new(batch, out)?)
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::det_lu;

    #[test]
    fn determinants() {
        assert_eq!(det_lu(&mut [1.0, 2.0, 3.0, 4.0], 2), -2.0);
        assert!(
            (det_lu(&mut [0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0], 3) + 2.0).abs() < 1e-12
        );
        assert_eq!(det_lu(&mut [], 0), 1.0);
    }
}
