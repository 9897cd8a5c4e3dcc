//! Engine behaviour end to end on small models built here: feeds checking,
//! errors that name the node, control flow with captured values, external data.

use prost::Message;
use runnx_core::ir::Error;
use runnx_core::onnx::proto::*;
use runnx_core::onnx::{DirWeights, NoWeights};
use runnx_core::{Session, SessionOptions, Tensor, Value};

fn tensor_type(elem: i32, dims: &[Option<i64>], sym: &str) -> TypeProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(n) => DimValue::DimValue(*n),
                None => DimValue::DimParam(sym.to_string()),
            }),
        })
        .collect();
    TypeProto {
        value: Some(TypeValue::TensorType(TensorTypeProto {
            elem_type: elem,
            shape: Some(TensorShapeProto { dim }),
        })),
    }
}

fn vi(name: &str, ty: TypeProto) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(ty),
    }
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: name.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn model(graph: GraphProto) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

const F32: i32 = 1;
const BOOL: i32 = 9;

/// y = x + x, with x: float[N, 2]
fn add_model() -> Vec<u8> {
    model(GraphProto {
        node: vec![node("Add", "double", &["x", "x"], &["y"])],
        input: vec![vi("x", tensor_type(F32, &[None, Some(2)], "N"))],
        output: vec![vi("y", tensor_type(F32, &[None, Some(2)], "N"))],
        ..Default::default()
    })
}

fn session(bytes: Vec<u8>) -> Session {
    Session::from_bytes(
        bytes,
        &NoWeights,
        &SessionOptions {
            threads: 1,
            ..Default::default()
        },
    )
    .unwrap()
}

fn feed(name: &str, t: Tensor) -> Vec<(String, Value)> {
    vec![(name.to_string(), Value::Tensor(t))]
}

#[test]
fn runs_and_checks_feeds() {
    let s = session(add_model());
    let x = Tensor::new(vec![3, 2], vec![1f32, 2., 3., 4., 5., 6.]).unwrap();
    let out = s.run(feed("x", x)).unwrap();
    assert_eq!(
        out[0].as_tensor().unwrap().as_slice::<f32>().unwrap(),
        &[2., 4., 6., 8., 10., 12.]
    );

    let wrong_name = s
        .run(feed("z", Tensor::new(vec![1, 2], vec![0f32; 2]).unwrap()))
        .unwrap_err();
    assert!(
        matches!(&wrong_name, Error::Input(m) if m.contains("'z'") && m.contains("inputs: x")),
        "{wrong_name}"
    );
    let missing = s.run(vec![]).unwrap_err();
    assert!(
        matches!(&missing, Error::Input(m) if m.contains("missing input 'x'")),
        "{missing}"
    );
    let wrong_type = s
        .run(feed("x", Tensor::new(vec![1, 2], vec![0i64; 2]).unwrap()))
        .unwrap_err();
    assert!(
        wrong_type.to_string().contains("expected float[N,2]"),
        "{wrong_type}"
    );
    let wrong_shape = s
        .run(feed("x", Tensor::new(vec![1, 3], vec![0f32; 3]).unwrap()))
        .unwrap_err();
    assert!(matches!(wrong_shape, Error::Input(_)));
}

#[test]
fn unknown_operator_names_the_node() {
    let bytes = model(GraphProto {
        node: vec![node("NoSuchOp", "mystery", &["x"], &["y"])],
        input: vec![vi("x", tensor_type(F32, &[Some(1)], ""))],
        output: vec![vi("y", tensor_type(F32, &[Some(1)], ""))],
        ..Default::default()
    });
    let err = Session::from_bytes(bytes, &NoWeights, &SessionOptions::default())
        .err()
        .unwrap();
    assert_eq!(
        err,
        Error::Node {
            node: "mystery".into(),
            op: "NoSuchOp".into(),
            msg: "operator NoSuchOp (opset 17) is not implemented".into()
        }
    );
}

#[test]
fn garbage_is_a_model_error() {
    for bytes in [vec![], vec![0xff; 64], b"not a model at all".to_vec()] {
        let err = Session::from_bytes(bytes, &NoWeights, &SessionOptions::default())
            .err()
            .unwrap();
        assert!(matches!(err, Error::Model(_)), "{err}");
    }
}

#[test]
fn if_branches_read_outer_values() {
    let branch = |op: &str| GraphProto {
        node: vec![node(op, op, &["a", "b"], &["r"])],
        output: vec![vi("r", tensor_type(F32, &[Some(2)], ""))],
        ..Default::default()
    };
    let mut if_node = node("If", "choose", &["c"], &["y"]);
    for (name, g) in [
        ("then_branch", branch("Add")),
        ("else_branch", branch("Mul")),
    ] {
        if_node.attribute.push(AttributeProto {
            name: name.into(),
            r#type: 5,
            g: Some(Box::new(g)),
            ..Default::default()
        });
    }
    let bytes = model(GraphProto {
        node: vec![if_node],
        input: vec![
            vi("c", tensor_type(BOOL, &[], "")),
            vi("a", tensor_type(F32, &[Some(2)], "")),
            vi("b", tensor_type(F32, &[Some(2)], "")),
        ],
        output: vec![vi("y", tensor_type(F32, &[Some(2)], ""))],
        ..Default::default()
    });
    let s = session(bytes);
    let run = |c: bool| {
        let feeds = vec![
            ("c".to_string(), Value::Tensor(Tensor::scalar(c))),
            (
                "a".to_string(),
                Value::Tensor(Tensor::vector(vec![2f32, 3.])),
            ),
            (
                "b".to_string(),
                Value::Tensor(Tensor::vector(vec![4f32, 5.])),
            ),
        ];
        s.run(feeds).unwrap()[0]
            .as_tensor()
            .unwrap()
            .as_slice::<f32>()
            .unwrap()
            .to_vec()
    };
    assert_eq!(run(true), vec![6., 8.]);
    assert_eq!(run(false), vec![8., 15.]);
}

/// Without the `threads` feature a session runs every kernel on the caller's thread.
#[test]
#[cfg(not(feature = "threads"))]
fn single_threaded_build_uses_one_thread() {
    let s = Session::from_bytes(
        add_model(),
        &NoWeights,
        &SessionOptions {
            threads: 4,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s.threads(), 1);
}

#[test]
fn concurrent_runs_share_one_session() {
    let s = std::sync::Arc::new(session(add_model()));
    let handles: Vec<_> = (0..8)
        .map(|k| {
            let s = s.clone();
            std::thread::spawn(move || {
                let x = Tensor::new(vec![1, 2], vec![k as f32, 1.0]).unwrap();
                let y = s.run(feed("x", x)).unwrap();
                y[0].as_tensor()
                    .unwrap()
                    .as_slice::<f32>()
                    .unwrap()
                    .to_vec()
            })
        })
        .collect();
    for (k, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), vec![2.0 * k as f32, 2.0]);
    }
}

#[test]
#[cfg(feature = "threads")]
fn thread_count_is_a_session_option() {
    let s = Session::from_bytes(
        add_model(),
        &NoWeights,
        &SessionOptions {
            threads: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s.threads(), 2);
}

/// y = x + w, with w stored in an external file next to the model.
fn external_model(location: &str) -> Vec<u8> {
    let w = TensorProto {
        name: "w".into(),
        dims: vec![2],
        data_type: F32,
        data_location: DATA_LOCATION_EXTERNAL,
        external_data: vec![
            StringStringEntryProto {
                key: "location".into(),
                value: location.into(),
            },
            StringStringEntryProto {
                key: "offset".into(),
                value: "4".into(),
            },
            StringStringEntryProto {
                key: "length".into(),
                value: "8".into(),
            },
        ],
        ..Default::default()
    };
    model(GraphProto {
        node: vec![node("Add", "add_w", &["x", "w"], &["y"])],
        initializer: vec![w],
        input: vec![vi("x", tensor_type(F32, &[Some(2)], ""))],
        output: vec![vi("y", tensor_type(F32, &[Some(2)], ""))],
        ..Default::default()
    })
}

#[test]
fn external_data_is_read_from_the_model_folder_only() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("model");
    std::fs::create_dir(&folder).unwrap();
    let mut bytes = vec![0u8; 4];
    for v in [10f32, 20.0] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(folder.join("weights.bin"), &bytes).unwrap();
    std::fs::write(dir.path().join("outside.bin"), &bytes).unwrap();
    let weights = DirWeights::new(&folder).unwrap();
    let opts = SessionOptions {
        threads: 1,
        ..Default::default()
    };

    let s = Session::from_bytes(external_model("weights.bin"), &weights, &opts).unwrap();
    let y = s.run(feed("x", Tensor::vector(vec![1f32, 2.0]))).unwrap();
    assert_eq!(
        y[0].as_tensor().unwrap().as_slice::<f32>().unwrap(),
        &[11.0, 22.0]
    );

    for bad in ["../outside.bin", "/etc/hostname"] {
        let err = Session::from_bytes(external_model(bad), &weights, &opts)
            .err()
            .unwrap();
        assert!(matches!(err, Error::Weights(_)), "{bad}: {err}");
    }
    let err = Session::from_bytes(external_model("weights.bin"), &NoWeights, &opts)
        .err()
        .unwrap();
    assert!(matches!(err, Error::Weights(_)), "{err}");
}
