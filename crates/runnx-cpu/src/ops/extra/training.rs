//! The ai.onnx.preview.training domain: Adagrad, Adam, Momentum.
//!
//! Inputs are R (learning rate), T (update count), then groups of tensors, one per
//! optimised tensor; outputs are the updated tensors, grouped the same way.
//! Math runs in f64; results take each tensor's own type.

use super::{scalar_f64, scalar_i64, tensor_from_f64};
use crate::Registry;
use runnx_ir::{bail, ensure, kernel, Inputs, Kernel, NodeCtx, Result, Tensor, Value};

const TRAINING: &str = "ai.onnx.preview.training";

pub fn register(r: &mut Registry) {
    r.add_in(TRAINING, "Adagrad", 1, adagrad);
    r.add_in(TRAINING, "Adam", 1, adam);
    r.add_in(TRAINING, "Momentum", 1, momentum);
}

/// R, T and the `per` tensor lists (each of `n` tensors) of an optimizer's inputs.
struct Groups<'a> {
    r: f64,
    t: i64,
    n: usize,
    lists: Vec<Vec<&'a Tensor>>,
}

fn groups<'a>(inputs: &Inputs<'a>, per: usize) -> Result<Groups<'a>> {
    let total = inputs.len();
    ensure!(
        total >= 2 + per && (total - 2).is_multiple_of(per),
        "expected R, T and {} tensors per optimised input, got {} inputs",
        per,
        total
    );
    let r = scalar_f64(inputs.tensor(0)?, "R")?;
    let t = scalar_i64(inputs.tensor(1)?, "T")?;
    let n = (total - 2) / per;
    let mut lists = Vec::with_capacity(per);
    for g in 0..per {
        let list: Vec<&Tensor> = (0..n)
            .map(|i| inputs.tensor(2 + g * n + i))
            .collect::<Result<_>>()?;
        lists.push(list);
    }
    for i in 0..n {
        let x = lists[0][i];
        ensure!(
            x.dtype().is_float(),
            "optimised tensors must be float, got {}",
            x.dtype()
        );
        for l in &lists[1..] {
            ensure!(
                l[i].len() == x.len(),
                "tensor shapes {:?} and {:?} differ",
                x.shape(),
                l[i].shape()
            );
        }
    }
    Ok(Groups { r, t, n, lists })
}

/// Run `f(r, t, values of each group at element j) -> new values` over every
/// element; outputs are grouped per kind (`outs` kinds, shaped like group `like[k]`).
fn update(
    g: &Groups,
    outs: usize,
    like: &[usize],
    f: impl Fn(&[f64], &mut [f64]),
) -> Result<Vec<Value>> {
    let mut results: Vec<Vec<Value>> = vec![Vec::with_capacity(g.n); outs];
    for i in 0..g.n {
        let vals: Vec<Vec<f64>> = g
            .lists
            .iter()
            .map(|l| l[i].to_f64_vec())
            .collect::<Result<_>>()?;
        let len = vals[0].len();
        let mut out = vec![vec![0f64; len]; outs];
        let mut inp = vec![0f64; vals.len()];
        let mut res = vec![0f64; outs];
        for j in 0..len {
            for (k, v) in vals.iter().enumerate() {
                inp[k] = v[j];
            }
            f(&inp, &mut res);
            for (k, o) in out.iter_mut().enumerate() {
                o[j] = res[k];
            }
        }
        for (k, o) in out.into_iter().enumerate() {
            let src = g.lists[like[k]][i];
            results[k].push(Value::Tensor(tensor_from_f64(
                src.dtype(),
                src.shape().to_vec(),
                &o,
            )?));
        }
    }
    Ok(results.into_iter().flatten().collect())
}

fn adagrad(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let decay = n.attr_float("decay_factor", 0.0)? as f64;
    let eps = n.attr_float("epsilon", 0.0)? as f64;
    let norm = n.attr_float("norm_coefficient", 0.0)? as f64;
    Ok(kernel(move |inputs| {
        let g = groups(inputs, 3)?;
        let r = g.r / (1.0 + g.t as f64 * decay);
        // Inputs per element: X, G, H. Outputs: X_new, H_new.
        update(&g, 2, &[0, 2], |v, o| {
            let gr = norm * v[0] + v[1];
            let h = v[2] + gr * gr;
            o[0] = v[0] - r * gr / (h.sqrt() + eps);
            o[1] = h;
        })
    }))
}

fn adam(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let alpha = n.attr_float("alpha", 0.9)? as f64;
    let beta = n.attr_float("beta", 0.999)? as f64;
    let eps = n.attr_float("epsilon", 0.0)? as f64;
    let norm = n.attr_float("norm_coefficient", 0.0)? as f64;
    let norm_post = n.attr_float("norm_coefficient_post", 0.0)? as f64;
    Ok(kernel(move |inputs| {
        let g = groups(inputs, 4)?;
        let r = if g.t > 0 {
            let t = i32::try_from(g.t).unwrap_or(i32::MAX);
            g.r * (1.0 - beta.powi(t)).sqrt() / (1.0 - alpha.powi(t))
        } else {
            g.r
        };
        // Inputs per element: X, G, V, H. Outputs: X_new, V_new, H_new.
        update(&g, 3, &[0, 2, 3], |v, o| {
            let gr = norm * v[0] + v[1];
            let vn = alpha * v[2] + (1.0 - alpha) * gr;
            let hn = beta * v[3] + (1.0 - beta) * gr * gr;
            let x = v[0] - r * (vn / (hn.sqrt() + eps));
            o[0] = (1.0 - norm_post) * x;
            o[1] = vn;
            o[2] = hn;
        })
    }))
}

fn momentum(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let alpha = n.require("alpha", n.attr_float_opt("alpha"))? as f64;
    let beta = n.require("beta", n.attr_float_opt("beta"))? as f64;
    let norm = n.require("norm_coefficient", n.attr_float_opt("norm_coefficient"))? as f64;
    let nesterov = match n.require("mode", n.attr_str_opt("mode"))?.as_str() {
        "standard" => false,
        "nesterov" => true,
        other => bail!("mode must be 'standard' or 'nesterov', got '{other}'"),
    };
    Ok(kernel(move |inputs| {
        let g = groups(inputs, 3)?;
        let r = g.r;
        let b = if g.t > 0 { beta } else { 1.0 };
        // Inputs per element: X, G, V. Outputs: X_new, V_new.
        update(&g, 2, &[0, 2], |v, o| {
            let gr = norm * v[0] + v[1];
            let vn = alpha * v[2] + b * gr;
            o[0] = if nesterov {
                v[0] - r * (gr + alpha * vn)
            } else {
                v[0] - r * vn
            };
            o[1] = vn;
        })
    }))
}
