//! The fused-op API for the planner.
//!
//! Rewrite a node into one of these (domain "runnx", opset 1):
//!
//! | op            | inputs            | attributes                                             |
//! |---------------|-------------------|--------------------------------------------------------|
//! | `FusedConv`   | X, W, [B]         | Conv's, `activation`, `activation_params`              |
//! | `FusedGemm`   | A, B, [C]         | Gemm's (alpha, beta, transA, transB), `activation`, .. |
//! | `FusedMatMul` | A, B, [bias]      | `activation`, `activation_params`; bias broadcasts to Y |
//!
//! `activation` names an ONNX activation op ("Relu", "LeakyRelu", "Clip", "Sigmoid",
//! "Tanh", "HardSigmoid", "HardSwish", "Elu"; "" for none); `activation_params` are
//! its parameters in attribute order (LeakyRelu/Elu: alpha; Clip: min, max;
//! HardSigmoid: alpha, beta). Bias and activation are applied while each output
//! tile is in registers/L1. Conv+Add(bias [M,1,1]) folds into B, MatMul+Add([N])
//! into FusedMatMul's bias (an `[N]` or scalar bias is fused into the GEMM
//! store; other broadcastable shapes are added after it).
//!
//! The same kernels are callable directly on f32 slices.

pub use super::conv::{conv_f32, conv_transpose_f32, ConvParams};
pub use super::matmul::{gemm_fused, matmul_f32, GemmParams};
pub use crate::gemm::{Activation, Bias, Epilogue};
