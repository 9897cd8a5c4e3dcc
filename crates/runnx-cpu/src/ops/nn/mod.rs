//! Matrix multiply, convolution and quantized linear algebra.
//!
//! Fused ops for the planner live under the domain "runnx" (see [`fused`]):
//! `FusedConv`, `FusedGemm` and `FusedMatMul`, each with the attributes of the op it
//! extends plus `activation` (an ONNX activation op name: Relu, LeakyRelu, Clip,
//! Sigmoid, Tanh, HardSigmoid, HardSwish, Elu) and `activation_params` (floats: alpha
//! for LeakyRelu/Elu, min/max for Clip, alpha/beta for HardSigmoid).

use crate::Registry;

mod common;
pub mod conv;
mod deform;
mod depthwise_cl;
pub mod fused;
pub mod matmul;
mod quant;
mod simd;

pub fn register(r: &mut Registry) {
    r.add("MatMul", matmul::build_matmul);
    r.add("Gemm", matmul::build_gemm);
    r.add("Conv", conv::build_conv);
    r.add("ConvTranspose", conv::build_conv_transpose);
    r.add("DeformConv", deform::build_deform_conv);
    r.add("QuantizeLinear", quant::build_quantize);
    r.add("DequantizeLinear", quant::build_dequantize);
    r.add("DynamicQuantizeLinear", quant::build_dynamic_quantize);
    r.add("MatMulInteger", quant::build_matmul_integer);
    r.add("ConvInteger", quant::build_conv_integer);
    r.add("QLinearMatMul", quant::build_qlinear_matmul);
    r.add("QLinearConv", quant::build_qlinear_conv);
    r.add_in("runnx", "FusedConv", 1, conv::build_fused_conv);
    r.add_in("runnx", "FusedGemm", 1, matmul::build_fused_gemm);
    r.add_in("runnx", "FusedMatMul", 1, matmul::build_fused_matmul);
}

#[cfg(test)]
mod bench {
    use super::conv::{conv_f32, ConvParams};
    use super::matmul::matmul_f32;
    use crate::gemm::Activation;

    /// Best single run over ~0.5 s (robust to a busy machine).
    fn time(name: &str, mut f: impl FnMut()) {
        if std::env::var("NN_BENCH").is_ok_and(|v| !name.contains(&v)) {
            return;
        }
        f();
        let mut best = f64::MAX;
        let start = std::time::Instant::now();
        let mut runs = 0;
        while runs < 3 || start.elapsed().as_secs_f64() < 0.5 {
            let t = std::time::Instant::now();
            f();
            best = best.min(t.elapsed().as_secs_f64());
            runs += 1;
        }
        println!("{name}: {:.0} us", best * 1e6);
    }

    /// Single-thread timings of the BERT and MobileNetV2 shapes:
    /// `cargo test --release -p runnx-cpu --lib nn_bench -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn nn_bench() {
        println!("kernel: {}", crate::gemm::kernel_name());
        crate::par::Pool::new(1).install(|| {
            for (name, a, b) in [
                ("mm 128x384x384", vec![128, 384], vec![384, 384]),
                ("mm 128x384x1536", vec![128, 384], vec![384, 1536]),
                ("mm 12x128x32x128", vec![12, 128, 32], vec![12, 32, 128]),
                ("mm 12x128x128x32", vec![12, 128, 128], vec![12, 128, 32]),
                ("mm 1024^3", vec![1024, 1024], vec![1024, 1024]),
            ] {
                let av = vec![0.5f32; a.iter().product()];
                let bv = vec![0.25f32; b.iter().product()];
                time(name, || {
                    matmul_f32(&av, &a, &bv, &b, None, Activation::None).unwrap();
                });
            }
            {
                let a = vec![0.5f32; 1280];
                let w = vec![0.25f32; 1000 * 1280];
                let b = vec![0.1f32; 1000];
                let p = super::matmul::GemmParams {
                    alpha: 1.0,
                    beta: 1.0,
                    trans_a: false,
                    trans_b: true,
                };
                time("gemm 1x1280 x (1000x1280)^T", || {
                    super::matmul::gemm_fused(
                        &a,
                        &[1, 1280],
                        &w,
                        &[1000, 1280],
                        Some((&b, &[1000])),
                        &p,
                        Activation::None,
                    )
                    .unwrap();
                });
            }
            for (c, m, hw, k, s, g) in [
                (3, 32, 224, 3, 2, 1),
                (32, 32, 112, 3, 1, 32),
                (32, 16, 112, 1, 1, 1),
                (16, 96, 112, 1, 1, 1),
                (96, 96, 112, 3, 2, 96),
                (96, 24, 56, 1, 1, 1),
                (144, 144, 56, 3, 1, 144),
                (144, 24, 56, 1, 1, 1),
                (960, 960, 7, 3, 1, 960),
                (960, 160, 7, 1, 1, 1),
                (320, 1280, 7, 1, 1, 1),
            ] {
                let xs = [1, c, hw, hw];
                let ws = [m, c / g, k, k];
                let x = vec![0.5f32; xs.iter().product()];
                let w = vec![0.25f32; ws.iter().product()];
                let b = vec![0.1f32; m];
                let p = k as i64 / 2;
                let params = ConvParams {
                    auto_pad: "NOTSET".into(),
                    group: g as i64,
                    pads: Some(vec![p; 4]),
                    strides: Some(vec![s as i64; 2]),
                    ..Default::default()
                };
                time(&format!("conv c{c} m{m} hw{hw} k{k} s{s} g{g}"), || {
                    conv_f32(&x, &xs, &w, &ws, Some(&b), &params, Activation::None).unwrap();
                });
            }
        });
    }
}

#[cfg(test)]
mod fused_tests {
    use crate::Registry;
    use runnx_ir::{Attribute, Inputs, Node, NodeCtx, Tensor, Value};

    fn run(op: &str, attrs: Vec<(String, Attribute)>, inputs: Vec<Tensor>) -> Tensor {
        let mut r = Registry::default();
        super::register(&mut r);
        let domain = if op.starts_with("Fused") { "runnx" } else { "" };
        let node = Node {
            name: "n".into(),
            op_type: op.into(),
            domain: domain.into(),
            inputs: (0..inputs.len()).map(|i| format!("i{i}")).collect(),
            outputs: vec!["y".into()],
            attrs,
        };
        let entry = r.find(domain, op, 1).unwrap();
        let k = (entry.build)(&NodeCtx {
            node: &node,
            opset: 17,
        })
        .unwrap();
        let vals: Vec<Value> = inputs.into_iter().map(Value::Tensor).collect();
        let refs: Vec<Option<&Value>> = vals.iter().map(Some).collect();
        let out = k.run(&Inputs::new(&refs)).unwrap();
        out.into_iter().next().unwrap().into_tensor().unwrap()
    }

    fn act(name: &str, params: Vec<f32>) -> Vec<(String, Attribute)> {
        vec![
            (
                "activation".into(),
                Attribute::String(name.as_bytes().to_vec()),
            ),
            ("activation_params".into(), Attribute::Floats(params)),
        ]
    }

    fn close(a: &Tensor, b: &[f32]) {
        let a = a.as_slice::<f32>().unwrap();
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5, "{:?} vs {:?}", a, b);
        }
    }

    #[test]
    fn fused_matmul_bias_and_activation() {
        let a = Tensor::new(vec![2, 3], vec![1f32, -2.0, 3.0, 0.5, 1.0, -1.0]).unwrap();
        let b = Tensor::new(vec![3, 2], vec![1f32, 0.0, 0.0, 1.0, 1.0, 1.0]).unwrap();
        // A*B = [[4, 1], [-0.5, 0]]
        let y = run(
            "FusedMatMul",
            act("Relu", vec![]),
            vec![a.clone(), b.clone(), Tensor::vector(vec![0.0f32, -2.0])],
        );
        close(&y, &[4.0, 0.0, 0.0, 0.0]);
        let full = Tensor::new(vec![2, 2], vec![1f32, 1.0, 1.0, 1.0]).unwrap();
        let y = run(
            "FusedMatMul",
            act("Clip", vec![0.0, 4.5]),
            vec![a.clone(), b.clone(), full],
        );
        close(&y, &[4.5, 2.0, 0.5, 1.0]);
        let y = run(
            "FusedGemm",
            act("LeakyRelu", vec![0.5]),
            vec![a, b, Tensor::scalar(0.0f32)],
        );
        close(&y, &[4.0, 1.0, -0.25, 0.0]);
    }

    #[test]
    fn fused_conv_matches_conv_then_clip() {
        let x: Vec<f32> = (0..2 * 5 * 5).map(|i| (i as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..4 * 2 * 9).map(|i| (i as f32 * 0.11).cos()).collect();
        let xt = Tensor::new(vec![1, 2, 5, 5], x).unwrap();
        let wt = Tensor::new(vec![4, 2, 3, 3], w).unwrap();
        let bt = Tensor::vector(vec![0.1f32, -0.2, 0.3, 0.0]);
        let pads = ("pads".to_string(), Attribute::Ints(vec![1, 1, 1, 1]));
        let plain = run(
            "Conv",
            vec![pads.clone()],
            vec![xt.clone(), wt.clone(), bt.clone()],
        );
        let mut attrs = act("Clip", vec![-0.5, 1.0]);
        attrs.push(pads);
        let fused = run("FusedConv", attrs, vec![xt, wt, bt]);
        let want: Vec<f32> = plain
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .map(|v| v.clamp(-0.5, 1.0))
            .collect();
        close(&fused, &want);
    }
}
