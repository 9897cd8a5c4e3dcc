//! Who reads each value: node inputs, subgraph captures and graph outputs.

use runnx_ir::graph::Graph;
use std::collections::HashMap;

pub struct Uses {
    readers: HashMap<String, usize>,
    outputs: Vec<String>,
}

impl Uses {
    pub fn of(g: &Graph) -> Uses {
        let mut readers: HashMap<String, usize> = HashMap::new();
        for n in &g.nodes {
            for i in n.inputs.iter().filter(|i| !i.is_empty()) {
                *readers.entry(i.clone()).or_default() += 1;
            }
            for i in crate::plan::subgraph_free_names(n) {
                *readers.entry(i).or_default() += 1;
            }
        }
        Uses {
            readers,
            outputs: g.outputs.iter().map(|o| o.name.clone()).collect(),
        }
    }

    /// Number of node reads of a value.
    pub fn readers(&self, name: &str) -> usize {
        self.readers.get(name).copied().unwrap_or(0)
    }

    pub fn is_graph_output(&self, name: &str) -> bool {
        self.outputs.iter().any(|o| o == name)
    }

    /// Read by exactly one node and not a graph output: safe to fuse away.
    pub fn single_internal_reader(&self, name: &str) -> bool {
        self.readers(name) == 1 && !self.is_graph_output(name)
    }
}
