//! Softmax, LogSoftmax and Hardmax.
//!
//! Before opset 13 the input is coerced to 2-D at `axis` (`[prod(d[..axis]), prod(d[axis..])]`);
//! from 13 on the operation runs along the single axis `axis`.

use super::common::{read, rows_per_task, split_at_axis, sum_f64, with_flt, write, Flt};
use crate::par::for_each_chunk_mut;
use runnx_ir::dtype::Number;
use runnx_ir::{kernel, Kernel, NodeCtx, Result};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Softmax,
    LogSoftmax,
    Hardmax,
}

/// The maximum of a row (NaN-ignoring, like `max`; NaNs still poison the sum).
#[inline]
fn row_max<F: Flt>(row: &[F]) -> F {
    let mut lanes = [F::neg_infinity(); 8];
    let chunks = row.chunks_exact(8);
    let rem = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            lanes[i] = if c[i] > lanes[i] { c[i] } else { lanes[i] };
        }
    }
    let mut m = lanes
        .iter()
        .fold(F::neg_infinity(), |a, &b| if b > a { b } else { a });
    for &v in rem {
        if v > m {
            m = v;
        }
    }
    m
}

/// Apply the op to one contiguous row, writing `out`.
pub fn row_op<F: Flt>(kind: Kind, x: &[F], out: &mut [F]) {
    if x.is_empty() {
        return;
    }
    match kind {
        Kind::Softmax | Kind::LogSoftmax => {
            let m = row_max(x);
            for (o, &v) in out.iter_mut().zip(x) {
                *o = (v - m).fast_exp();
            }
            let sum = sum_f64(out);
            if kind == Kind::Softmax {
                let inv = F::from_f64(1.0 / sum);
                for o in out.iter_mut() {
                    *o = *o * inv;
                }
            } else {
                let sub = m + F::from_f64(sum.ln());
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = v - sub;
                }
            }
        }
        Kind::Hardmax => {
            let mut bi = 0;
            for (i, &v) in x.iter().enumerate() {
                if v > x[bi] {
                    bi = i;
                }
            }
            for (i, o) in out.iter_mut().enumerate() {
                *o = if i == bi {
                    <F as Number>::one()
                } else {
                    <F as Number>::zero()
                };
            }
        }
    }
}

/// Apply the op along the middle axis of `x` viewed as `[outer, n, inner]`.
pub fn softmax_view<F: Flt>(kind: Kind, x: &[F], n: usize, inner: usize) -> Result<Vec<F>> {
    let mut out = runnx_ir::buffers::take(x.len(), <F as Number>::zero())?;
    if out.is_empty() || n == 0 {
        return Ok(out);
    }
    if inner == 1 {
        let rows = rows_per_task(n * 8);
        for_each_chunk_mut(&mut out, rows * n, rows * n * 8, |ci, chunk| {
            let start = ci * rows * n;
            for (k, o) in chunk.chunks_mut(n).enumerate() {
                let s = start + k * n;
                row_op(kind, &x[s..s + n], o);
            }
        });
    } else {
        for_each_chunk_mut(&mut out, n * inner, n * inner * 8, |o, chunk| {
            let base = &x[o * n * inner..(o + 1) * n * inner];
            let mut col = vec![<F as Number>::zero(); n];
            let mut res = vec![<F as Number>::zero(); n];
            for i in 0..inner {
                for (j, c) in col.iter_mut().enumerate() {
                    *c = base[j * inner + i];
                }
                row_op(kind, &col, &mut res);
                for (j, &r) in res.iter().enumerate() {
                    chunk[j * inner + i] = r;
                }
            }
        });
    }
    Ok(out)
}

fn build(n: &NodeCtx, kind: Kind) -> Result<Box<dyn Kernel>> {
    let legacy = n.opset < 13;
    let axis = n.attr_int("axis", if legacy { 1 } else { -1 })?;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let shape = x.shape();
        let (_, len, inner) = if shape.is_empty() {
            (1, 1, 1)
        } else {
            // The legacy 2-D coercion also accepts axis == rank (rows of one element).
            let ax = if legacy && axis == shape.len() as i64 {
                shape.len()
            } else {
                crate::ops::util::axis(axis, shape.len())?
            };
            if legacy {
                (
                    shape[..ax].iter().product(),
                    shape[ax..].iter().product(),
                    1,
                )
            } else {
                split_at_axis(shape, ax)
            }
        };
        let out = with_flt!(x.dtype(), F => {
            let v = read::<F>(x)?;
            write(softmax_view::<F>(kind, &v, len, inner)?, x.dtype(), shape)?
        });
        Ok(vec![out.into()])
    }))
}

pub fn softmax(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    build(n, Kind::Softmax)
}

pub fn log_softmax(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    build(n, Kind::LogSoftmax)
}

pub fn hardmax(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    build(n, Kind::Hardmax)
}
