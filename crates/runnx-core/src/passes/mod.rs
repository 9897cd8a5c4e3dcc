//! Graph passes run once at planning time. Each pass is a function with one job
//! that rewrites the graph in place; `optimize` runs them in order.

mod conv_bn;
mod dead_nodes;
mod epilogue;
mod fold;
mod gelu;
mod identity;
mod known_values;
mod uses;

use crate::plan::Compiler;
use runnx_ir::graph::Graph;
use runnx_ir::{Attribute, Result};
use std::sync::Arc;

pub use uses::Uses;

/// Optimise a graph and, first, every subgraph inside it (If branches, Loop and
/// Scan bodies), which then run as optimised plans too.
pub fn optimize(graph: &Graph, compiler: &Compiler) -> Result<Graph> {
    let mut g = graph.clone();
    for node in g.nodes.iter_mut() {
        for (_, attr) in node.attrs.iter_mut() {
            match attr {
                Attribute::Graph(sub) => *sub = Arc::new(optimize(sub, compiler)?),
                Attribute::Graphs(subs) => {
                    for sub in subs.iter_mut() {
                        *sub = Arc::new(optimize(sub, compiler)?);
                    }
                }
                _ => {}
            }
        }
    }
    fold::fold_constants(&mut g, compiler)?;
    known_values::fold_known_values(&mut g, compiler);
    fold::fold_constants(&mut g, compiler)?;
    identity::remove_identities(&mut g);
    conv_bn::fold_batch_norm_into_conv(&mut g);
    gelu::fuse_gelu(&mut g, compiler);
    epilogue::fuse_epilogues(&mut g, compiler);
    dead_nodes::remove_dead_nodes(&mut g);
    annotate_types(&mut g, compiler);
    Ok(g)
}

/// Record what inference knows of each intermediate value in `value_info`
/// (for tools such as `runnx inspect`), merged with what the model declares.
fn annotate_types(g: &mut Graph, compiler: &Compiler) {
    let facts = crate::infer::infer_graph(g, &compiler.opsets);
    for node in &g.nodes {
        for o in node.outputs.iter().filter(|o| !o.is_empty()) {
            if let Some(f) = facts.get(o).filter(|f| f.is_known()) {
                g.value_info.insert(o.clone(), f.to_type());
            }
        }
    }
}
