//! Helpers shared by this family: float conversion, small matrix products,
//! slicing and concatenating along an axis.
//!
//! Matrix products go through the shared GEMM engine (`crate::gemm`), except
//! single-row products against a transposed operand (decode steps, batch-1
//! recurrences), which are plain dot products over contiguous rows here.

use crate::gemm::{self, Epilogue, MatRef};
use runnx_ir::{bail, dispatch_all, ensure, DType, Result, Tensor};
use std::borrow::Cow;

/// A float tensor's elements as f32 (borrowed when already f32).
pub fn f32_data(t: &Tensor) -> Result<Cow<'_, [f32]>> {
    Ok(match t.dtype() {
        DType::F32 => Cow::Borrowed(t.as_slice::<f32>()?),
        DType::F64 => Cow::Owned(t.as_slice::<f64>()?.iter().map(|&x| x as f32).collect()),
        DType::F16 => Cow::Owned(
            t.as_slice::<half::f16>()?
                .iter()
                .map(|x| x.to_f32())
                .collect(),
        ),
        DType::BF16 => Cow::Owned(
            t.as_slice::<half::bf16>()?
                .iter()
                .map(|x| x.to_f32())
                .collect(),
        ),
        other => bail!("expected a float tensor, got {}", other),
    })
}

/// A tensor of a float type from f32 values.
pub fn from_f32(dtype: DType, shape: Vec<usize>, v: Vec<f32>) -> Result<Tensor> {
    match dtype {
        DType::F32 => Tensor::new(shape, v),
        DType::F64 => Tensor::new(shape, v.into_iter().map(f64::from).collect::<Vec<_>>()),
        DType::F16 => Tensor::new(
            shape,
            v.into_iter().map(half::f16::from_f32).collect::<Vec<_>>(),
        ),
        DType::BF16 => Tensor::new(
            shape,
            v.into_iter().map(half::bf16::from_f32).collect::<Vec<_>>(),
        ),
        other => bail!("expected a float type, got {}", other),
    }
}

/// Dot product with several accumulators so that the loop vectorises.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = 0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    let a4 = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    s + (a4[0] + a4[2]) + (a4[1] + a4[3])
}

/// Four dot products of `a` with `b[0..4]` at once (one load of `a` per four
/// products).
#[inline]
pub fn dot4(a: &[f32], b: [&[f32]; 4]) -> [f32; 4] {
    let n = b.iter().fold(a.len(), |n, r| n.min(r.len()));
    let a = &a[..n];
    let b = b.map(|r| &r[..n]);
    let mut acc = [[0f32; 8]; 4];
    let full = n / 8 * 8;
    let mut p = 0;
    while p < full {
        let x = &a[p..p + 8];
        for (r, accr) in acc.iter_mut().enumerate() {
            let y = &b[r][p..p + 8];
            for l in 0..8 {
                accr[l] += x[l] * y[l];
            }
        }
        p += 8;
    }
    let mut out = [0f32; 4];
    for r in 0..4 {
        let mut s = 0f32;
        for q in full..n {
            s += a[q] * b[r][q];
        }
        let v = &acc[r];
        out[r] = s + ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
    }
    out
}

/// `c[j] = alpha * a . b[j]` for the `c.len()` rows of `b` (row stride `ldb`, length `k`).
#[inline]
pub fn dots(alpha: f32, a: &[f32], b: &[f32], ldb: usize, k: usize, c: &mut [f32]) {
    let n = c.len();
    let mut j = 0;
    while j + 4 <= n {
        let r = |q: usize| &b[(j + q) * ldb..(j + q) * ldb + k];
        let v = dot4(&a[..k], [r(0), r(1), r(2), r(3)]);
        for q in 0..4 {
            c[j + q] = alpha * v[q];
        }
        j += 4;
    }
    while j < n {
        c[j] = alpha * dot(&a[..k], &b[j * ldb..j * ldb + k]);
        j += 1;
    }
}

/// `y += alpha * x`.
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o += alpha * v;
    }
}

/// `(outer, dim, inner)` of a shape around `axis`.
pub fn split_dims(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// Elements `start..start + len` of a tensor along `axis` (any element type).
pub fn slice_axis(t: &Tensor, axis: usize, start: usize, len: usize) -> Result<Tensor> {
    let shape = t.shape();
    ensure!(
        axis < shape.len(),
        "axis {} out of range for rank {}",
        axis,
        shape.len()
    );
    let (outer, dim, inner) = split_dims(shape, axis);
    ensure!(
        start.checked_add(len).is_some_and(|e| e <= dim),
        "slice {}..{} is out of range for dimension {}",
        start,
        start.saturating_add(len),
        dim
    );
    let mut out_shape = shape.to_vec();
    out_shape[axis] = len;
    dispatch_all!(t.dtype(), T => {
        let src = t.as_slice::<T>()?;
        let mut out: Vec<T> = Vec::with_capacity(outer * len * inner);
        for o in 0..outer {
            let base = (o * dim + start) * inner;
            out.extend_from_slice(&src[base..base + len * inner]);
        }
        Tensor::new(out_shape, out)
    })
}

/// Concatenate tensors of the same type along `axis` (already normalised).
/// All other dimensions must agree.
pub fn concat_axis(parts: &[&Tensor], axis: usize) -> Result<Tensor> {
    let Some(first) = parts.first() else {
        bail!("nothing to concatenate")
    };
    let rank = first.rank();
    ensure!(axis < rank, "axis {} out of range for rank {}", axis, rank);
    let dtype = first.dtype();
    let mut total = 0usize;
    for p in parts {
        ensure!(
            p.dtype() == dtype,
            "cannot concatenate {} with {}",
            dtype,
            p.dtype()
        );
        ensure!(
            p.rank() == rank,
            "cannot concatenate shapes {:?} and {:?}",
            first.shape(),
            p.shape()
        );
        for d in 0..rank {
            ensure!(
                d == axis || p.shape()[d] == first.shape()[d],
                "cannot concatenate shapes {:?} and {:?} along axis {}",
                first.shape(),
                p.shape(),
                axis
            );
        }
        total = total
            .checked_add(p.shape()[axis])
            .ok_or_else(|| runnx_ir::Error::invalid("concatenated size overflows"))?;
    }
    let mut out_shape = first.shape().to_vec();
    out_shape[axis] = total;
    let outer: usize = out_shape[..axis].iter().product();
    let inner: usize = out_shape[axis + 1..].iter().product();
    dispatch_all!(dtype, T => {
        let slices = parts.iter().map(|p| p.as_slice::<T>()).collect::<Result<Vec<_>>>()?;
        let len = runnx_ir::tensor::checked_len(&out_shape)?;
        let mut out: Vec<T> = Vec::with_capacity(len);
        for o in 0..outer {
            for (p, s) in parts.iter().zip(&slices) {
                let run = p.shape()[axis] * inner;
                out.extend_from_slice(&s[o * run..(o + 1) * run]);
            }
        }
        Tensor::new(out_shape, out)
    })
}

/// Permute (B, S, H, D) to (B, H, S, D) or back: swap the two middle axes of a
/// rank-4 buffer.
pub fn swap_middle(v: &[f32], d0: usize, d1: usize, d2: usize, d3: usize) -> Vec<f32> {
    let mut out = vec![0f32; d0 * d1 * d2 * d3];
    for a in 0..d0 {
        for b in 0..d1 {
            for c in 0..d2 {
                let src = ((a * d1 + b) * d2 + c) * d3;
                let dst = ((a * d2 + c) * d1 + b) * d3;
                out[dst..dst + d3].copy_from_slice(&v[src..src + d3]);
            }
        }
    }
    out
}

/// Row counts up to which [`mm_nt`] uses dot products instead of the GEMM engine.
const SMALL_M: usize = 8;

/// `c[m x n] = alpha * a[m x k] * b[n x k]^T` (row-major with leading dimensions),
/// multithreaded when `threaded` and large enough. `c` must hold `m * ldc` elements.
#[allow(clippy::too_many_arguments)]
pub fn mm_nt(
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    threaded: bool,
) -> Result<()> {
    if n == 0 || m == 0 {
        return Ok(());
    }
    if m <= SMALL_M {
        // Few rows (decode steps, small-batch recurrences): dot products against
        // contiguous rows of b, split by columns; packing b would cost as much as
        // the product itself.
        let fits = |len: usize, rows: usize, ld: usize, cols: usize| {
            (rows - 1)
                .checked_mul(ld)
                .and_then(|x| x.checked_add(cols))
                .is_some_and(|x| x <= len)
        };
        ensure!(
            fits(a.len(), m, lda, k) && fits(b.len(), n, ldb, k) && fits(c.len(), m, ldc, n),
            "matrix product operands are too small"
        );
        let threads = if threaded {
            crate::par::current_threads().max(1)
        } else {
            1
        };
        let row_cost = k.saturating_mul(m).max(1);
        let cols = n
            .div_ceil(threads * 4)
            .max(crate::par::MIN_PARALLEL_WORK / row_cost)
            .clamp(1, n);
        if m == 1 {
            crate::par::for_each_chunk_mut(&mut c[..n], cols, cols * row_cost, |ci, chunk| {
                dots(alpha, a, &b[ci * cols * ldb..], ldb, k, chunk);
            });
            return Ok(());
        }
        // Row-block-major scratch (blocks x m x cols) so that column blocks are contiguous.
        let mut tmp = vec![0f32; n.div_ceil(cols) * cols * m];
        crate::par::for_each_chunk_mut(&mut tmp, cols * m, cols * row_cost, |ci, chunk| {
            let j0 = ci * cols;
            let w = cols.min(n - j0);
            for (i, crow) in chunk.chunks_exact_mut(cols).enumerate() {
                dots(alpha, &a[i * lda..], &b[j0 * ldb..], ldb, k, &mut crow[..w]);
            }
        });
        for (ci, block) in tmp.chunks_exact(cols * m).enumerate() {
            let j0 = ci * cols;
            let w = cols.min(n - j0);
            for (i, crow) in block.chunks_exact(cols).enumerate() {
                c[i * ldc + j0..i * ldc + j0 + w].copy_from_slice(&crow[..w]);
            }
        }
        return Ok(());
    }
    let am = MatRef {
        data: a,
        rs: lda,
        cs: 1,
    };
    let bm = MatRef {
        data: b,
        rs: 1,
        cs: ldb,
    };
    if threaded {
        gemm::sgemm(m, n, k, alpha, am, bm, 0.0, c, ldc, &Epilogue::NONE)
    } else {
        gemm::sgemm_st(m, n, k, alpha, am, bm, 0.0, c, ldc, &Epilogue::NONE)
    }
}

/// `c[m x n] = a[m x k] * b[k x n]` on the calling thread (row-major, leading dimensions).
#[allow(clippy::too_many_arguments)]
pub fn mm_nn_st(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) -> Result<()> {
    let am = MatRef {
        data: a,
        rs: lda,
        cs: 1,
    };
    let bm = MatRef {
        data: b,
        rs: ldb,
        cs: 1,
    };
    gemm::sgemm_st(m, n, k, 1.0, am, bm, 0.0, c, ldc, &Epilogue::NONE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mm_nt_matches_naive() {
        for &(m, n, k) in &[(1, 7, 5), (3, 37, 19), (8, 130, 33), (9, 20, 17), (2, 1, 1)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
            let b: Vec<f32> = (0..n * k).map(|i| ((i * 5) % 13) as f32 - 6.0).collect();
            let ldc = n + 2;
            let mut c = vec![0f32; m * ldc];
            mm_nt(m, n, k, 0.5, &a, k, &b, k, &mut c, ldc, true).unwrap();
            for i in 0..m {
                for j in 0..n {
                    let e: f32 = (0..k).map(|p| a[i * k + p] * b[j * k + p]).sum::<f32>() * 0.5;
                    assert!((c[i * ldc + j] - e).abs() < 1e-3, "{m}x{n}x{k} at {i},{j}");
                }
            }
        }
        let mut c = vec![0f32; 2];
        assert!(mm_nt(2, 2, 4, 1.0, &[0.0; 3], 4, &[0.0; 8], 4, &mut c, 2, false).is_err());
    }
}
