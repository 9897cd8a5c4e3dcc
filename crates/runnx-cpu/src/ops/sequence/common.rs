//! Helpers shared by this family: float conversion, small matrix products,
//! slicing and concatenating along an axis.
//!
//! The products here are simple row-major loops written so that the compiler can
//! vectorise their inner loops. They serve the recurrent and attention kernels
//! until they move onto the shared GEMM engine (crate::gemm), which has no
//! public API yet.

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

/// `y += alpha * x`.
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o += alpha * v;
    }
}

/// `c[m x n] (+)= a[m x k] * b[n x k]^T`, all row-major with leading dimensions.
/// The caller guarantees the slices are large enough.
#[allow(clippy::too_many_arguments)]
pub fn gemm_nt(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    for i in 0..m {
        let arow = &a[i * lda..i * lda + k];
        let crow = &mut c[i * ldc..i * ldc + n];
        for (j, cv) in crow.iter_mut().enumerate() {
            let d = dot(arow, &b[j * ldb..j * ldb + k]);
            if accumulate {
                *cv += d;
            } else {
                *cv = d;
            }
        }
    }
}

/// `c[m x n] (+)= a[m x k] * b[k x n]`, all row-major with leading dimensions.
#[allow(clippy::too_many_arguments)]
pub fn gemm_nn(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    for i in 0..m {
        let crow = &mut c[i * ldc..i * ldc + n];
        if !accumulate {
            crow.fill(0.0);
        }
        for p in 0..k {
            axpy(a[i * lda + p], &b[p * ldb..p * ldb + n], crow);
        }
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

/// [`gemm_nt`] split across threads by rows of the output when the product is
/// large enough. `c` must hold `m * ldc` elements.
#[allow(clippy::too_many_arguments)]
pub fn par_gemm_nt(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    if n == 0 || m == 0 {
        return;
    }
    let row_cost = n.saturating_mul(k).max(1);
    let threads = crate::par::current_threads().max(1);
    if m == 1 {
        // One row (batch 1): split the columns instead.
        let cols = n
            .div_ceil(threads * 4)
            .max(crate::par::MIN_PARALLEL_WORK / k.max(1))
            .clamp(1, n);
        crate::par::for_each_chunk_mut(&mut c[..n], cols, cols * k, |ci, chunk| {
            let j0 = ci * cols;
            gemm_nt(
                1,
                chunk.len(),
                k,
                a,
                lda,
                &b[j0 * ldb..],
                ldb,
                chunk,
                ldc,
                accumulate,
            );
        });
        return;
    }
    let rows = m
        .div_ceil(threads * 4)
        .max(crate::par::MIN_PARALLEL_WORK / row_cost)
        .clamp(1, m);
    crate::par::for_each_chunk_mut(
        &mut c[..m * ldc],
        rows * ldc,
        rows * row_cost,
        |ci, chunk| {
            let r0 = ci * rows;
            let mr = chunk.len() / ldc;
            gemm_nt(
                mr,
                n,
                k,
                &a[r0 * lda..],
                lda,
                b,
                ldb,
                chunk,
                ldc,
                accumulate,
            );
        },
    );
}
