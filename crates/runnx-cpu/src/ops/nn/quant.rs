//! Quantization ops.
use runnx_ir::{bail, Kernel, NodeCtx, Result};
pub(crate) fn build_quantize(_n: &NodeCtx) -> Result<Box<dyn Kernel>> { bail!("todo") }
pub(crate) fn build_dequantize(_n: &NodeCtx) -> Result<Box<dyn Kernel>> { bail!("todo") }
pub(crate) fn build_dynamic_quantize(_n: &NodeCtx) -> Result<Box<dyn Kernel>> { bail!("todo") }
pub(crate) fn build_matmul_integer(_n: &NodeCtx) -> Result<Box<dyn Kernel>> { bail!("todo") }
pub(crate) fn build_conv_integer(_n: &NodeCtx) -> Result<Box<dyn Kernel>> { bail!("todo") }
pub(crate) fn build_qlinear_matmul(_n: &NodeCtx) -> Result<Box<dyn Kernel>> { bail!("todo") }
pub(crate) fn build_qlinear_conv(_n: &NodeCtx) -> Result<Box<dyn Kernel>> { bail!("todo") }
