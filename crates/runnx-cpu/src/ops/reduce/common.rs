//! Helpers shared by the reduction family: float compute types, axis views,
//! transposition.

use runnx_ir::dtype::Number;
use runnx_ir::{bail, dispatch_float, ensure, DType, Result, Tensor};
use std::borrow::Cow;

/// A float type kernels compute in: f32 (for f32, f16 and bf16 tensors) or f64.
pub trait Flt: num_traits::Float + Number + std::iter::Sum + Send + Sync + 'static {}
impl Flt for f32 {}
impl Flt for f64 {}

/// The elements of a float tensor as `F` (borrowed when the tensor holds `F`).
pub fn read<F: Flt>(t: &Tensor) -> Result<Cow<'_, [F]>> {
    if t.dtype() == F::DTYPE {
        return Ok(Cow::Borrowed(t.as_slice::<F>()?));
    }
    dispatch_float!(t.dtype(), T => {
        let s = t.as_slice::<T>()?;
        Ok(Cow::Owned(s.iter().map(|&v| F::from_f64(v.to_f64())).collect()))
    })
}

/// A tensor of `dtype` (a float type) from values computed as `F`.
pub fn write<F: Flt>(v: Vec<F>, dtype: DType, shape: impl Into<Vec<usize>>) -> Result<Tensor> {
    if dtype == F::DTYPE {
        return Tensor::new(shape, v);
    }
    dispatch_float!(dtype, T => Tensor::new(shape, v.iter().map(|&x| T::from_f64(x.to_f64())).collect::<Vec<T>>()))
}

/// Run `$body` with `$F` bound to the compute type for the float dtype `$dt`
/// (f64 for f64 tensors, f32 for the other float types).
macro_rules! with_flt {
    ($dt:expr, $F:ident => $body:expr) => {
        match $dt {
            runnx_ir::DType::F64 => {
                type $F = f64;
                $body
            }
            runnx_ir::DType::F32 | runnx_ir::DType::F16 | runnx_ir::DType::BF16 => {
                type $F = f32;
                $body
            }
            other => runnx_ir::bail!("expected a float tensor, got {}", other),
        }
    };
}
pub(crate) use with_flt;

/// `(outer, n, inner)` of a tensor viewed around `axis`.
pub fn split_at_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let n = shape.get(axis).copied().unwrap_or(1);
    let inner = shape.get(axis + 1..).map_or(1, |s| s.iter().product());
    (outer, n, inner)
}

/// Row-major strides.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Copy `x` (of `shape`) into the layout of its transpose by `perm`
/// (output dimension `i` is input dimension `perm[i]`).
pub fn transpose<T: Copy>(x: &[T], shape: &[usize], perm: &[usize]) -> Result<Vec<T>> {
    ensure!(
        perm.len() == shape.len(),
        "permutation {:?} does not match shape {:?}",
        perm,
        shape
    );
    ensure!(
        x.len() == shape.iter().product::<usize>(),
        "data does not match shape {:?}",
        shape
    );
    let rank = shape.len();
    if perm.iter().enumerate().all(|(i, &p)| i == p) || x.is_empty() {
        return Ok(x.to_vec());
    }
    let st = strides(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let src_st: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
    let inner = out_shape[rank - 1];
    let inner_st = src_st[rank - 1];
    let outer: usize = out_shape[..rank - 1].iter().product();
    let mut out = Vec::with_capacity(x.len());
    let mut idx = vec![0usize; rank - 1];
    let mut base = 0usize;
    for _ in 0..outer {
        if inner_st == 1 {
            out.extend_from_slice(&x[base..base + inner]);
        } else {
            out.extend((0..inner).map(|i| x[base + i * inner_st]));
        }
        for d in (0..rank - 1).rev() {
            idx[d] += 1;
            base += src_st[d];
            if idx[d] < out_shape[d] {
                break;
            }
            base -= src_st[d] * out_shape[d];
            idx[d] = 0;
        }
    }
    Ok(out)
}

/// Materialise `x` (of `shape`) broadcast to `target` (numpy rules, right-aligned).
pub fn broadcast_to<T: Copy>(x: &[T], shape: &[usize], target: &[usize]) -> Result<Vec<T>> {
    ensure!(
        shape.len() <= target.len()
            && shape
                .iter()
                .rev()
                .zip(target.iter().rev())
                .all(|(&s, &t)| s == t || s == 1),
        "shape {:?} cannot be broadcast to {:?}",
        shape,
        target
    );
    if shape == target {
        return Ok(x.to_vec());
    }
    let st = crate::ops::util::broadcast_strides(shape, target);
    let total: usize = target.iter().product();
    let mut out = Vec::with_capacity(total);
    crate::ops::util::for_each_broadcast_run(target, &st, &st, |_, a, sa, _, _, len| {
        out.extend((0..len).map(|i| x[a + i * sa]));
    });
    Ok(out)
}

/// A per-position parameter (scale, bias) over a block of `shape`, expanded to the
/// full block when it broadcasts to it.
pub fn param_block<F: Flt>(t: &Tensor, block: &[usize], what: &str) -> Result<Vec<F>> {
    let v = read::<F>(t)?;
    if v.len() == block.iter().product::<usize>() && t.shape().iter().product::<usize>() == v.len()
    {
        if t.shape() == block
            || t.shape()
                .iter()
                .filter(|&&d| d != 1)
                .eq(block.iter().filter(|&&d| d != 1))
        {
            return Ok(v.into_owned());
        }
    }
    match broadcast_to(&v, t.shape(), block) {
        Ok(b) => Ok(b),
        Err(_) => bail!(
            "{} of shape {:?} does not broadcast to {:?}",
            what,
            t.shape(),
            block
        ),
    }
}

/// Rows per parallel task so that each task does roughly `MIN_PARALLEL_WORK / 4` work.
pub fn rows_per_task(row_cost: usize) -> usize {
    (crate::par::MIN_PARALLEL_WORK / 4 / row_cost.max(1)).max(1)
}
