//! The memory plan at work: once a session has run a given input shape, later runs
//! reuse the intermediate buffers and allocate little more than their outputs.

use runnx_core::alloc_meter::{allocated_by, Counting};
use runnx_core::ir::graph::{Dim, Graph, Model, Node, TypeInfo, ValueInfo};
use runnx_core::ir::Attribute;
use runnx_core::{DType, Session, SessionOptions, Tensor, Value};
use std::collections::HashMap;
use std::sync::Arc;

#[global_allocator]
static GLOBAL: Counting = Counting;

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

fn weights(shape: Vec<usize>, seed: u32) -> Tensor {
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
fn model() -> Model {
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

#[test]
fn later_runs_reuse_intermediate_buffers() {
    for threads in [1, 2] {
        let options = SessionOptions {
            threads,
            ..Default::default()
        };
        let session = Session::from_model(model(), &options).unwrap();
        let run = |out: &mut Option<Value>| {
            let x = weights(vec![2, 8, 32, 32], 7);
            *out = Some(
                session
                    .run(vec![("x".into(), Value::Tensor(x))])
                    .unwrap()
                    .remove(0),
            );
        };
        let mut first_out = None;
        let first = allocated_by(|| run(&mut first_out)).1;
        let mut outs = Vec::new();
        let mut steady = usize::MAX;
        for _ in 0..3 {
            let mut out = None;
            steady = steady.min(allocated_by(|| run(&mut out)).1);
            outs.push(out);
        }
        // Same results from reused (dirty) buffers.
        for out in &outs {
            let (a, b) = (
                first_out.as_ref().unwrap().as_tensor().unwrap(),
                out.as_ref().unwrap().as_tensor().unwrap(),
            );
            assert_eq!(a.shape(), &[2, 512, 16]);
            assert_eq!(a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
        }
        let input_and_output = (2 * 8 * 32 * 32 + 2 * 512 * 16) * 4;
        eprintln!("threads {threads}: first run {first} bytes, steady state {steady} bytes");
        // The first run allocates every intermediate (~1.3 MB); later ones about the
        // input and output they are handed, plus small bookkeeping.
        assert!(
            first > 3 * input_and_output,
            "first run allocated only {first} bytes"
        );
        assert!(
            steady < input_and_output + 64 * 1024,
            "steady-state run allocated {steady} bytes (input + output are {input_and_output})"
        );
    }
}
