//! Matrix multiply, convolution and quantized linear algebra.
//!
//! Fused ops for the planner live under the domain "runnx" (see [`fused`]):
//! `FusedConv`, `FusedGemm` and `FusedMatMul`, each with the attributes of the op it
//! extends plus `activation` (an ONNX activation op name: Relu, LeakyRelu, Clip,
//! Sigmoid, Tanh, HardSigmoid, HardSwish, Elu) and `activation_params` (floats: alpha
//! for LeakyRelu/Elu, min/max for Clip, alpha/beta for HardSigmoid).

use crate::Registry;

mod common;
pub mod conv;
mod deform;
pub mod fused;
pub mod matmul;
mod quant;

pub fn register(r: &mut Registry) {
    r.add("MatMul", matmul::build_matmul);
    r.add("Gemm", matmul::build_gemm);
    r.add("Conv", conv::build_conv);
    r.add("ConvTranspose", conv::build_conv_transpose);
    r.add("DeformConv", deform::build_deform_conv);
    r.add("QuantizeLinear", quant::build_quantize);
    r.add("DequantizeLinear", quant::build_dequantize);
    r.add("DynamicQuantizeLinear", quant::build_dynamic_quantize);
    r.add("MatMulInteger", quant::build_matmul_integer);
    r.add("ConvInteger", quant::build_conv_integer);
    r.add("QLinearMatMul", quant::build_qlinear_matmul);
    r.add("QLinearConv", quant::build_qlinear_conv);
    r.add_in("runnx", "FusedConv", 1, conv::build_fused_conv);
    r.add_in("runnx", "FusedGemm", 1, matmul::build_fused_gemm);
    r.add_in("runnx", "FusedMatMul", 1, matmul::build_fused_matmul);
}
