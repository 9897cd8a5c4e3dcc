//! DeformConv.
use runnx_ir::{bail, Kernel, NodeCtx, Result};
pub(crate) fn build_deform_conv(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    bail!("todo")
}
