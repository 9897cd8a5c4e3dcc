//! Unit tests for the tricky kernels of this family.

use crate::Registry;
use runnx_ir::{Attribute, Inputs, Node, NodeCtx, Tensor, Value};

fn run(
    op: &str,
    opset: i64,
    attrs: Vec<(&str, Attribute)>,
    inputs: Vec<Option<Tensor>>,
) -> runnx_ir::Result<Vec<Tensor>> {
    let mut r = Registry::default();
    super::register(&mut r);
    let node = Node {
        name: "n".into(),
        op_type: op.into(),
        domain: String::new(),
        inputs: inputs
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if t.is_some() {
                    format!("i{i}")
                } else {
                    String::new()
                }
            })
            .collect(),
        outputs: vec!["y".into()],
        attrs: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    };
    let entry = r.find("", op, opset).expect("registered");
    let k = (entry.build)(&NodeCtx { node: &node, opset })?;
    let values: Vec<Option<Value>> = inputs.into_iter().map(|t| t.map(Value::Tensor)).collect();
    let refs: Vec<Option<&Value>> = values.iter().map(|v| v.as_ref()).collect();
    k.run(&Inputs::new(&refs))?
        .into_iter()
        .map(|v| v.into_tensor())
        .collect()
}

fn t32(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::new(shape.to_vec(), v.to_vec()).unwrap()
}

fn close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-5 + 1e-4 * y.abs(), "{a:?} vs {b:?}");
    }
}

#[test]
fn reduce_sum_attr_axes_non_adjacent() {
    // [2, 3, 2], reduce axes 0 and 2 (opset 11: axes attribute), transpose path.
    let x = t32(&[2, 3, 2], &(0..12).map(|v| v as f32).collect::<Vec<_>>());
    let y = run(
        "ReduceSum",
        11,
        vec![
            ("axes", Attribute::Ints(vec![0, -1])),
            ("keepdims", Attribute::Int(0)),
        ],
        vec![Some(x)],
    )
    .unwrap();
    assert_eq!(y[0].shape(), &[3]);
    close(
        y[0].as_slice::<f32>().unwrap(),
        &[0. + 1. + 6. + 7., 2. + 3. + 8. + 9., 4. + 5. + 10. + 11.],
    );
}

#[test]
fn reduce_empty_identities() {
    let x = t32(&[2, 0], &[]);
    let axes = || Some(Tensor::vector(vec![1i64]));
    let max = run("ReduceMax", 18, vec![], vec![Some(x.clone()), axes()]).unwrap();
    assert_eq!(max[0].as_slice::<f32>().unwrap(), &[f32::NEG_INFINITY; 2]);
    let prod = run("ReduceProd", 18, vec![], vec![Some(x.clone()), axes()]).unwrap();
    assert_eq!(prod[0].as_slice::<f32>().unwrap(), &[1.0; 2]);
    let xi = Tensor::new(vec![2, 0], Vec::<i32>::new()).unwrap();
    let min = run(
        "ReduceMin",
        18,
        vec![("keepdims", Attribute::Int(0))],
        vec![Some(xi), axes()],
    )
    .unwrap();
    assert_eq!(min[0].as_slice::<i32>().unwrap(), &[i32::MAX; 2]);
    assert_eq!(min[0].shape(), &[2]);
}

#[test]
fn reduce_int_exact_and_noop() {
    let big = 1i64 << 60;
    let x = Tensor::new(vec![3], vec![big, 1, -big]).unwrap();
    let y = run(
        "ReduceSum",
        13,
        vec![("keepdims", Attribute::Int(0))],
        vec![Some(x.clone())],
    )
    .unwrap();
    assert_eq!(y[0].as_slice::<i64>().unwrap(), &[1]);
    let y = run(
        "ReduceSum",
        13,
        vec![("noop_with_empty_axes", Attribute::Int(1))],
        vec![Some(x.clone())],
    )
    .unwrap();
    assert_eq!(y[0].as_slice::<i64>().unwrap(), &[big, 1, -big]);
}

#[test]
fn reduce_log_sum_exp_is_stable() {
    let x = t32(&[1, 20], &[1000.0; 20]);
    let y = run(
        "ReduceLogSumExp",
        18,
        vec![],
        vec![Some(x), Some(Tensor::vector(vec![1i64]))],
    )
    .unwrap();
    close(y[0].as_slice::<f32>().unwrap(), &[1000.0 + 20f32.ln()]);
}

#[test]
fn argmax_last_index_and_nan() {
    let x = t32(&[2, 3], &[1.0, 3.0, 3.0, f32::NAN, 2.0, f32::NAN]);
    let y = run(
        "ArgMax",
        13,
        vec![
            ("axis", Attribute::Int(1)),
            ("select_last_index", Attribute::Int(1)),
        ],
        vec![Some(x.clone())],
    )
    .unwrap();
    assert_eq!(y[0].as_slice::<i64>().unwrap(), &[2, 0]);
    let y = run(
        "ArgMin",
        13,
        vec![("axis", Attribute::Int(1)), ("keepdims", Attribute::Int(0))],
        vec![Some(x)],
    )
    .unwrap();
    assert_eq!(y[0].shape(), &[2]);
    assert_eq!(y[0].as_slice::<i64>().unwrap(), &[0, 0]);
}

#[test]
fn softmax_legacy_coerces_to_2d() {
    let x = t32(&[2, 2, 2], &[0.0, 1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 0.0]);
    // Opset 11, axis 1: each row of 4 sums to 1.
    let y = run("Softmax", 11, vec![], vec![Some(x.clone())]).unwrap();
    let v = y[0].as_slice::<f32>().unwrap();
    close(
        &[v[..4].iter().sum::<f32>(), v[4..].iter().sum::<f32>()],
        &[1.0, 1.0],
    );
    close(&v[4..], &[0.25; 4]);
    // Opset 13, axis 1: pairs along the middle axis.
    let y = run(
        "Softmax",
        13,
        vec![("axis", Attribute::Int(1))],
        vec![Some(x)],
    )
    .unwrap();
    let v = y[0].as_slice::<f32>().unwrap();
    close(&[v[0] + v[2], v[1] + v[3]], &[1.0, 1.0]);
}

#[test]
fn layer_norm_outputs() {
    let x = t32(&[2, 4], &[1.0, 2.0, 3.0, 4.0, 2.0, 2.0, 2.0, 2.0]);
    let s = t32(&[4], &[1.0; 4]);
    let y = run(
        "LayerNormalization",
        17,
        vec![("epsilon", Attribute::Float(0.0))],
        vec![Some(x), Some(s)],
    )
    .unwrap();
    assert_eq!(y.len(), 3);
    assert_eq!(y[1].shape(), &[2, 1]);
    close(y[1].as_slice::<f32>().unwrap(), &[2.5, 2.0]);
    let sd = 1.25f32.sqrt();
    close(
        &y[0].as_slice::<f32>().unwrap()[..4],
        &[-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd],
    );
}

fn f64t(shape: &[usize], v: Vec<f64>) -> Tensor {
    Tensor::new(shape.to_vec(), v).unwrap()
}

fn einsum(eq: &str, inputs: Vec<Tensor>) -> Tensor {
    let mut y = run(
        "Einsum",
        12,
        vec![("equation", Attribute::String(eq.as_bytes().to_vec()))],
        inputs.into_iter().map(Some).collect(),
    )
    .unwrap();
    y.remove(0)
}

#[test]
fn einsum_cases() {
    let a = f64t(&[2, 3], (0..6).map(f64::from).collect());
    let b = f64t(&[3, 2], (0..6).map(f64::from).collect());
    let mm = einsum("ij,jk->ik", vec![a.clone(), b.clone()]);
    assert_eq!(mm.as_slice::<f64>().unwrap(), &[10.0, 13.0, 28.0, 40.0]);
    // Implicit output: the letters used once, sorted.
    let mm2 = einsum("ij,jk", vec![a.clone(), b.clone()]);
    assert_eq!(
        mm2.as_slice::<f64>().unwrap(),
        mm.as_slice::<f64>().unwrap()
    );
    let tr = einsum("ij->ji", vec![a.clone()]);
    assert_eq!(tr.shape(), &[3, 2]);
    assert_eq!(
        tr.as_slice::<f64>().unwrap(),
        &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    );
    let sq = f64t(&[3, 3], (0..9).map(f64::from).collect());
    assert_eq!(
        einsum("ii->i", vec![sq.clone()]).as_slice::<f64>().unwrap(),
        &[0.0, 4.0, 8.0]
    );
    assert_eq!(
        einsum("ii", vec![sq.clone()]).as_slice::<f64>().unwrap(),
        &[12.0]
    );
    // Three operands.
    let c = f64t(&[2, 1], vec![1.0, -1.0]);
    let r = einsum("ij,jk,kl->il", vec![a.clone(), b.clone(), c]);
    assert_eq!(r.as_slice::<f64>().unwrap(), &[-3.0, -12.0]);
    // Broadcast ellipsis.
    let x = f64t(&[1, 2, 3], (0..6).map(f64::from).collect());
    let y = f64t(&[2, 3, 2], (0..12).map(f64::from).collect());
    let r = einsum("...ij,...jk->...ik", vec![x, y]);
    assert_eq!(r.shape(), &[2, 2, 2]);
    assert_eq!(
        &r.as_slice::<f64>().unwrap()[..4],
        &[10.0, 13.0, 28.0, 40.0]
    );
    // Outer product and a full contraction.
    let v = f64t(&[2], vec![1.0, 2.0]);
    assert_eq!(
        einsum("i,j->ij", vec![v.clone(), v.clone()])
            .as_slice::<f64>()
            .unwrap(),
        &[1.0, 2.0, 2.0, 4.0]
    );
    assert_eq!(
        einsum("i,i->", vec![v.clone(), v])
            .as_slice::<f64>()
            .unwrap(),
        &[5.0]
    );
}

#[test]
fn bad_inputs_are_errors() {
    let x = t32(&[2, 3], &[0.0; 6]);
    assert!(run(
        "ReduceSum",
        13,
        vec![],
        vec![Some(x.clone()), Some(Tensor::vector(vec![5i64]))]
    )
    .is_err());
    assert!(run(
        "ArgMax",
        13,
        vec![("axis", Attribute::Int(-3))],
        vec![Some(x.clone())]
    )
    .is_err());
    assert!(run(
        "Einsum",
        12,
        vec![("equation", Attribute::String(b"ijk->i".to_vec()))],
        vec![Some(x.clone())]
    )
    .is_err());
    assert!(run(
        "Einsum",
        12,
        vec![("equation", Attribute::String(b"ij,jk->ik".to_vec()))],
        vec![Some(x.clone()), Some(x.clone())]
    )
    .is_err());
    let t = Tensor::vector(vec![0i64, 7]);
    assert!(run(
        "NegativeLogLikelihoodLoss",
        22,
        vec![],
        vec![Some(t32(&[2, 3], &[0.0; 6])), Some(t)]
    )
    .is_err());
    let s = t32(&[3], &[1.0; 3]);
    assert!(run(
        "GroupNormalization",
        21,
        vec![("num_groups", Attribute::Int(2))],
        vec![Some(t32(&[1, 3, 1], &[0.0; 3])), Some(s.clone()), Some(s)]
    )
    .is_err());
}

#[test]
fn fast_exp_is_accurate() {
    use super::common::exp_f32;
    let mut x = -86.0f32;
    while x < 88.7 {
        let (a, b) = (exp_f32(x) as f64, (x as f64).exp());
        assert!(((a - b) / b).abs() < 5e-7, "exp({x}) = {a}, want {b}");
        x += 0.0137;
    }
    assert_eq!(exp_f32(-1000.0), 0.0);
    assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
    assert_eq!(exp_f32(1000.0), f32::INFINITY);
    assert!(exp_f32(f32::NAN).is_nan());
    assert_eq!(exp_f32(0.0), 1.0);
}
