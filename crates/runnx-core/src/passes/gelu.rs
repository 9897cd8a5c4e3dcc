//! Fuse the erf form of GELU, as exporters write it, into one Gelu node:
//! `Mul(Mul(x, Add(Erf(Div(x, sqrt 2)), 1)), 0.5)` (operands in either order).

use super::Uses;
use crate::plan::Compiler;
use runnx_ir::graph::{Graph, Node};
use std::collections::HashMap;

pub fn fuse_gelu(g: &mut Graph, compiler: &Compiler) {
    let probe = Node {
        name: String::new(),
        op_type: "Gelu".into(),
        domain: String::new(),
        inputs: vec!["x".into()],
        outputs: vec!["y".into()],
        attrs: vec![],
    };
    if !compiler.can_compile(&probe) {
        return;
    }
    let uses = Uses::of(g);
    let producer: HashMap<String, usize> = g
        .nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.outputs.iter().map(move |o| (o.clone(), i)))
        .collect();
    let scalar = |name: &str, want: f32| -> bool {
        g.initializers
            .get(name)
            .and_then(|t| t.to_f64_vec().ok())
            .is_some_and(|v| v.len() == 1 && (v[0] as f32 - want).abs() <= want.abs() * 1e-4)
    };
    let node_of = |name: &str, op: &str| -> Option<usize> {
        let i = *producer.get(name)?;
        let n = &g.nodes[i];
        (n.op_type == op && n.domain.is_empty() && uses.single_internal_reader(name)).then_some(i)
    };
    // The operand of a binary node that is not the constant `c`.
    let other = |n: &Node, c: f32| -> Option<String> {
        match n.inputs.as_slice() {
            [a, b] if scalar(b, c) => Some(a.clone()),
            [a, b] if scalar(a, c) => Some(b.clone()),
            _ => None,
        }
    };
    let mut rewrites: Vec<(usize, Vec<usize>, String)> = Vec::new();
    for (i, n) in g.nodes.iter().enumerate() {
        if n.op_type != "Mul" || !n.domain.is_empty() {
            continue;
        }
        let Some(half_in) = other(n, 0.5) else {
            continue;
        };
        let Some(mul_i) = node_of(&half_in, "Mul") else {
            continue;
        };
        let mul = &g.nodes[mul_i];
        let [a, b] = mul.inputs.as_slice() else {
            continue;
        };
        let found = [(a, b), (b, a)].into_iter().find_map(|(x, add_out)| {
            let add_i = node_of(add_out, "Add")?;
            let erf_in = other(&g.nodes[add_i], 1.0)?;
            let erf_i = node_of(&erf_in, "Erf")?;
            let div_i = node_of(g.nodes[erf_i].inputs.first()?, "Div")?;
            let div = &g.nodes[div_i];
            let ok = div.inputs.first() == Some(x)
                && div
                    .inputs
                    .get(1)
                    .is_some_and(|d| scalar(d, std::f32::consts::SQRT_2));
            ok.then(|| (x.clone(), vec![mul_i, add_i, erf_i, div_i]))
        });
        if let Some((x, dead)) = found {
            rewrites.push((i, dead, x));
        }
    }
    let mut removed = vec![false; g.nodes.len()];
    for (i, dead, x) in rewrites {
        let out = g.nodes[i].outputs.clone();
        let name = g.nodes[i].name.clone();
        g.nodes[i] = Node {
            name,
            op_type: "Gelu".into(),
            domain: String::new(),
            inputs: vec![x],
            outputs: out,
            attrs: vec![],
        };
        for d in dead {
            removed[d] = true;
        }
    }
    let mut r = removed.iter();
    g.nodes.retain(|_| !*r.next().unwrap_or(&false));
}
