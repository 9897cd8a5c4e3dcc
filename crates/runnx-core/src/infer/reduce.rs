//! Shape rules of reductions: Reduce*, ArgMax/ArgMin, TopK, CumSum.

use super::shape::{axes, axis};
use super::{Fact, InferCtx, Rule};
use runnx_ir::graph::Dim;
use runnx_ir::{DType, Result};

pub fn rule(op: &str) -> Option<Rule> {
    Some(match op {
        "ReduceMean" | "ReduceSum" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL1"
        | "ReduceL2" | "ReduceLogSum" | "ReduceLogSumExp" | "ReduceSumSquare" => reduce,
        "ArgMax" | "ArgMin" => arg,
        "TopK" => top_k,
        "CumSum" => cum_sum,
        _ => return None,
    })
}

/// `dims` with `axes` removed, or set to 1 when `keep`.
fn reduced(dims: &[Dim], ax: &[usize], keep: bool) -> Vec<Dim> {
    dims.iter()
        .enumerate()
        .filter_map(|(i, d)| match (ax.contains(&i), keep) {
            (false, _) => Some(d.clone()),
            (true, true) => Some(Dim::Fixed(1)),
            (true, false) => None,
        })
        .collect()
}

fn reduce(c: &InferCtx) -> Result<Vec<Fact>> {
    let x = c.input(0);
    let keep = c.ctx.attr_int("keepdims", 1)? != 0;
    let (Some(s), Some(ax)) = (x.shape.as_ref(), axes(c, 1)?) else {
        return Ok(vec![Fact::new(x.dtype, None)]);
    };
    let ax: Vec<usize> = if ax.is_empty() {
        if c.ctx.attr_int("noop_with_empty_axes", 0)? != 0 {
            return Ok(vec![Fact::new(x.dtype, Some(s.clone()))]);
        }
        (0..s.len()).collect()
    } else {
        match ax.iter().map(|&a| axis(a, s.len())).collect() {
            Some(v) => v,
            None => return Ok(vec![]),
        }
    };
    Ok(vec![Fact::new(x.dtype, Some(reduced(s, &ax, keep)))])
}

fn arg(c: &InferCtx) -> Result<Vec<Fact>> {
    let keep = c.ctx.attr_int("keepdims", 1)? != 0;
    let dims = match c.shape(0) {
        Some(s) => match axis(c.ctx.attr_int("axis", 0)?, s.len()) {
            Some(a) => Some(reduced(s, &[a], keep)),
            None => return Ok(vec![]),
        },
        None => None,
    };
    Ok(vec![Fact::new(Some(DType::I64), dims)])
}

fn top_k(c: &InferCtx) -> Result<Vec<Fact>> {
    let x = c.input(0);
    let dims = match x.shape.as_ref() {
        Some(s) => {
            let Some(a) = axis(c.ctx.attr_int("axis", -1)?, s.len()) else {
                return Ok(vec![]);
            };
            let k = if c.ctx.opset < 10 {
                c.ctx.attr_int_opt("k")?
            } else {
                c.ints(1).and_then(|v| v.first().copied())
            };
            let mut d = s.clone();
            d[a] = k
                .and_then(|k| usize::try_from(k).ok())
                .map_or(Dim::Unknown, Dim::Fixed);
            Some(d)
        }
        None => None,
    };
    Ok(vec![
        Fact::new(x.dtype, dims.clone()),
        Fact::new(Some(DType::I64), dims),
    ])
}

fn cum_sum(c: &InferCtx) -> Result<Vec<Fact>> {
    let x = c.input(0);
    Ok(vec![Fact::new(x.dtype, x.shape)])
}
