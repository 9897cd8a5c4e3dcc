//! Small helpers shared by the nn kernels.

use runnx_ir::{DType, Result, Tensor};

pub(crate) use runnx_ir::tensor::checked_len;

/// The tensor as f32 (no copy when it already is).
pub(crate) fn as_f32(t: &Tensor) -> Result<Tensor> {
    if t.dtype() == DType::F32 {
        Ok(t.clone())
    } else {
        t.cast(DType::F32)
    }
}

/// An f32 result converted back to the op's element type.
pub(crate) fn from_f32(t: Tensor, dt: DType) -> Result<Tensor> {
    if dt == DType::F32 {
        Ok(t)
    } else {
        t.cast(dt)
    }
}

/// Row-major multi-index of a flat index.
#[inline]
pub(crate) fn unravel(mut flat: usize, shape: &[usize], idx: &mut [usize]) {
    for d in (0..shape.len()).rev() {
        let s = shape[d].max(1);
        idx[d] = flat % s;
        flat /= s;
    }
}

/// Round half to even (ONNX quantization rounding).
#[inline]
pub(crate) fn round_even(x: f32) -> f32 {
    x.round_ties_even()
}
