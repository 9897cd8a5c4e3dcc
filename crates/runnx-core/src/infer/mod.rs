//! Static shape and type inference: what the planner knows about every value
//! before any run.
//!
//! Each value gets a [`Fact`]: its element type, its shape (dimensions fixed,
//! symbolic or unknown) and, for small integer tensors such as the outputs of
//! `Shape`, its elements (so that shape arithmetic can be followed and folded).
//! Rules live next to each other by op family, mirroring `runnx-cpu/src/ops/`.
//! Inference never rejects a model: a rule that cannot tell, or that meets
//! inconsistent facts, leaves the outputs unknown and the kernels decide at run time.

mod elementwise;
mod nn;
mod reduce;
mod shape;

use crate::plan::topological_order;
use runnx_ir::graph::{Dim, Graph, Node, TypeInfo};
use runnx_ir::{DType, NodeCtx, Result, Tensor};
use std::collections::HashMap;

/// One element of a small integer tensor, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sym {
    Int(i64),
    /// A symbolic dimension of some input ("batch", "seq").
    Named(String),
    Unknown,
}

impl Sym {
    pub fn int(&self) -> Option<i64> {
        match self {
            Sym::Int(v) => Some(*v),
            _ => None,
        }
    }

    pub fn from_dim(d: &Dim) -> Sym {
        match d {
            Dim::Fixed(n) => i64::try_from(*n).map_or(Sym::Unknown, Sym::Int),
            Dim::Symbol(s) => Sym::Named(s.clone()),
            Dim::Unknown => Sym::Unknown,
        }
    }

    pub fn to_dim(&self) -> Dim {
        match self {
            Sym::Int(v) => usize::try_from(*v).map_or(Dim::Unknown, Dim::Fixed),
            Sym::Named(s) => Dim::Symbol(s.clone()),
            Sym::Unknown => Dim::Unknown,
        }
    }
}

/// What is known about a value before running.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fact {
    pub dtype: Option<DType>,
    /// `None` when even the rank is unknown.
    pub shape: Option<Vec<Dim>>,
    /// Elements of a small integer tensor of rank 0 or 1, when followed.
    pub value: Option<Vec<Sym>>,
}

/// Integer tensors up to this many elements have their elements followed.
const MAX_VALUE_LEN: usize = 64;

impl Fact {
    pub fn unknown() -> Fact {
        Fact::default()
    }

    pub fn new(dtype: Option<DType>, shape: Option<Vec<Dim>>) -> Fact {
        Fact {
            dtype,
            shape,
            value: None,
        }
    }

    pub fn from_type(ty: &TypeInfo) -> Fact {
        match ty {
            TypeInfo::Tensor { dtype, shape } => Fact::new(*dtype, shape.clone()),
            _ => Fact::unknown(),
        }
    }

    pub fn from_tensor(t: &Tensor) -> Fact {
        let shape = t.shape().iter().map(|&d| Dim::Fixed(d)).collect();
        let value = (t.rank() <= 1 && t.len() <= MAX_VALUE_LEN && t.dtype().is_int())
            .then(|| t.to_i64_vec().ok())
            .flatten()
            .map(|v| v.into_iter().map(Sym::Int).collect());
        Fact {
            dtype: Some(t.dtype()),
            shape: Some(shape),
            value,
        }
    }

    /// A rank-1 (or rank-0 when `scalar`) int64 tensor with known-or-symbolic elements.
    pub fn int_value(value: Vec<Sym>, scalar: bool) -> Fact {
        let shape = if scalar {
            vec![]
        } else {
            vec![Dim::Fixed(value.len())]
        };
        Fact {
            dtype: Some(DType::I64),
            shape: Some(shape),
            value: Some(value),
        }
    }

    pub fn rank(&self) -> Option<usize> {
        self.shape.as_ref().map(Vec::len)
    }

    /// The shape when every dimension is a fixed number.
    pub fn concrete_shape(&self) -> Option<Vec<usize>> {
        self.shape
            .as_ref()?
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => Some(*n),
                _ => None,
            })
            .collect()
    }

    /// The elements when every one is a known integer.
    pub fn known_ints(&self) -> Option<Vec<i64>> {
        self.value.as_ref()?.iter().map(Sym::int).collect()
    }

    /// As a `TypeInfo` for value_info and session metadata.
    pub fn to_type(&self) -> TypeInfo {
        TypeInfo::Tensor {
            dtype: self.dtype,
            shape: self.shape.clone(),
        }
    }

    /// Whether this fact says anything at all.
    pub fn is_known(&self) -> bool {
        self.dtype.is_some() || self.shape.is_some()
    }
}

/// What a rule sees: the node, its opset and the facts of its inputs.
pub struct InferCtx<'a> {
    pub ctx: NodeCtx<'a>,
    pub inputs: Vec<Fact>,
}

impl InferCtx<'_> {
    /// Facts of input `i` (unknown when omitted).
    pub fn input(&self, i: usize) -> Fact {
        self.inputs.get(i).cloned().unwrap_or_default()
    }

    pub fn dtype(&self, i: usize) -> Option<DType> {
        self.inputs.get(i).and_then(|f| f.dtype)
    }

    pub fn shape(&self, i: usize) -> Option<&[Dim]> {
        self.inputs.get(i).and_then(|f| f.shape.as_deref())
    }

    pub fn rank(&self, i: usize) -> Option<usize> {
        self.shape(i).map(<[Dim]>::len)
    }

    /// Known integer elements of input `i` (a constant, or followed shape arithmetic).
    pub fn ints(&self, i: usize) -> Option<Vec<i64>> {
        self.inputs.get(i).and_then(Fact::known_ints)
    }

    pub fn outputs(&self) -> usize {
        self.ctx.node.outputs.len()
    }
}

/// A shape rule: facts of the outputs (fewer than the node's outputs leaves the rest unknown).
pub type Rule = fn(&InferCtx) -> Result<Vec<Fact>>;

fn rule(node: &Node) -> Option<Rule> {
    let op = node.op_type.as_str();
    match node.domain.as_str() {
        "" | "ai.onnx" => elementwise::rule(op)
            .or_else(|| shape::rule(op))
            .or_else(|| nn::rule(op))
            .or_else(|| reduce::rule(op)),
        crate::plan::FUSED_DOMAIN => nn::fused_rule(op),
        _ => None,
    }
}

/// Facts for one node's outputs, given its input facts; unknown where no rule tells.
pub fn infer_node(node: &Node, opset: i64, inputs: Vec<Fact>) -> Vec<Fact> {
    let Some(rule) = rule(node) else {
        return vec![Fact::unknown(); node.outputs.len()];
    };
    let ictx = InferCtx {
        ctx: NodeCtx { node, opset },
        inputs,
    };
    let mut out = rule(&ictx).unwrap_or_default();
    out.resize(node.outputs.len(), Fact::unknown());
    out
}

/// Facts for every value of a graph: inputs from their declared types,
/// initializers from their tensors, the rest by the rules in dependency order.
/// Declared `value_info` fills in what the rules cannot tell.
pub fn infer_graph(graph: &Graph, opsets: &HashMap<String, i64>) -> HashMap<String, Fact> {
    let mut facts: HashMap<String, Fact> = HashMap::new();
    for vi in &graph.inputs {
        facts.insert(vi.name.clone(), Fact::from_type(&vi.ty));
    }
    for (name, t) in &graph.initializers {
        facts.insert(name.clone(), Fact::from_tensor(t));
    }
    // A caller may override these: their type is known, their elements are not.
    for vi in &graph.overridable {
        if let Some(f) = facts.get_mut(&vi.name) {
            f.value = None;
        }
    }
    // Values defined outside this graph (subgraph captures) are simply unknown.
    let order =
        topological_order(graph, &|_| true).unwrap_or_else(|_| (0..graph.nodes.len()).collect());
    for i in order {
        let node = &graph.nodes[i];
        let opset = crate::plan::domain_opset(opsets, &node.domain).unwrap_or(0);
        let inputs = node
            .inputs
            .iter()
            .map(|n| facts.get(n).cloned().unwrap_or_default())
            .collect();
        let outs = infer_node(node, opset, inputs);
        for (name, mut fact) in node.outputs.iter().zip(outs) {
            if name.is_empty() {
                continue;
            }
            if let Some(declared) = graph.value_info.get(name) {
                fact = merge(fact, Fact::from_type(declared));
            }
            facts.insert(name.clone(), fact);
        }
    }
    facts
}

/// Combine what inference found with what the model declares; inference wins
/// where both know, since it follows the actual ops.
fn merge(inferred: Fact, declared: Fact) -> Fact {
    let shape = match (inferred.shape, declared.shape) {
        (Some(a), Some(b)) if a.len() == b.len() => Some(
            a.into_iter()
                .zip(b)
                .map(|(x, y)| if x == Dim::Unknown { y } else { x })
                .collect(),
        ),
        (Some(a), _) => Some(a),
        (None, b) => b,
    };
    Fact {
        dtype: inferred.dtype.or(declared.dtype),
        shape,
        value: inferred.value,
    }
}

#[cfg(test)]
mod tests;
