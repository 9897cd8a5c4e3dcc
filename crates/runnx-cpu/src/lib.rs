//! The CPU backend of runnx: a kernel for every operator the engine knows.
//!
//! - `ops/` holds the operators by family (attribute parsing + kernel).
//! - `gemm/` holds the packed, blocked matrix multiply and its per-ISA micro-kernels.
//! - `par` is the one place threads come from; `scratch` holds per-thread buffers.

pub mod gemm;
pub mod ops;
pub mod par;
mod registry;
mod scratch;

use runnx_ir::{Backend, Kernel, NodeCtx, Result};

pub use registry::{OpEntry, Registry};

/// The CPU backend: takes every node it has a kernel for.
pub struct CpuBackend {
    registry: Registry,
}

impl CpuBackend {
    pub fn new() -> CpuBackend {
        CpuBackend {
            registry: Registry::with_all_ops(),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

impl Default for CpuBackend {
    fn default() -> Self {
        CpuBackend::new()
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn compile(&self, ctx: &NodeCtx) -> Result<Option<Box<dyn Kernel>>> {
        match self
            .registry
            .find(&ctx.node.domain, &ctx.node.op_type, ctx.opset)
        {
            Some(entry) => (entry.build)(ctx).map(Some),
            None => Ok(None),
        }
    }
}
