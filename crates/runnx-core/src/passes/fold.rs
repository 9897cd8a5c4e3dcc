//! Constant folding: run, at plan time, every node whose inputs are all constants
//! and replace its outputs with initializers.

use crate::plan::Compiler;
use runnx_ir::graph::Graph;
use runnx_ir::{Inputs, NodeCtx, Result, Value};
use std::collections::HashSet;

/// Ops whose result is not a function of their inputs.
pub(super) const NONDETERMINISTIC: &[&str] = &[
    "RandomUniform",
    "RandomNormal",
    "RandomUniformLike",
    "RandomNormalLike",
    "Bernoulli",
    "Multinomial",
    "Dropout",
];

/// Folded results larger than this (elements) stay computed at run time.
const MAX_FOLDED_ELEMENTS: usize = 1 << 24;

pub fn fold_constants(g: &mut Graph, compiler: &Compiler) -> Result<()> {
    let overridable: HashSet<String> = g.overridable.iter().map(|v| v.name.clone()).collect();
    let mut folded = vec![false; g.nodes.len()];
    for (i, done) in folded.iter_mut().enumerate() {
        let node = &g.nodes[i];
        let foldable = node.domain.is_empty()
            && !NONDETERMINISTIC.contains(&node.op_type.as_str())
            && node.subgraphs().next().is_none()
            && node.inputs.iter().all(|n| {
                n.is_empty() || (g.initializers.contains_key(n) && !overridable.contains(n))
            });
        if !foldable {
            continue;
        }
        let Some(opset) = compiler.opset(&node.domain) else {
            continue;
        };
        let ctx = NodeCtx { node, opset };
        // A node that fails to compile or run is left for run time, where it reports its error.
        let Some(kernel) = compiler
            .backends
            .iter()
            .find_map(|b| b.compile(&ctx).ok().flatten())
        else {
            continue;
        };
        let values: Vec<Option<Value>> = node
            .inputs
            .iter()
            .map(|n| g.initializers.get(n).map(|t| Value::Tensor(t.clone())))
            .collect();
        let refs: Vec<Option<&Value>> = values.iter().map(Option::as_ref).collect();
        let Ok(outs) = kernel.run(&Inputs::new(&refs)) else {
            continue;
        };
        let tensors: Option<Vec<_>> = outs
            .into_iter()
            .map(|v| match v {
                Value::Tensor(t) if t.len() <= MAX_FOLDED_ELEMENTS => Some(t),
                _ => None,
            })
            .collect();
        let Some(tensors) = tensors else { continue };
        let node = &g.nodes[i];
        if tensors.len() < node.outputs.iter().filter(|o| !o.is_empty()).count() {
            continue;
        }
        for (name, t) in node.outputs.clone().into_iter().zip(tensors) {
            if !name.is_empty() {
                g.initializers.insert(name, t);
            }
        }
        *done = true;
    }
    let mut f = folded.iter();
    g.nodes.retain(|_| !*f.next().unwrap_or(&false));
    Ok(())
}
