//! Graph passes run once at planning time. Each pass is a function from graph to
//! graph with one job; `optimize` runs them in order.

use crate::plan::Compiler;
use runnx_ir::graph::Graph;
use runnx_ir::Result;

pub fn optimize(graph: &Graph, compiler: &Compiler) -> Result<Graph> {
    let _ = compiler;
    Ok(graph.clone())
}
