//! Helpers shared by the image ops: attribute checks and float plumbing.

use runnx_ir::dtype::Number;
use runnx_ir::{bail, ensure, DType, NodeCtx, Result, Tensor};

/// A float type the kernels compute in (f32 or f64).
pub trait Real: num_traits::Float + Number + Send + Sync + std::iter::Sum {
    /// A constant of this type.
    #[inline(always)]
    fn c(v: f64) -> Self {
        <Self as Number>::from_f64(v)
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        <Self as Number>::to_f64(self)
    }
}
impl Real for f32 {}
impl Real for f64 {}

/// Run a float computation: f32 and f64 directly, f16/bf16 through f32.
/// `f` gets the input as f32/f64 and returns a tensor of the same type; the result
/// is cast back to the input's type.
pub fn with_real<F32, F64>(t: &Tensor, f32_fn: F32, f64_fn: F64) -> Result<Tensor>
where
    F32: FnOnce(&Tensor) -> Result<Tensor>,
    F64: FnOnce(&Tensor) -> Result<Tensor>,
{
    match t.dtype() {
        DType::F32 => f32_fn(t),
        DType::F64 => f64_fn(t),
        DType::F16 | DType::BF16 => f32_fn(&t.cast(DType::F32)?)?.cast(t.dtype()),
        other => bail!("expected a float tensor, got {}", other),
    }
}

/// A list of non-negative ints attribute, checked; `None` when absent.
pub fn attr_usizes(n: &NodeCtx, name: &str, min: i64) -> Result<Option<Vec<usize>>> {
    match n.attr_ints_opt(name)? {
        None => Ok(None),
        Some(v) => {
            let mut out = Vec::with_capacity(v.len());
            for x in v {
                ensure!(
                    x >= min,
                    "attribute '{}' values must be >= {}, got {}",
                    name,
                    min,
                    x
                );
                out.push(
                    usize::try_from(x)
                        .map_err(|_| runnx_ir::Error::invalid("attribute value too large"))?,
                );
            }
            Ok(Some(out))
        }
    }
}

/// Convert an i64 that must be a valid size.
pub fn to_usize(v: i64, what: &str) -> Result<usize> {
    usize::try_from(v)
        .map_err(|_| runnx_ir::Error::invalid(format!("{what} must be non-negative, got {v}")))
}

/// Round half to even then convert, saturating (for float results stored in ints).
pub fn from_f64_rounded<T: Number>(v: f64) -> T {
    if T::IS_FLOAT {
        T::from_f64(v)
    } else {
        T::from_f64(round_half_even(v))
    }
}

pub fn round_half_even(v: f64) -> f64 {
    let r = v.round();
    if (v - v.trunc()).abs() == 0.5 {
        2.0 * (v / 2.0).round()
    } else {
        r
    }
}

/// Number of elements of a shape, checked.
pub fn numel(shape: &[usize]) -> Result<usize> {
    runnx_ir::tensor::checked_len(shape)
}

/// Split a shape `[N, C, spatial...]`, requiring rank >= `min_rank`.
pub fn nc_spatial(
    shape: &[usize],
    min_rank: usize,
    what: &str,
) -> Result<(usize, usize, Vec<usize>)> {
    ensure!(
        shape.len() >= min_rank,
        "{} expects an input of rank >= {}, got shape {:?}",
        what,
        min_rank,
        shape
    );
    Ok((shape[0], shape[1], shape[2..].to_vec()))
}
