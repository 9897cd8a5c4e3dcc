//! Planning: a graph becomes an ordered list of steps over numbered value slots,
//! each step holding a compiled kernel and the slots it reads, writes and frees.

use crate::control;
use runnx_ir::graph::{Graph, Node};
use runnx_ir::{Backend, Error, Kernel, NodeCtx, Result, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What kernels are compiled with: the backends (preferred first, CPU last) and
/// the opsets of the model.
pub struct Compiler {
    pub backends: Vec<Arc<dyn Backend>>,
    pub opsets: HashMap<String, i64>,
}

/// Domain of the nodes runnx's own passes create (fused kernels).
pub const FUSED_DOMAIN: &str = "runnx";

/// The opset in force for a domain; runnx's own fused ops are version 1.
pub fn domain_opset(opsets: &HashMap<String, i64>, domain: &str) -> Option<i64> {
    if domain == FUSED_DOMAIN {
        return Some(1);
    }
    opsets.get(domain).copied()
}

pub struct Step {
    pub node: String,
    pub op: String,
    pub kernel: Box<dyn Kernel>,
    /// Slots read, in the node's input order (None = omitted optional input),
    /// followed by the outer values its subgraphs capture.
    pub inputs: Vec<Option<usize>>,
    /// Slots written (None = output not used / unnamed).
    pub outputs: Vec<Option<usize>>,
    /// Slots whose last reader is this step.
    pub frees: Vec<usize>,
}

pub struct Plan {
    pub slots: usize,
    pub inputs: Vec<(String, usize)>,
    /// Initializers the caller may override by feeding a value of the same name.
    pub overridable: Vec<(String, usize)>,
    pub consts: Vec<(usize, Value)>,
    /// Values of enclosing graphs this (sub)graph reads.
    pub captures: Vec<(String, usize)>,
    pub steps: Vec<Step>,
    pub outputs: Vec<(String, usize)>,
}

impl Compiler {
    /// The opset in force for a domain; runnx's own fused ops are version 1.
    pub fn opset(&self, domain: &str) -> Option<i64> {
        domain_opset(&self.opsets, domain)
    }

    /// Whether some backend compiles this node (used by rewrites before they commit).
    pub fn can_compile(&self, node: &Node) -> bool {
        let Some(opset) = self.opset(&node.domain) else {
            return false;
        };
        let ctx = NodeCtx { node, opset };
        self.backends
            .iter()
            .any(|b| matches!(b.compile(&ctx), Ok(Some(_))))
    }

    /// Compile a graph. `outer` tells whether a name is defined by an enclosing graph
    /// (subgraphs may read those); for the main graph it is always false.
    pub fn compile(&self, graph: &Graph, outer: &dyn Fn(&str) -> bool) -> Result<Plan> {
        let mut slots = Slots::default();
        let mut consts = Vec::new();
        let mut inputs = Vec::new();
        let mut overridable = Vec::new();
        for vi in &graph.inputs {
            inputs.push((vi.name.clone(), slots.define(&vi.name)));
        }
        let mut init_names: Vec<&String> = graph.initializers.keys().collect();
        init_names.sort();
        for name in init_names {
            let slot = slots.define(name);
            consts.push((slot, Value::Tensor(graph.initializers[name].clone())));
        }
        for vi in &graph.overridable {
            if let Some(slot) = slots.get(&vi.name) {
                overridable.push((vi.name.clone(), slot));
            }
        }

        let order = topological_order(graph, &|n| slots.get(n).is_some() || outer(n))?;
        let mut captures: Vec<(String, usize)> = Vec::new();
        let mut steps = Vec::with_capacity(order.len());
        for &i in &order {
            let node = &graph.nodes[i];
            let mut step_inputs = Vec::with_capacity(node.inputs.len());
            for name in &node.inputs {
                step_inputs.push(if name.is_empty() {
                    None
                } else {
                    Some(resolve(name, &mut slots, &mut captures, outer, node)?)
                });
            }
            // Outer values read by the node's subgraphs become extra inputs.
            let free = subgraph_free_names(node);
            let defined_here = |n: &str| slots.get(n).is_some();
            let captured: Vec<String> = free
                .into_iter()
                .filter(|n| defined_here(n) || outer(n))
                .collect();
            for name in &captured {
                step_inputs.push(Some(resolve(name, &mut slots, &mut captures, outer, node)?));
            }
            let kernel = {
                let scope = |n: &str| slots.get(n).is_some() || outer(n);
                self.compile_node(node, &captured, &scope)?
            };
            let outputs = node
                .outputs
                .iter()
                .map(|o| {
                    if o.is_empty() {
                        None
                    } else {
                        Some(slots.define(o))
                    }
                })
                .collect();
            steps.push(Step {
                node: node.display_name().to_string(),
                op: node.op_type.clone(),
                kernel,
                inputs: step_inputs,
                outputs,
                frees: vec![],
            });
        }

        let mut outputs = Vec::new();
        for vi in &graph.outputs {
            let slot = match slots.get(&vi.name) {
                Some(s) => s,
                None if outer(&vi.name) => resolve_capture(&vi.name, &mut slots, &mut captures),
                None => {
                    return Err(Error::Model(format!(
                        "graph output '{}' is not produced by any node",
                        vi.name
                    )))
                }
            };
            outputs.push((vi.name.clone(), slot));
        }
        let mut plan = Plan {
            slots: slots.count,
            inputs,
            overridable,
            consts,
            captures,
            steps,
            outputs,
        };
        assign_frees(&mut plan);
        Ok(plan)
    }

    fn compile_node(
        &self,
        node: &Node,
        captured: &[String],
        scope: &dyn Fn(&str) -> bool,
    ) -> Result<Box<dyn Kernel>> {
        let opset = self.opset(&node.domain).ok_or_else(|| Error::Node {
            node: node.display_name().to_string(),
            op: node.op_type.clone(),
            msg: format!("the model imports no opset for domain '{}'", node.domain),
        })?;
        let ctx = NodeCtx { node, opset };
        let at = |e: Error| e.at_node(node.display_name(), &node.op_type);
        if let Some(k) = control::compile(self, &ctx, captured, scope).map_err(at)? {
            return Ok(k);
        }
        for b in &self.backends {
            if let Some(k) = b.compile(&ctx).map_err(at)? {
                return Ok(k);
            }
        }
        Err(Error::Node {
            node: node.display_name().to_string(),
            op: node.op_type.clone(),
            msg: format!(
                "operator {}{} (opset {opset}) is not implemented",
                if node.domain.is_empty() {
                    String::new()
                } else {
                    format!("{}:", node.domain)
                },
                node.op_type
            ),
        })
    }
}

#[derive(Default)]
struct Slots {
    by_name: HashMap<String, usize>,
    count: usize,
}

impl Slots {
    fn define(&mut self, name: &str) -> usize {
        let s = self.count;
        self.by_name.insert(name.to_string(), s);
        self.count += 1;
        s
    }

    fn get(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }
}

fn resolve(
    name: &str,
    slots: &mut Slots,
    captures: &mut Vec<(String, usize)>,
    outer: &dyn Fn(&str) -> bool,
    node: &Node,
) -> Result<usize> {
    if let Some(s) = slots.get(name) {
        return Ok(s);
    }
    if outer(name) {
        return Ok(resolve_capture(name, slots, captures));
    }
    Err(Error::Model(format!(
        "node '{}' ({}) reads '{name}', which no node, input or initializer defines",
        node.display_name(),
        node.op_type
    )))
}

fn resolve_capture(name: &str, slots: &mut Slots, captures: &mut Vec<(String, usize)>) -> usize {
    let s = slots.define(name);
    captures.push((name.to_string(), s));
    s
}

/// Names a node's subgraphs read from outside themselves (recursively).
pub fn subgraph_free_names(node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    for g in node.subgraphs() {
        for n in graph_free_names(g) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// Names a graph reads that it does not define itself.
pub fn graph_free_names(g: &Graph) -> Vec<String> {
    let mut defined: HashSet<&str> = g.inputs.iter().map(|v| v.name.as_str()).collect();
    defined.extend(g.initializers.keys().map(String::as_str));
    for n in &g.nodes {
        defined.extend(n.outputs.iter().map(String::as_str));
    }
    let mut free = Vec::new();
    let push = |name: &str, free: &mut Vec<String>| {
        if !name.is_empty() && !defined.contains(name) && !free.iter().any(|f| f == name) {
            free.push(name.to_string());
        }
    };
    for n in &g.nodes {
        for i in &n.inputs {
            push(i, &mut free);
        }
        for inner in subgraph_free_names(n) {
            push(&inner, &mut free);
        }
    }
    for o in &g.outputs {
        push(&o.name, &mut free);
    }
    free
}

/// Kahn's algorithm, keeping the model's order where it is already valid.
pub(crate) fn topological_order(
    graph: &Graph,
    available: &dyn Fn(&str) -> bool,
) -> Result<Vec<usize>> {
    let producer: HashMap<&str, usize> = graph
        .nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| {
            n.outputs
                .iter()
                .filter(|o| !o.is_empty())
                .map(move |o| (o.as_str(), i))
        })
        .collect();
    let n = graph.nodes.len();
    let mut pending = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, node) in graph.nodes.iter().enumerate() {
        let mut deps: Vec<usize> = Vec::new();
        let reads = node.inputs.iter().cloned().chain(subgraph_free_names(node));
        for name in reads.filter(|s| !s.is_empty()) {
            match producer.get(name.as_str()) {
                Some(&p) if p != i => {
                    if !deps.contains(&p) {
                        deps.push(p);
                    }
                }
                Some(_) => {
                    return Err(Error::Model(format!(
                        "node '{}' ({}) reads its own output '{name}'",
                        node.display_name(),
                        node.op_type
                    )))
                }
                None if available(&name) => {}
                None => {
                    return Err(Error::Model(format!(
                    "node '{}' ({}) reads '{name}', which no node, input or initializer defines",
                    node.display_name(),
                    node.op_type
                )))
                }
            }
        }
        pending[i] = deps.len();
        for d in deps {
            dependents[d].push(i);
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|&i| pending[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &d in &dependents[i] {
            pending[d] -= 1;
            if pending[d] == 0 {
                ready.insert(d);
            }
        }
    }
    if order.len() != n {
        let stuck = (0..n)
            .find(|i| pending[*i] > 0)
            .map(|i| graph.nodes[i].display_name().to_string());
        return Err(Error::Model(format!(
            "the graph has a cycle (at node '{}')",
            stuck.unwrap_or_default()
        )));
    }
    Ok(order)
}

/// Each slot is freed right after its last reader, unless it is a graph output.
fn assign_frees(plan: &mut Plan) {
    let mut last: Vec<Option<usize>> = vec![None; plan.slots];
    for (i, step) in plan.steps.iter().enumerate() {
        for s in step.inputs.iter().flatten() {
            last[*s] = Some(i);
        }
    }
    let keep: HashSet<usize> = plan.outputs.iter().map(|(_, s)| *s).collect();
    // Outputs nobody reads are dropped by the step that wrote them.
    for (i, step) in plan.steps.iter().enumerate() {
        for s in step.outputs.iter().flatten() {
            if last[*s].is_none() {
                last[*s] = Some(i);
            }
        }
    }
    for (slot, l) in last.iter().enumerate() {
        if let Some(i) = l {
            if !keep.contains(&slot) {
                plan.steps[*i].frees.push(slot);
            }
        }
    }
}
