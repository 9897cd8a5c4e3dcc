//! Values whose elements shape inference can tell (the `Shape` of a fixed-shape
//! input and the integer arithmetic exporters build on it) become initializers,
//! so shape subgraphs fold away and their consumers see constants.

use super::fold::NONDETERMINISTIC;
use crate::infer::{infer_graph, Fact};
use crate::plan::Compiler;
use runnx_ir::graph::Graph;
use runnx_ir::{DType, Tensor};

pub fn fold_known_values(g: &mut Graph, compiler: &Compiler) {
    let facts = infer_graph(g, &compiler.opsets);
    let mut folded = vec![false; g.nodes.len()];
    for (i, node) in g.nodes.iter().enumerate() {
        if NONDETERMINISTIC.contains(&node.op_type.as_str()) || node.subgraphs().next().is_some() {
            continue;
        }
        let tensors: Option<Vec<(String, Tensor)>> = node
            .outputs
            .iter()
            .filter(|o| !o.is_empty())
            .map(|o| Some((o.clone(), known_tensor(facts.get(o)?)?)))
            .collect();
        let Some(tensors) = tensors.filter(|t| !t.is_empty()) else {
            continue;
        };
        for (name, t) in tensors {
            g.initializers.insert(name, t);
        }
        folded[i] = true;
    }
    let mut f = folded.iter();
    g.nodes.retain(|_| !*f.next().unwrap_or(&false));
}

/// The tensor a fact fully determines, if it does.
fn known_tensor(f: &Fact) -> Option<Tensor> {
    let shape = f.concrete_shape()?;
    let ints = f.known_ints()?;
    match f.dtype? {
        DType::I64 => Tensor::new(shape, ints).ok(),
        DType::I32 => {
            let v: Option<Vec<i32>> = ints.iter().map(|&x| i32::try_from(x).ok()).collect();
            Tensor::new(shape, v?).ok()
        }
        _ => None,
    }
}
