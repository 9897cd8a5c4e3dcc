//! Unit tests for the image ops: tricky window and coordinate cases, and
//! malformed inputs that must fail cleanly.

use crate::Registry;
use runnx_ir::{Attribute, Inputs, Node, NodeCtx, Result, Tensor, Value};

fn node(op: &str, n_in: usize, n_out: usize, attrs: Vec<(&str, Attribute)>) -> Node {
    Node {
        name: "n".into(),
        op_type: op.into(),
        domain: String::new(),
        inputs: (0..n_in).map(|i| format!("i{i}")).collect(),
        outputs: (0..n_out).map(|i| format!("o{i}")).collect(),
        attrs: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    }
}

fn run(
    op: &str,
    opset: i64,
    attrs: Vec<(&str, Attribute)>,
    inputs: &[Option<Tensor>],
    n_out: usize,
) -> Result<Vec<Tensor>> {
    let mut r = Registry::default();
    super::register(&mut r);
    let nd = node(op, inputs.len(), n_out, attrs);
    let ctx = NodeCtx { node: &nd, opset };
    let entry = r.find("", op, opset).expect("registered");
    let k = (entry.build)(&ctx)?;
    let vals: Vec<Option<Value>> = inputs
        .iter()
        .map(|t| t.clone().map(Value::Tensor))
        .collect();
    let refs: Vec<Option<&Value>> = vals.iter().map(|v| v.as_ref()).collect();
    k.run(&Inputs::new(&refs))?
        .into_iter()
        .map(|v| v.into_tensor())
        .collect()
}

fn ints(v: &[i64]) -> Attribute {
    Attribute::Ints(v.to_vec())
}

fn f32s(t: &Tensor) -> Vec<f32> {
    t.as_slice::<f32>().unwrap().to_vec()
}

#[test]
fn maxpool_indices_both_storage_orders() {
    // 1x1x2x3, kernel 2x2, stride 1 -> 1x2 windows.
    let x = Tensor::new(vec![1, 1, 2, 3], vec![1f32, 5., 2., 4., 3., 6.]).unwrap();
    let out = run(
        "MaxPool",
        12,
        vec![("kernel_shape", ints(&[2, 2]))],
        &[Some(x.clone())],
        2,
    )
    .unwrap();
    assert_eq!(f32s(&out[0]), vec![5., 6.]);
    assert_eq!(out[1].as_slice::<i64>().unwrap(), &[1, 5]);
    let out = run(
        "MaxPool",
        12,
        vec![
            ("kernel_shape", ints(&[2, 2])),
            ("storage_order", Attribute::Int(1)),
        ],
        &[Some(x)],
        2,
    )
    .unwrap();
    // Column-major: (h=0, w=1) -> 0 + 1*2 = 2; (h=1, w=2) -> 1 + 2*2 = 5.
    assert_eq!(out[1].as_slice::<i64>().unwrap(), &[2, 5]);
}

#[test]
fn avgpool_pads_with_and_without_count_include_pad() {
    let x = Tensor::new(vec![1, 1, 1, 2], vec![2f32, 4.]).unwrap();
    let attrs = |cip: i64| {
        vec![
            ("kernel_shape", ints(&[1, 2])),
            ("pads", ints(&[0, 1, 0, 1])),
            ("count_include_pad", Attribute::Int(cip)),
        ]
    };
    let y = run("AveragePool", 19, attrs(0), &[Some(x.clone())], 1).unwrap();
    assert_eq!(f32s(&y[0]), vec![2., 3., 4.]);
    let y = run("AveragePool", 19, attrs(1), &[Some(x)], 1).unwrap();
    assert_eq!(f32s(&y[0]), vec![1., 3., 2.]);
}

#[test]
fn maxpool_int8_and_ceil_mode() {
    let x = Tensor::new(vec![1, 1, 5], vec![-3i8, -1, -7, 2, -8]).unwrap();
    let y = run(
        "MaxPool",
        12,
        vec![
            ("kernel_shape", ints(&[2])),
            ("strides", ints(&[2])),
            ("ceil_mode", Attribute::Int(1)),
        ],
        &[Some(x)],
        1,
    )
    .unwrap();
    assert_eq!(y[0].as_slice::<i8>().unwrap(), &[-1, 2, -8]);
}

#[test]
fn resize_linear_half_pixel_matches_hand_computation() {
    let x = Tensor::new(vec![1, 1, 1, 2], vec![0f32, 1.]).unwrap();
    let scales = Tensor::vector(vec![1f32, 1., 1., 2.]);
    let y = run(
        "Resize",
        19,
        vec![("mode", Attribute::String(b"linear".to_vec()))],
        &[Some(x), None, Some(scales)],
        1,
    )
    .unwrap();
    assert_eq!(y[0].shape(), &[1, 1, 1, 4]);
    assert_eq!(f32s(&y[0]), vec![0., 0.25, 0.75, 1.]);
}

#[test]
fn resize_nearest_keeps_integers_exact() {
    let x = Tensor::new(vec![1, 2], vec![i64::MAX, -5]).unwrap();
    let sizes = Tensor::vector(vec![1i64, 4]);
    let y = run("Resize", 13, vec![], &[Some(x), None, None, Some(sizes)], 1).unwrap();
    assert_eq!(
        y[0].as_slice::<i64>().unwrap(),
        &[i64::MAX, i64::MAX, -5, -5]
    );
}

#[test]
fn upsample_opset7_attribute_scales() {
    let x = Tensor::new(vec![1, 2], vec![1f32, 2.]).unwrap();
    let y = run(
        "Upsample",
        7,
        vec![("scales", Attribute::Floats(vec![2., 2.]))],
        &[Some(x)],
        1,
    )
    .unwrap();
    assert_eq!(y[0].shape(), &[2, 4]);
    assert_eq!(f32s(&y[0]), vec![1., 1., 2., 2., 1., 1., 2., 2.]);
}

#[test]
fn nms_limits_and_orders() {
    let boxes = Tensor::new(
        vec![1, 3, 4],
        vec![0f32, 0., 1., 1., 0., 0.1, 1., 1.1, 0., 5., 1., 6.],
    )
    .unwrap();
    let scores = Tensor::new(vec![1, 1, 3], vec![0.5f32, 0.9, 0.7]).unwrap();
    let y = run(
        "NonMaxSuppression",
        11,
        vec![],
        &[
            Some(boxes),
            Some(scores),
            Some(Tensor::vector(vec![5i64])),
            Some(Tensor::vector(vec![0.5f32])),
            None,
        ],
        1,
    )
    .unwrap();
    assert_eq!(y[0].as_slice::<i64>().unwrap(), &[0, 0, 1, 0, 0, 2]);
}

#[test]
fn malformed_inputs_fail_cleanly() {
    // Kernel larger than the input.
    let x = Tensor::new(vec![1, 1, 2], vec![1f32, 2.]).unwrap();
    assert!(run(
        "MaxPool",
        12,
        vec![("kernel_shape", ints(&[3]))],
        &[Some(x.clone())],
        1
    )
    .is_err());
    // Zero stride.
    assert!(run(
        "AveragePool",
        19,
        vec![("kernel_shape", ints(&[1])), ("strides", ints(&[0]))],
        &[Some(x.clone())],
        1
    )
    .is_err());
    // Rank mismatch.
    assert!(run(
        "MaxPool",
        12,
        vec![("kernel_shape", ints(&[1, 1]))],
        &[Some(x.clone())],
        1
    )
    .is_err());
    // MaxUnpool index out of range.
    let idx = Tensor::new(vec![1, 1, 2], vec![0i64, 99]).unwrap();
    assert!(run(
        "MaxUnpool",
        11,
        vec![("kernel_shape", ints(&[2]))],
        &[Some(x.clone()), Some(idx)],
        1
    )
    .is_err());
    // Resize with absurd scales: an error or an empty result, never a panic.
    let s = Tensor::vector(vec![1f32, 1e-30]);
    let _ = run(
        "Resize",
        19,
        vec![
            ("mode", Attribute::String(b"linear".to_vec())),
            ("antialias", Attribute::Int(1)),
        ],
        &[
            Some(Tensor::new(vec![1, 2], vec![1f32, 2.]).unwrap()),
            None,
            Some(s),
        ],
        1,
    );
    let s = Tensor::vector(vec![1f32, -1.]);
    assert!(run(
        "Resize",
        19,
        vec![],
        &[Some(x.reshaped(vec![1, 2]).unwrap()), None, Some(s)],
        1
    )
    .is_err());
    // RoiAlign with a bad batch index.
    let img = Tensor::new(vec![1, 1, 2, 2], vec![1f32; 4]).unwrap();
    let rois = Tensor::new(vec![1, 4], vec![0f32, 0., 1., 1.]).unwrap();
    let bi = Tensor::vector(vec![3i64]);
    assert!(run(
        "RoiAlign",
        16,
        vec![],
        &[Some(img.clone()), Some(rois.clone()), Some(bi)],
        1
    )
    .is_err());
    // RoiAlign with a huge roi and no sampling ratio.
    let big = Tensor::new(vec![1, 4], vec![0f32, 0., 1e30, 1e30]).unwrap();
    assert!(run(
        "RoiAlign",
        16,
        vec![],
        &[Some(img), Some(big), Some(Tensor::vector(vec![0i64]))],
        1
    )
    .is_err());
    // Col2Im whose block count does not match.
    let cols = Tensor::new(vec![1, 4, 3], vec![0f32; 12]).unwrap();
    assert!(run(
        "Col2Im",
        18,
        vec![],
        &[
            Some(cols),
            Some(Tensor::vector(vec![3i64, 3])),
            Some(Tensor::vector(vec![2i64, 2]))
        ],
        1
    )
    .is_err());
    // GridSample with a grid of the wrong shape.
    let grid = Tensor::new(vec![1, 1, 1, 3], vec![0f32; 3]).unwrap();
    let img = Tensor::new(vec![1, 1, 2, 2], vec![1f32; 4]).unwrap();
    assert!(run("GridSample", 16, vec![], &[Some(img), Some(grid)], 1).is_err());
}

#[test]
fn gridsample_far_outside_is_safe() {
    let img = Tensor::new(vec![1, 1, 2, 2], vec![1f32, 2., 3., 4.]).unwrap();
    let grid = Tensor::new(
        vec![1, 1, 3, 2],
        vec![1e30f32, -1e30, f32::NAN, 0., f32::INFINITY, 1.],
    )
    .unwrap();
    for pad in ["zeros", "border", "reflection"] {
        for mode in ["bilinear", "nearest", "bicubic"] {
            let y = run(
                "GridSample",
                16,
                vec![
                    ("padding_mode", Attribute::String(pad.as_bytes().to_vec())),
                    ("mode", Attribute::String(mode.as_bytes().to_vec())),
                ],
                &[Some(img.clone()), Some(grid.clone())],
                1,
            )
            .unwrap();
            assert_eq!(y[0].shape(), &[1, 1, 1, 3]);
        }
    }
}

/// Rough timings of the CNN pooling kernels: `cargo test -p runnx-cpu --lib image::tests::bench -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_cnn_pools() {
    let x = Tensor::new(
        vec![1, 64, 112, 112],
        (0..64 * 112 * 112)
            .map(|i| (i % 97) as f32)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let attrs = || {
        vec![
            ("kernel_shape", ints(&[3, 3])),
            ("strides", ints(&[2, 2])),
            ("pads", ints(&[1, 1, 1, 1])),
        ]
    };
    for op in ["MaxPool", "AveragePool"] {
        let t = std::time::Instant::now();
        for _ in 0..10 {
            run(op, 19, attrs(), &[Some(x.clone())], 1).unwrap();
        }
        eprintln!("{op} 3x3/2 on 1x64x112x112: {:?} per run", t.elapsed() / 10);
    }
    let g = Tensor::new(vec![1, 1280, 7, 7], vec![1f32; 1280 * 49]).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..100 {
        run("GlobalAveragePool", 19, vec![], &[Some(g.clone())], 1).unwrap();
    }
    eprintln!(
        "GlobalAveragePool 1x1280x7x7: {:?} per run",
        t.elapsed() / 100
    );
}
