use super::*;
use runnx_ir::graph::ValueInfo;
use runnx_ir::Attribute;

fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<(&str, Attribute)>) -> Node {
    Node {
        name: String::new(),
        op_type: op.into(),
        domain: String::new(),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        outputs: outputs.iter().map(|s| s.to_string()).collect(),
        attrs: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    }
}

fn input(name: &str, dtype: DType, dims: Vec<Dim>) -> ValueInfo {
    ValueInfo {
        name: name.into(),
        ty: TypeInfo::Tensor {
            dtype: Some(dtype),
            shape: Some(dims),
        },
    }
}

fn sym(s: &str) -> Dim {
    Dim::Symbol(s.into())
}

fn infer(g: &Graph) -> HashMap<String, Fact> {
    infer_graph(g, &HashMap::from([(String::new(), 17)]))
}

fn shape_of(facts: &HashMap<String, Fact>, name: &str) -> Vec<Dim> {
    facts[name].shape.clone().expect("shape known")
}

#[test]
fn follows_shape_arithmetic_through_a_reshape() {
    // x: [batch, seq, 768] -> Reshape(x, Concat(Shape(x)[0:2], [12, 64])): [batch, seq, 12, 64]
    let mut g = Graph {
        inputs: vec![input(
            "x",
            DType::F32,
            vec![sym("batch"), sym("seq"), Dim::Fixed(768)],
        )],
        ..Graph::default()
    };
    g.initializers
        .insert("heads".into(), Tensor::vector(vec![12i64, 64]));
    g.initializers
        .insert("i0".into(), Tensor::vector(vec![0i64]));
    g.initializers
        .insert("i2".into(), Tensor::vector(vec![2i64]));
    g.nodes = vec![
        node("Shape", &["x"], &["s"], vec![]),
        node("Slice", &["s", "i0", "i2"], &["bs"], vec![]),
        node(
            "Concat",
            &["bs", "heads"],
            &["target"],
            vec![("axis", Attribute::Int(0))],
        ),
        node("Reshape", &["x", "target"], &["y"], vec![]),
        node(
            "Transpose",
            &["y"],
            &["t"],
            vec![("perm", Attribute::Ints(vec![0, 2, 1, 3]))],
        ),
    ];
    let f = infer(&g);
    assert_eq!(
        f["target"].value,
        Some(vec![
            Sym::Named("batch".into()),
            Sym::Named("seq".into()),
            Sym::Int(12),
            Sym::Int(64)
        ])
    );
    assert_eq!(
        shape_of(&f, "y"),
        vec![sym("batch"), sym("seq"), Dim::Fixed(12), Dim::Fixed(64)]
    );
    assert_eq!(
        shape_of(&f, "t"),
        vec![sym("batch"), Dim::Fixed(12), sym("seq"), Dim::Fixed(64)]
    );
    assert_eq!(f["t"].dtype, Some(DType::F32));
}

#[test]
fn reshape_minus_one_is_solved_when_sizes_are_fixed() {
    let mut g = Graph {
        inputs: vec![input(
            "x",
            DType::F32,
            vec![Dim::Fixed(2), Dim::Fixed(3), Dim::Fixed(4)],
        )],
        ..Graph::default()
    };
    g.initializers
        .insert("t".into(), Tensor::vector(vec![0i64, -1]));
    g.nodes = vec![node("Reshape", &["x", "t"], &["y"], vec![])];
    assert_eq!(
        shape_of(&infer(&g), "y"),
        vec![Dim::Fixed(2), Dim::Fixed(12)]
    );
}

#[test]
fn conv_and_pool_output_sizes() {
    let mut g = Graph {
        inputs: vec![input(
            "x",
            DType::F32,
            vec![sym("n"), Dim::Fixed(3), Dim::Fixed(224), Dim::Fixed(224)],
        )],
        ..Graph::default()
    };
    g.initializers.insert(
        "w".into(),
        Tensor::zeros(DType::F32, vec![32, 3, 3, 3]).unwrap(),
    );
    g.nodes = vec![
        node(
            "Conv",
            &["x", "w"],
            &["c"],
            vec![
                ("strides", Attribute::Ints(vec![2, 2])),
                ("pads", Attribute::Ints(vec![1, 1, 1, 1])),
            ],
        ),
        node(
            "MaxPool",
            &["c"],
            &["p"],
            vec![
                ("kernel_shape", Attribute::Ints(vec![3, 3])),
                ("strides", Attribute::Ints(vec![2, 2])),
                ("ceil_mode", Attribute::Int(1)),
            ],
        ),
        node("GlobalAveragePool", &["p"], &["g"], vec![]),
        node("Flatten", &["g"], &["f"], vec![]),
    ];
    let f = infer(&g);
    assert_eq!(
        shape_of(&f, "c"),
        vec![sym("n"), Dim::Fixed(32), Dim::Fixed(112), Dim::Fixed(112)]
    );
    assert_eq!(
        shape_of(&f, "p"),
        vec![sym("n"), Dim::Fixed(32), Dim::Fixed(56), Dim::Fixed(56)]
    );
    assert_eq!(shape_of(&f, "f"), vec![sym("n"), Dim::Fixed(32)]);
}

#[test]
fn broadcasting_comparisons_and_matmul() {
    let g = Graph {
        inputs: vec![
            input(
                "a",
                DType::F32,
                vec![sym("b"), Dim::Fixed(1), Dim::Fixed(5)],
            ),
            input(
                "m",
                DType::F32,
                vec![Dim::Fixed(4), Dim::Fixed(5), Dim::Fixed(7)],
            ),
        ],
        nodes: vec![
            node("Add", &["a", "m"], &["bad"], vec![]),
            node("Less", &["a", "a"], &["lt"], vec![]),
            node("MatMul", &["a", "m"], &["mm"], vec![]),
        ],
        ..Graph::default()
    };
    let f = infer(&g);
    // [b,1,5] + [4,5,7] clash on the last axis: unknown, not an error.
    assert_eq!(f["bad"].shape, None);
    assert_eq!(f["lt"].dtype, Some(DType::Bool));
    assert_eq!(
        shape_of(&f, "mm"),
        vec![Dim::Fixed(4), Dim::Fixed(1), Dim::Fixed(7)]
    );
}

#[test]
fn unknown_ops_leave_unknown_facts() {
    let g = Graph {
        inputs: vec![input("x", DType::F32, vec![Dim::Fixed(2)])],
        nodes: vec![node("NoSuchOp", &["x"], &["y"], vec![])],
        ..Graph::default()
    };
    assert!(!infer(&g)["y"].is_known());
}

#[test]
fn hostile_attribute_values_give_unknown_dims_not_overflow() {
    let mut g = Graph {
        inputs: vec![input(
            "x",
            DType::F32,
            vec![Dim::Fixed(1), Dim::Fixed(1), Dim::Fixed(8)],
        )],
        ..Graph::default()
    };
    g.initializers.insert(
        "w".into(),
        Tensor::zeros(DType::F32, vec![1, 1, 3]).unwrap(),
    );
    g.initializers
        .insert("starts".into(), Tensor::vector(vec![1i64]));
    g.initializers
        .insert("ends".into(), Tensor::vector(vec![8i64]));
    g.initializers
        .insert("axes".into(), Tensor::vector(vec![2i64]));
    g.initializers
        .insert("steps".into(), Tensor::vector(vec![i64::MAX]));
    g.nodes = vec![
        node(
            "Conv",
            &["x", "w"],
            &["c"],
            vec![
                ("dilations", Attribute::Ints(vec![i64::MAX])),
                ("pads", Attribute::Ints(vec![i64::MAX, i64::MAX])),
            ],
        ),
        node(
            "Slice",
            &["x", "starts", "ends", "axes", "steps"],
            &["s"],
            vec![],
        ),
    ];
    let f = infer(&g);
    assert_eq!(shape_of(&f, "c")[2], Dim::Unknown);
    assert_eq!(
        shape_of(&f, "s"),
        vec![Dim::Fixed(1), Dim::Fixed(1), Dim::Fixed(1)]
    );
}
