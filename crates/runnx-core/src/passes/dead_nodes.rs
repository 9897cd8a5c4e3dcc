//! Remove nodes (and initializers) that no graph output depends on.

use runnx_ir::graph::Graph;
use std::collections::HashSet;

/// Ops with effects beyond their outputs are none in ONNX inference, so any node
/// whose outputs are all unneeded can go.
pub fn remove_dead_nodes(g: &mut Graph) {
    let mut needed: HashSet<String> = g.outputs.iter().map(|o| o.name.clone()).collect();
    let mut keep = vec![false; g.nodes.len()];
    // Walk backwards: nodes are topologically ordered in well-formed models; loop until
    // stable so that any order works.
    loop {
        let mut changed = false;
        for (i, n) in g.nodes.iter().enumerate().rev() {
            if keep[i] || !n.outputs.iter().any(|o| needed.contains(o)) {
                continue;
            }
            keep[i] = true;
            changed = true;
            needed.extend(n.inputs.iter().filter(|s| !s.is_empty()).cloned());
            needed.extend(crate::plan::subgraph_free_names(n));
        }
        if !changed {
            break;
        }
    }
    let mut k = keep.iter();
    g.nodes.retain(|_| *k.next().unwrap_or(&true));
    let overridable: HashSet<&str> = g.overridable.iter().map(|v| v.name.as_str()).collect();
    g.initializers
        .retain(|name, _| needed.contains(name) || overridable.contains(name.as_str()));
}
