//! Fold an inference BatchNormalization into the Conv that feeds it:
//! W' = W * s, B' = (B - mean) * s + beta, with s = scale / sqrt(var + eps).

use super::Uses;
use runnx_ir::graph::{Graph, Node};
use runnx_ir::{Attribute, Tensor};

pub fn fold_batch_norm_into_conv(g: &mut Graph) {
    let mut removed = vec![false; g.nodes.len()];
    let uses = Uses::of(g);
    for bn_i in 0..g.nodes.len() {
        let bn = &g.nodes[bn_i];
        let training = matches!(bn.attr("training_mode"), Some(Attribute::Int(1)));
        if bn.op_type != "BatchNormalization"
            || !bn.domain.is_empty()
            || training
            || bn.outputs.iter().skip(1).any(|o| !o.is_empty())
        {
            continue;
        }
        let Some(y) = bn.outputs.first().cloned() else {
            continue;
        };
        let Some(x) = bn.inputs.first() else { continue };
        let Some(conv_i) = g.nodes.iter().position(|n| {
            n.op_type == "Conv" && n.domain.is_empty() && n.outputs.first() == Some(x)
        }) else {
            continue;
        };
        if !uses.single_internal_reader(x) || removed[conv_i] {
            continue;
        }
        let Some(folded) = fold(&g.nodes[conv_i], bn, g) else {
            continue;
        };
        let (w, b) = folded;
        let conv = &g.nodes[conv_i];
        let w_name = format!("{}__bn_folded_w", conv.display_name());
        let b_name = format!("{}__bn_folded_b", conv.display_name());
        let mut new_conv = conv.clone();
        new_conv.inputs = vec![conv.inputs[0].clone(), w_name.clone(), b_name.clone()];
        new_conv.outputs = vec![y];
        g.initializers.insert(w_name, w);
        g.initializers.insert(b_name, b);
        g.nodes[conv_i] = new_conv;
        removed[bn_i] = true;
    }
    let mut r = removed.iter();
    g.nodes.retain(|_| !*r.next().unwrap_or(&false));
}

fn fold(conv: &Node, bn: &Node, g: &Graph) -> Option<(Tensor, Tensor)> {
    let constant = |name: Option<&String>| -> Option<Vec<f32>> {
        let t = g.initializers.get(name?)?;
        t.as_slice::<f32>().ok().map(|s| s.to_vec())
    };
    let w_t = g.initializers.get(conv.inputs.get(1)?)?;
    let w = w_t.as_slice::<f32>().ok()?;
    let out_c = *w_t.shape().first()?;
    let (scale, beta, mean, var) = (
        constant(bn.inputs.get(1))?,
        constant(bn.inputs.get(2))?,
        constant(bn.inputs.get(3))?,
        constant(bn.inputs.get(4))?,
    );
    if [scale.len(), beta.len(), mean.len(), var.len()]
        .iter()
        .any(|&l| l != out_c)
        || out_c == 0
    {
        return None;
    }
    let bias = match conv.inputs.get(2).filter(|s| !s.is_empty()) {
        Some(name) => constant(Some(name)).filter(|b| b.len() == out_c)?,
        None => vec![0.0; out_c],
    };
    let eps = match bn.attr("epsilon") {
        Some(Attribute::Float(e)) => *e,
        _ => 1e-5,
    };
    let per_out = w.len() / out_c;
    let s: Vec<f32> = scale
        .iter()
        .zip(&var)
        .map(|(sc, v)| sc / (v + eps).sqrt())
        .collect();
    let new_w: Vec<f32> = w
        .iter()
        .enumerate()
        .map(|(i, &x)| x * s[i / per_out])
        .collect();
    let new_b: Vec<f32> = (0..out_c)
        .map(|c| (bias[c] - mean[c]) * s[c] + beta[c])
        .collect();
    Some((
        Tensor::new(w_t.shape().to_vec(), new_w).ok()?,
        Tensor::vector(new_b),
    ))
}
