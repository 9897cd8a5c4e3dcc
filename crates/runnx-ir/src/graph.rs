//! The graph IR: a model is a graph of nodes over named values.

use crate::attr::Attribute;
use crate::dtype::DType;
use crate::tensor::Tensor;
use std::collections::HashMap;
use std::sync::Arc;

/// A loaded model: the main graph and the opset each domain was written for.
#[derive(Debug, Clone)]
pub struct Model {
    pub ir_version: i64,
    pub producer: String,
    /// Domain ("" for the default ONNX domain) -> opset version.
    pub opsets: HashMap<String, i64>,
    pub graph: Arc<Graph>,
}

impl Model {
    /// The opset version in force for a domain ("ai.onnx" and "" are the same).
    pub fn opset(&self, domain: &str) -> Option<i64> {
        let key = if domain == "ai.onnx" { "" } else { domain };
        self.opsets.get(key).copied()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub name: String,
    pub nodes: Vec<Node>,
    /// Graph inputs that are not initializers, in declaration order.
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
    /// Constant tensors by value name. An initializer that is also listed as a
    /// graph input is a default the caller may override.
    pub initializers: HashMap<String, Tensor>,
    /// Names of initializers that callers may override (listed as inputs too).
    pub overridable: Vec<ValueInfo>,
    /// Type information for intermediate values, where the model gives it.
    pub value_info: HashMap<String, TypeInfo>,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub op_type: String,
    /// "" for the default ONNX domain.
    pub domain: String,
    /// Input value names; "" marks an omitted optional input.
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: Vec<(String, Attribute)>,
}

impl Node {
    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// A name for error messages: the node name, or its first output.
    pub fn display_name(&self) -> &str {
        if !self.name.is_empty() {
            &self.name
        } else {
            self.outputs
                .first()
                .map(String::as_str)
                .unwrap_or("<unnamed>")
        }
    }

    /// The subgraphs held in attributes (If branches, Loop and Scan bodies).
    pub fn subgraphs(&self) -> impl Iterator<Item = &Arc<Graph>> {
        self.attrs.iter().flat_map(|(_, a)| match a {
            Attribute::Graph(g) => std::slice::from_ref(g).iter(),
            Attribute::Graphs(gs) => gs.iter(),
            _ => [].iter(),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValueInfo {
    pub name: String,
    pub ty: TypeInfo,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeInfo {
    /// A tensor; `shape` is `None` when the rank is unknown.
    Tensor {
        dtype: Option<DType>,
        shape: Option<Vec<Dim>>,
    },
    Sequence(Box<TypeInfo>),
    Optional(Box<TypeInfo>),
    Map {
        key: Option<DType>,
        value: Box<TypeInfo>,
    },
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dim {
    Fixed(usize),
    Symbol(String),
    Unknown,
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Symbol(s) => f.write_str(s),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

impl std::fmt::Display for TypeInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TypeInfo::Tensor { dtype, shape } => {
                match dtype {
                    Some(d) => write!(f, "{d}")?,
                    None => f.write_str("?")?,
                }
                match shape {
                    Some(dims) => {
                        let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
                        write!(f, "[{}]", dims.join(","))
                    }
                    None => f.write_str("[...]"),
                }
            }
            TypeInfo::Sequence(t) => write!(f, "seq({t})"),
            TypeInfo::Optional(t) => write!(f, "optional({t})"),
            TypeInfo::Map { key, value } => match key {
                Some(k) => write!(f, "map({k},{value})"),
                None => write!(f, "map(?,{value})"),
            },
            TypeInfo::Unknown => f.write_str("?"),
        }
    }
}
