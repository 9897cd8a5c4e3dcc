//! A small CNN + attention-like graph shared by the integration tests.

use runnx_core::ir::graph::{Dim, Graph, Model, Node, TypeInfo, ValueInfo};
use runnx_core::ir::Attribute;
use runnx_core::{DType, Tensor};
use std::collections::HashMap;
use std::sync::Arc;

fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<(&str, Attribute)>) -> Node {
    Node {
        name: outputs[0].to_string(),
        op_type: op.into(),
        domain: String::new(),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        outputs: outputs.iter().map(|s| s.to_string()).collect(),
        attrs: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    }
}

pub fn weights(shape: Vec<usize>, seed: u32) -> Tensor {
    let n: usize = shape.iter().product();
    let v = (0..n)
        .map(|i| {
            ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 1000.0 - 0.5
        })
        .collect();
    Tensor::new(shape, v).unwrap()
}

/// A small CNN + attention-like block: Conv, Relu, MaxPool, Transpose, MatMul,
/// Softmax, Add, LayerNormalization, Concat.
pub fn model() -> Model {
    let mut g = Graph {
        inputs: vec![ValueInfo {
            name: "x".into(),
            ty: TypeInfo::Tensor {
                dtype: Some(DType::F32),
                shape: Some(vec![
                    Dim::Symbol("n".into()),
                    Dim::Fixed(8),
                    Dim::Fixed(32),
                    Dim::Fixed(32),
                ]),
            },
        }],
        outputs: vec![ValueInfo {
            name: "y".into(),
            ty: TypeInfo::Unknown,
        }],
        ..Graph::default()
    };
    g.initializers
        .insert("w".into(), weights(vec![16, 8, 3, 3], 1));
    g.initializers
        .insert("shape".into(), Tensor::vector(vec![0i64, 16, 256]));
    g.initializers.insert("scale".into(), weights(vec![16], 2));
    g.nodes = vec![
        node(
            "Conv",
            &["x", "w"],
            &["c"],
            vec![("pads", Attribute::Ints(vec![1, 1, 1, 1]))],
        ),
        node("Relu", &["c"], &["r"], vec![]),
        node(
            "MaxPool",
            &["r"],
            &["p"],
            vec![
                ("kernel_shape", Attribute::Ints(vec![2, 2])),
                ("strides", Attribute::Ints(vec![2, 2])),
            ],
        ),
        node("Reshape", &["p", "shape"], &["f"], vec![]),
        node(
            "Transpose",
            &["f"],
            &["t"],
            vec![("perm", Attribute::Ints(vec![0, 2, 1]))],
        ),
        node("MatMul", &["t", "f"], &["s"], vec![]),
        node(
            "Softmax",
            &["s"],
            &["a"],
            vec![("axis", Attribute::Int(-1))],
        ),
        node("MatMul", &["a", "t"], &["o"], vec![]),
        node("Add", &["o", "t"], &["res"], vec![]),
        node(
            "LayerNormalization",
            &["res", "scale"],
            &["ln"],
            vec![("axis", Attribute::Int(-1))],
        ),
        node(
            "Concat",
            &["ln", "t"],
            &["y"],
            vec![("axis", Attribute::Int(1))],
        ),
    ];
    Model {
        ir_version: 8,
        producer: "test".into(),
        opsets: HashMap::from([(String::new(), 17)]),
        graph: Arc::new(g),
    }
}
