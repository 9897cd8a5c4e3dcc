//! Node attributes, as ONNX defines them.

use crate::graph::{Graph, TypeInfo};
use crate::tensor::Tensor;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub enum Attribute {
    Float(f32),
    Int(i64),
    /// ONNX strings are bytes; most are UTF-8 names.
    String(Vec<u8>),
    Tensor(Tensor),
    Graph(Arc<Graph>),
    Type(TypeInfo),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Strings(Vec<Vec<u8>>),
    Tensors(Vec<Tensor>),
    Graphs(Vec<Arc<Graph>>),
    Types(Vec<TypeInfo>),
}

impl Attribute {
    pub fn type_name(&self) -> &'static str {
        match self {
            Attribute::Float(_) => "float",
            Attribute::Int(_) => "int",
            Attribute::String(_) => "string",
            Attribute::Tensor(_) => "tensor",
            Attribute::Graph(_) => "graph",
            Attribute::Type(_) => "type",
            Attribute::Floats(_) => "floats",
            Attribute::Ints(_) => "ints",
            Attribute::Strings(_) => "strings",
            Attribute::Tensors(_) => "tensors",
            Attribute::Graphs(_) => "graphs",
            Attribute::Types(_) => "types",
        }
    }
}
