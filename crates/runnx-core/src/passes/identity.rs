//! Remove Identity nodes by letting their readers read the source directly.

use runnx_ir::graph::Graph;
use std::collections::HashSet;

pub fn remove_identities(g: &mut Graph) {
    let outputs: HashSet<String> = g.outputs.iter().map(|o| o.name.clone()).collect();
    // Names read by subgraphs are captured by name; leave those alone.
    let captured: HashSet<String> = g
        .nodes
        .iter()
        .flat_map(crate::plan::subgraph_free_names)
        .collect();
    let mut removed = vec![false; g.nodes.len()];
    for (i, gone) in removed.iter_mut().enumerate() {
        let n = &g.nodes[i];
        if n.op_type != "Identity"
            || !n.domain.is_empty()
            || n.inputs.len() != 1
            || n.outputs.len() != 1
        {
            continue;
        }
        let (src, dst) = (n.inputs[0].clone(), n.outputs[0].clone());
        if src.is_empty() || outputs.contains(&dst) || captured.contains(&dst) {
            continue;
        }
        for other in g.nodes.iter_mut() {
            for input in other.inputs.iter_mut() {
                if *input == dst {
                    *input = src.clone();
                }
            }
        }
        *gone = true;
    }
    let mut r = removed.iter();
    g.nodes.retain(|_| !*r.next().unwrap_or(&false));
}
