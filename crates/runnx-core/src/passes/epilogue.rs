//! Fuse work into the GEMM/convolution kernels' epilogues, where each output tile
//! is still in registers: MatMul + Add(bias) becomes FusedMatMul, and an activation
//! after Conv / Gemm / MatMul becomes the fused op's `activation`.
//!
//! Rewrites fire only when a constant operand proves the data is f32 (the fused
//! kernels' type) and the intermediate value has no other reader.

use super::Uses;
use crate::plan::{Compiler, FUSED_DOMAIN};
use runnx_ir::graph::{Graph, Node};
use runnx_ir::{Attribute, DType};
use std::collections::HashMap;

pub fn fuse_epilogues(g: &mut Graph, compiler: &Compiler) {
    fuse_matmul_bias(g, compiler);
    fuse_activations(g, compiler);
}

fn is_f32_const(g: &Graph, name: Option<&String>) -> bool {
    name.and_then(|n| g.initializers.get(n))
        .is_some_and(|t| t.dtype() == DType::F32)
}

fn producers(g: &Graph) -> HashMap<String, usize> {
    g.nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.outputs.iter().map(move |o| (o.clone(), i)))
        .collect()
}

/// Replace `nodes[i]` by `fused`, drop `nodes[j]`, in one pass at the end.
fn apply(g: &mut Graph, rewrites: Vec<(usize, usize, Node)>) {
    let mut drop = vec![false; g.nodes.len()];
    for (keep, gone, fused) in rewrites {
        g.nodes[keep] = fused;
        drop[gone] = true;
    }
    let mut d = drop.iter();
    g.nodes.retain(|_| !*d.next().unwrap_or(&false));
}

/// MatMul(A, W) + b with W an f32 constant [K, N] and b a constant of N values.
fn fuse_matmul_bias(g: &mut Graph, compiler: &Compiler) {
    let uses = Uses::of(g);
    let prod = producers(g);
    let mut rewrites = Vec::new();
    let mut taken = vec![false; g.nodes.len()];
    for (add_i, add) in g.nodes.iter().enumerate() {
        if add.op_type != "Add" || !add.domain.is_empty() || add.inputs.len() != 2 {
            continue;
        }
        for (mm_out, bias) in [
            (&add.inputs[0], &add.inputs[1]),
            (&add.inputs[1], &add.inputs[0]),
        ] {
            let Some(&mm_i) = prod.get(mm_out) else {
                continue;
            };
            let mm = &g.nodes[mm_i];
            if mm.op_type != "MatMul"
                || !mm.domain.is_empty()
                || taken[mm_i]
                || !uses.single_internal_reader(mm_out)
            {
                continue;
            }
            let (Some(w), Some(b)) = (
                mm.inputs.get(1).and_then(|n| g.initializers.get(n)),
                g.initializers.get(bias),
            ) else {
                continue;
            };
            let n = w.shape().last().copied();
            let bias_ok = b.dtype() == DType::F32
                && w.dtype() == DType::F32
                && w.rank() == 2
                && Some(b.len()) == n
                && b.shape().iter().rev().skip(1).all(|&d| d == 1);
            if !bias_ok {
                continue;
            }
            let fused = Node {
                name: mm.name.clone(),
                op_type: "FusedMatMul".into(),
                domain: FUSED_DOMAIN.into(),
                inputs: vec![mm.inputs[0].clone(), mm.inputs[1].clone(), bias.clone()],
                outputs: add.outputs.clone(),
                attrs: vec![],
            };
            if compiler.can_compile(&fused) {
                taken[mm_i] = true;
                rewrites.push((mm_i, add_i, fused));
                break;
            }
        }
    }
    apply(g, rewrites);
}

/// The fused name and parameters of an activation node, if it has constant parameters.
fn activation_of(g: &Graph, n: &Node) -> Option<(String, Vec<f32>)> {
    if !n.domain.is_empty() {
        return None;
    }
    let attr_f = |name: &str, d: f32| match n.attr(name) {
        Some(Attribute::Float(v)) => *v,
        _ => d,
    };
    let params = match n.op_type.as_str() {
        "Relu" | "Sigmoid" | "Tanh" | "HardSwish" => vec![],
        "LeakyRelu" => vec![attr_f("alpha", 0.01)],
        "Elu" => vec![attr_f("alpha", 1.0)],
        "HardSigmoid" => vec![attr_f("alpha", 0.2), attr_f("beta", 0.5)],
        "Clip" => {
            let bound = |i: usize, attr: &str, d: f32| -> Option<f32> {
                match n.inputs.get(i).filter(|s| !s.is_empty()) {
                    Some(name) => {
                        let t = g.initializers.get(name)?;
                        (t.dtype() == DType::F32)
                            .then(|| t.scalar_value::<f32>().ok())
                            .flatten()
                    }
                    None => Some(attr_f(attr, d)),
                }
            };
            vec![
                bound(1, "min", f32::NEG_INFINITY)?,
                bound(2, "max", f32::INFINITY)?,
            ]
        }
        _ => return None,
    };
    Some((n.op_type.clone(), params))
}

/// Conv / Gemm / MatMul / their fused forms followed by an activation.
fn fuse_activations(g: &mut Graph, compiler: &Compiler) {
    let uses = Uses::of(g);
    let prod = producers(g);
    let mut rewrites = Vec::new();
    for (act_i, act) in g.nodes.iter().enumerate() {
        let Some((name, params)) = activation_of(g, act) else {
            continue;
        };
        let Some(x) = act.inputs.first() else {
            continue;
        };
        let Some(&src_i) = prod.get(x) else { continue };
        let src = &g.nodes[src_i];
        if !uses.single_internal_reader(x) {
            continue;
        }
        let fused_op = match (src.domain.as_str(), src.op_type.as_str()) {
            ("", "Conv") | (FUSED_DOMAIN, "FusedConv") => "FusedConv",
            ("", "Gemm") | (FUSED_DOMAIN, "FusedGemm") => "FusedGemm",
            ("", "MatMul") | (FUSED_DOMAIN, "FusedMatMul") => "FusedMatMul",
            _ => continue,
        };
        if src.attr("activation").is_some() || !is_f32_const(g, src.inputs.get(1)) {
            continue;
        }
        let mut attrs = src.attrs.clone();
        attrs.push(("activation".into(), Attribute::String(name.into_bytes())));
        attrs.push(("activation_params".into(), Attribute::Floats(params)));
        let fused = Node {
            name: src.name.clone(),
            op_type: fused_op.into(),
            domain: FUSED_DOMAIN.into(),
            inputs: src.inputs.clone(),
            outputs: act.outputs.clone(),
            attrs,
        };
        if compiler.can_compile(&fused) {
            rewrites.push((src_i, act_i, fused));
        }
    }
    apply(g, rewrites);
}
