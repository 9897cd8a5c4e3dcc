//! Model-local functions (`ModelProto.functions`), inlined at load time so the
//! rest of the engine only ever sees plain nodes.

use crate::load::convert_attribute;
use crate::proto::FunctionProto;
use crate::weights::WeightSource;
use runnx_ir::graph::{Graph, Node};
use runnx_ir::{Attribute, Error, Result};
use std::collections::HashMap;

/// How deep functions may call functions before the model is rejected.
const MAX_DEPTH: usize = 32;

pub fn inline(
    graph: &mut Graph,
    functions: &[FunctionProto],
    weights: &dyn WeightSource,
) -> Result<()> {
    let table: HashMap<(&str, &str), &FunctionProto> = functions
        .iter()
        .map(|f| ((f.domain.as_str(), f.name.as_str()), f))
        .collect();
    let mut counter = 0usize;
    graph.nodes = expand(
        std::mem::take(&mut graph.nodes),
        &table,
        weights,
        &mut counter,
        0,
    )?;
    Ok(())
}

fn expand(
    nodes: Vec<Node>,
    table: &HashMap<(&str, &str), &FunctionProto>,
    weights: &dyn WeightSource,
    counter: &mut usize,
    depth: usize,
) -> Result<Vec<Node>> {
    let mut out = Vec::with_capacity(nodes.len());
    for node in nodes {
        let Some(f) = table.get(&(node.domain.as_str(), node.op_type.as_str())) else {
            out.push(node);
            continue;
        };
        if depth >= MAX_DEPTH {
            return Err(Error::Model(format!(
                "function '{}' nests deeper than {MAX_DEPTH}",
                f.name
            )));
        }
        *counter += 1;
        let body = instantiate(&node, f, weights, *counter)?;
        out.extend(expand(body, table, weights, counter, depth + 1)?);
    }
    Ok(out)
}

/// The function body with formal inputs/outputs bound to the call's values,
/// internal values renamed uniquely and attribute references resolved.
fn instantiate(
    call: &Node,
    f: &FunctionProto,
    weights: &dyn WeightSource,
    id: usize,
) -> Result<Vec<Node>> {
    let mut rename: HashMap<&str, String> = HashMap::new();
    for (i, formal) in f.input.iter().enumerate() {
        rename.insert(formal, call.inputs.get(i).cloned().unwrap_or_default());
    }
    for (i, formal) in f.output.iter().enumerate() {
        rename.insert(formal, call.outputs.get(i).cloned().unwrap_or_default());
    }
    let mut defaults: HashMap<&str, Attribute> = HashMap::new();
    for a in &f.attribute_proto {
        defaults.insert(&a.name, convert_attribute(a, weights)?);
    }
    let map = |name: &String| -> String {
        if name.is_empty() {
            return String::new();
        }
        rename
            .get(name.as_str())
            .cloned()
            .unwrap_or_else(|| format!("{}__{}_{id}", name, f.name))
    };
    let mut body = Vec::with_capacity(f.node.len());
    for n in &f.node {
        let mut attrs = Vec::new();
        for a in &n.attribute {
            if a.ref_attr_name.is_empty() {
                attrs.push((a.name.clone(), convert_attribute(a, weights)?));
            } else if let Some(v) = call
                .attr(&a.ref_attr_name)
                .or_else(|| defaults.get(a.ref_attr_name.as_str()))
            {
                attrs.push((a.name.clone(), v.clone()));
            }
        }
        body.push(Node {
            name: format!("{}/{}", call.display_name(), n.name),
            op_type: n.op_type.clone(),
            domain: if n.domain == "ai.onnx" {
                String::new()
            } else {
                n.domain.clone()
            },
            inputs: n.input.iter().map(map).collect(),
            outputs: n.output.iter().map(map).collect(),
            attrs,
        });
    }
    Ok(body)
}
