//! Shape rules of layout ops: Shape, Reshape, Squeeze/Unsqueeze, Transpose, Concat,
//! Gather, Slice, Expand, Split, Tile, Pad, ConstantOfShape and friends.
//! Where the input is a followed shape value, the output value is followed too.

use super::elementwise::broadcast_dims;
use super::{Fact, InferCtx, Rule, Sym};
use runnx_ir::graph::Dim;
use runnx_ir::{DType, Result};

pub fn rule(op: &str) -> Option<Rule> {
    Some(match op {
        "Shape" => shape,
        "Size" => size,
        "Constant" => constant,
        "Reshape" => reshape,
        "Flatten" => flatten,
        "Squeeze" => squeeze,
        "Unsqueeze" => unsqueeze,
        "Transpose" => transpose,
        "Concat" => concat,
        "Gather" => gather,
        "Slice" => slice,
        "Expand" => expand,
        "ConstantOfShape" => constant_of_shape,
        "Split" => split,
        "Tile" => tile,
        "Pad" => pad,
        "NonZero" => non_zero,
        _ => return None,
    })
}

/// Normalise a possibly negative axis against a rank.
pub fn axis(a: i64, rank: usize) -> Option<usize> {
    let r = i64::try_from(rank).ok()?;
    let a = if a < 0 { a + r } else { a };
    (0..r).contains(&a).then_some(a as usize)
}

fn dim_of(d: &Sym) -> Dim {
    d.to_dim()
}

fn shape(c: &InferCtx) -> Result<Vec<Fact>> {
    let Some(dims) = c.shape(0) else {
        return Ok(vec![Fact::new(Some(DType::I64), None)]);
    };
    let rank = dims.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
    let start = clamp(c.ctx.attr_int("start", 0)?);
    let end = clamp(c.ctx.attr_int("end", rank)?);
    let value: Vec<Sym> = dims
        .get(start..end.max(start))
        .unwrap_or(&[])
        .iter()
        .map(Sym::from_dim)
        .collect();
    Ok(vec![Fact::int_value(value, false)])
}

fn size(c: &InferCtx) -> Result<Vec<Fact>> {
    let n = c.input(0).concrete_shape().and_then(|s| {
        s.iter()
            .try_fold(1i64, |acc, &d| acc.checked_mul(i64::try_from(d).ok()?))
    });
    Ok(vec![Fact::int_value(
        vec![n.map_or(Sym::Unknown, Sym::Int)],
        true,
    )])
}

fn constant(c: &InferCtx) -> Result<Vec<Fact>> {
    Ok(match c.ctx.attr_tensor_opt("value")? {
        Some(t) => vec![Fact::from_tensor(&t)],
        None => vec![],
    })
}

fn reshape(c: &InferCtx) -> Result<Vec<Fact>> {
    let dtype = c.dtype(0);
    let input = c.input(0);
    let Some(target) = c.inputs.get(1).and_then(|f| f.value.clone()) else {
        let rank = c.input(1).concrete_shape().and_then(|s| s.first().copied());
        return Ok(vec![Fact::new(dtype, rank.map(|r| vec![Dim::Unknown; r]))]);
    };
    let allow_zero = c.ctx.attr_int("allowzero", 0)? != 0;
    let mut dims: Vec<Dim> = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, t) in target.iter().enumerate() {
        dims.push(match t {
            Sym::Int(0) if !allow_zero => input
                .shape
                .as_ref()
                .and_then(|s| s.get(i).cloned())
                .unwrap_or(Dim::Unknown),
            Sym::Int(-1) => {
                infer_at = Some(i);
                Dim::Unknown
            }
            other => dim_of(other),
        });
    }
    if let (Some(at), Some(total)) = (infer_at, input.concrete_shape()) {
        let known: Option<usize> = dims.iter().enumerate().filter(|(i, _)| *i != at).try_fold(
            1usize,
            |acc, (_, d)| match d {
                Dim::Fixed(n) => acc.checked_mul(*n),
                _ => None,
            },
        );
        let total: usize = total.iter().product();
        if let Some(k) = known.filter(|&k| k > 0 && total.is_multiple_of(k)) {
            dims[at] = Dim::Fixed(total / k);
        }
    }
    let mut out = Fact::new(dtype, Some(dims));
    out.value = input.value.filter(|_| target.len() <= 1);
    Ok(vec![out])
}

fn flatten(c: &InferCtx) -> Result<Vec<Fact>> {
    let dtype = c.dtype(0);
    let Some(s) = c.shape(0) else {
        return Ok(vec![Fact::new(dtype, Some(vec![Dim::Unknown; 2]))]);
    };
    let Some(at) = axis_or_rank(c.ctx.attr_int("axis", 1)?, s.len()) else {
        return Ok(vec![]);
    };
    Ok(vec![Fact::new(
        dtype,
        Some(vec![product(&s[..at]), product(&s[at..])]),
    )])
}

/// Like `axis`, but `rank` itself is allowed (Flatten, Split points).
fn axis_or_rank(a: i64, rank: usize) -> Option<usize> {
    let r = i64::try_from(rank).ok()?;
    let a = if a < 0 { a + r } else { a };
    (0..=r).contains(&a).then_some(a as usize)
}

fn product(dims: &[Dim]) -> Dim {
    let mut n = 1usize;
    for d in dims {
        match d {
            Dim::Fixed(k) => match n.checked_mul(*k) {
                Some(v) => n = v,
                None => return Dim::Unknown,
            },
            // One symbol times ones stays that symbol.
            Dim::Symbol(_) if dims.len() == 1 => return d.clone(),
            _ => return Dim::Unknown,
        }
    }
    Dim::Fixed(n)
}

/// The `axes` of Squeeze/Unsqueeze/Reduce*: an attribute before opset 13 (18 for reductions),
/// an input after. `None` when unknown; `Some(vec![])` when not given.
pub fn axes(c: &InferCtx, input: usize) -> Result<Option<Vec<i64>>> {
    if let Some(a) = c.ctx.attr_ints_opt("axes")? {
        return Ok(Some(a));
    }
    if !c.ctx.has_input(input) {
        return Ok(Some(vec![]));
    }
    Ok(c.ints(input))
}

fn squeeze(c: &InferCtx) -> Result<Vec<Fact>> {
    let input = c.input(0);
    let (Some(s), Some(ax)) = (input.shape.as_ref(), axes(c, 1)?) else {
        return Ok(vec![Fact::new(input.dtype, None)]);
    };
    let dims = if ax.is_empty() {
        if s.iter().any(|d| !matches!(d, Dim::Fixed(_))) {
            return Ok(vec![Fact::new(input.dtype, None)]);
        }
        s.iter().filter(|d| **d != Dim::Fixed(1)).cloned().collect()
    } else {
        let Some(ax): Option<Vec<usize>> = ax.iter().map(|&a| axis(a, s.len())).collect() else {
            return Ok(vec![]);
        };
        s.iter()
            .enumerate()
            .filter(|(i, _)| !ax.contains(i))
            .map(|(_, d)| d.clone())
            .collect()
    };
    let mut out = Fact::new(input.dtype, Some(dims));
    out.value = input.value;
    Ok(vec![out])
}

fn unsqueeze(c: &InferCtx) -> Result<Vec<Fact>> {
    let input = c.input(0);
    let (Some(s), Some(ax)) = (input.shape.as_ref(), axes(c, 1)?) else {
        return Ok(vec![Fact::new(input.dtype, None)]);
    };
    let rank = s.len() + ax.len();
    let Some(mut ax): Option<Vec<usize>> = ax.iter().map(|&a| axis(a, rank)).collect() else {
        return Ok(vec![]);
    };
    ax.sort_unstable();
    let mut rest = s.iter();
    let dims = (0..rank)
        .map(|i| {
            if ax.contains(&i) {
                Some(Dim::Fixed(1))
            } else {
                rest.next().cloned()
            }
        })
        .collect::<Option<Vec<_>>>();
    let mut out = Fact::new(input.dtype, dims);
    out.value = input.value;
    Ok(vec![out])
}

fn transpose(c: &InferCtx) -> Result<Vec<Fact>> {
    let input = c.input(0);
    let Some(s) = input.shape.as_ref() else {
        return Ok(vec![Fact::new(input.dtype, None)]);
    };
    let perm = match c.ctx.attr_ints_opt("perm")? {
        Some(p) => p,
        None => (0..s.len() as i64).rev().collect(),
    };
    let dims = perm
        .iter()
        .map(|&p| usize::try_from(p).ok().and_then(|p| s.get(p).cloned()))
        .collect::<Option<Vec<_>>>();
    Ok(vec![Fact::new(input.dtype, dims)])
}

fn concat(c: &InferCtx) -> Result<Vec<Fact>> {
    let dtype = (0..c.inputs.len()).find_map(|i| c.dtype(i));
    let shapes: Option<Vec<&[Dim]>> = (0..c.inputs.len()).map(|i| c.shape(i)).collect();
    let Some(shapes) = shapes.filter(|s| !s.is_empty()) else {
        return Ok(vec![Fact::new(dtype, None)]);
    };
    let rank = shapes[0].len();
    let Some(at) = axis(c.ctx.attr_int("axis", 0)?, rank) else {
        return Ok(vec![]);
    };
    let mut dims = shapes[0].to_vec();
    dims[at] = shapes
        .iter()
        .map(|s| s.get(at).cloned().unwrap_or(Dim::Unknown))
        .reduce(|a, b| match (a, b) {
            (Dim::Fixed(x), Dim::Fixed(y)) => x.checked_add(y).map_or(Dim::Unknown, Dim::Fixed),
            (Dim::Fixed(0), d) | (d, Dim::Fixed(0)) => d,
            _ => Dim::Unknown,
        })
        .unwrap_or(Dim::Unknown);
    for (i, d) in dims.iter_mut().enumerate() {
        if i != at && *d == Dim::Unknown {
            if let Some(k) = shapes
                .iter()
                .find_map(|s| s.get(i).filter(|x| **x != Dim::Unknown))
            {
                *d = k.clone();
            }
        }
    }
    let mut out = Fact::new(dtype, Some(dims));
    if rank == 1 {
        out.value = c
            .inputs
            .iter()
            .map(|f| f.value.clone())
            .collect::<Option<Vec<_>>>()
            .map(|parts| parts.concat());
    }
    Ok(vec![out])
}

fn gather(c: &InferCtx) -> Result<Vec<Fact>> {
    let data = c.input(0);
    let indices = c.input(1);
    let (Some(s), Some(is)) = (data.shape.as_ref(), indices.shape.as_ref()) else {
        return Ok(vec![Fact::new(data.dtype, None)]);
    };
    let Some(at) = axis(c.ctx.attr_int("axis", 0)?, s.len()) else {
        return Ok(vec![]);
    };
    let dims: Vec<Dim> = s[..at]
        .iter()
        .chain(is.iter())
        .chain(&s[at + 1..])
        .cloned()
        .collect();
    let mut out = Fact::new(data.dtype, Some(dims));
    if let (Some(v), Some(idx), 1) = (&data.value, c.ints(1), s.len()) {
        let n = v.len() as i64;
        out.value = idx
            .iter()
            .map(|&i| {
                let i = if i < 0 { i + n } else { i };
                usize::try_from(i).ok().and_then(|i| v.get(i).cloned())
            })
            .collect();
    }
    Ok(vec![out])
}

fn slice(c: &InferCtx) -> Result<Vec<Fact>> {
    let input = c.input(0);
    let Some(s) = input.shape.clone() else {
        return Ok(vec![Fact::new(input.dtype, None)]);
    };
    // Opset 1-9 take attributes, 10+ inputs.
    let (starts, ends, ax, steps) = if c.ctx.opset < 10 {
        (
            c.ctx.attr_ints_opt("starts")?,
            c.ctx.attr_ints_opt("ends")?,
            c.ctx.attr_ints_opt("axes")?,
            None,
        )
    } else {
        (
            c.ints(1),
            c.ints(2),
            if c.ctx.has_input(3) { c.ints(3) } else { None },
            if c.ctx.has_input(4) { c.ints(4) } else { None },
        )
    };
    let given_axes = c.ctx.opset < 10 && ax.is_some() || c.ctx.opset >= 10 && c.ctx.has_input(3);
    let (Some(starts), Some(ends)) = (starts, ends) else {
        return Ok(vec![Fact::new(
            input.dtype,
            Some(vec![Dim::Unknown; s.len()]),
        )]);
    };
    if given_axes && ax.is_none() {
        return Ok(vec![Fact::new(
            input.dtype,
            Some(vec![Dim::Unknown; s.len()]),
        )]);
    }
    let ax = ax.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
    if ax.len() != starts.len() || ends.len() != starts.len() || steps.len() != starts.len() {
        return Ok(vec![]);
    }
    let mut dims = s.clone();
    let mut value = input.value.clone();
    for k in 0..ax.len() {
        let Some(a) = axis(ax[k], s.len()) else {
            return Ok(vec![]);
        };
        let Dim::Fixed(n) = s[a] else {
            dims[a] = Dim::Unknown;
            value = None;
            continue;
        };
        let Some(range) = slice_range(starts[k], ends[k], steps[k], n) else {
            return Ok(vec![]);
        };
        dims[a] = Dim::Fixed(range.len());
        value = value.map(|v| range.iter().filter_map(|&i| v.get(i).cloned()).collect());
    }
    let mut out = Fact::new(input.dtype, Some(dims));
    out.value = value.filter(|_| s.len() == 1);
    Ok(vec![out])
}

/// The indices ONNX Slice picks from an axis of length `n`.
fn slice_range(start: i64, end: i64, step: i64, n: usize) -> Option<Vec<usize>> {
    if step == 0 {
        return None;
    }
    let n = i64::try_from(n).ok()?;
    let norm = |v: i64| if v < 0 { v.saturating_add(n) } else { v };
    let (start, end) = (norm(start), norm(end));
    let mut out = Vec::new();
    if step > 0 {
        let (mut i, end) = (start.clamp(0, n), end.clamp(0, n));
        while i < end {
            out.push(i as usize);
            let Some(next) = i.checked_add(step) else {
                break;
            };
            i = next;
        }
    } else {
        let (mut i, end) = (start.clamp(-1, n - 1), end.clamp(-1, n - 1));
        while i > end {
            out.push(i as usize);
            let Some(next) = i.checked_add(step) else {
                break;
            };
            i = next;
        }
    }
    Some(out)
}

fn expand(c: &InferCtx) -> Result<Vec<Fact>> {
    let input = c.input(0);
    let target = c.inputs.get(1).and_then(|f| f.value.as_ref());
    let dims = match (input.shape.as_ref(), target) {
        (Some(s), Some(t)) => {
            let t: Vec<Dim> = t.iter().map(dim_of).collect();
            broadcast_dims(s, &t)
        }
        _ => None,
    };
    Ok(vec![Fact::new(input.dtype, dims)])
}

fn constant_of_shape(c: &InferCtx) -> Result<Vec<Fact>> {
    let dtype = match c.ctx.attr_tensor_opt("value")? {
        Some(t) => t.dtype(),
        None => DType::F32,
    };
    let dims = c
        .inputs
        .first()
        .and_then(|f| f.value.as_ref())
        .map(|v| v.iter().map(dim_of).collect());
    Ok(vec![Fact::new(Some(dtype), dims)])
}

fn split(c: &InferCtx) -> Result<Vec<Fact>> {
    let input = c.input(0);
    let n = c.outputs();
    let Some(s) = input.shape.as_ref() else {
        return Ok(vec![Fact::new(input.dtype, None); n]);
    };
    let Some(at) = axis(c.ctx.attr_int("axis", 0)?, s.len()) else {
        return Ok(vec![]);
    };
    let sizes: Option<Vec<i64>> = match c.ctx.attr_ints_opt("split")? {
        Some(v) => Some(v),
        None if c.ctx.has_input(1) => c.ints(1),
        None => match s[at] {
            Dim::Fixed(len) if n > 0 => {
                let chunk = len.div_ceil(n) as i64;
                let len = len as i64;
                Some(
                    (0..n as i64)
                        .map(|k| (len - k * chunk).clamp(0, chunk))
                        .collect(),
                )
            }
            _ => None,
        },
    };
    Ok((0..n)
        .map(|k| {
            let mut dims = s.clone();
            dims[at] = sizes
                .as_ref()
                .and_then(|v| v.get(k))
                .and_then(|&d| usize::try_from(d).ok())
                .map_or(Dim::Unknown, Dim::Fixed);
            Fact::new(input.dtype, Some(dims))
        })
        .collect())
}

fn tile(c: &InferCtx) -> Result<Vec<Fact>> {
    let input = c.input(0);
    let dims = match (input.shape.as_ref(), c.ints(1)) {
        (Some(s), Some(r)) if r.len() == s.len() => Some(
            s.iter()
                .zip(&r)
                .map(|(d, &k)| match (d, usize::try_from(k)) {
                    (_, Ok(1)) => d.clone(),
                    (Dim::Fixed(n), Ok(k)) => n.checked_mul(k).map_or(Dim::Unknown, Dim::Fixed),
                    _ => Dim::Unknown,
                })
                .collect(),
        ),
        (Some(s), _) => Some(vec![Dim::Unknown; s.len()]),
        _ => None,
    };
    Ok(vec![Fact::new(input.dtype, dims)])
}

fn pad(c: &InferCtx) -> Result<Vec<Fact>> {
    let input = c.input(0);
    let Some(s) = input.shape.as_ref() else {
        return Ok(vec![Fact::new(input.dtype, None)]);
    };
    let pads = if c.ctx.opset < 11 {
        c.ctx.attr_ints_opt("pads")?
    } else {
        c.ints(1)
    };
    let ax: Option<Vec<usize>> = if c.ctx.opset >= 18 && c.ctx.has_input(3) {
        c.ints(3)
            .and_then(|a| a.iter().map(|&a| axis(a, s.len())).collect())
    } else {
        Some((0..s.len()).collect())
    };
    let mut dims = vec![Dim::Unknown; s.len()];
    if let (Some(p), Some(ax)) = (pads, ax) {
        if p.len() != 2 * ax.len() {
            return Ok(vec![]);
        }
        dims.clone_from(s);
        for (k, &a) in ax.iter().enumerate() {
            dims[a] = match &s[a] {
                Dim::Fixed(n) => {
                    let v = i64::try_from(*n)
                        .ok()
                        .and_then(|n| n.checked_add(p[k])?.checked_add(p[k + ax.len()]));
                    v.and_then(|v| usize::try_from(v).ok())
                        .map_or(Dim::Unknown, Dim::Fixed)
                }
                d if p[k] == 0 && p[k + ax.len()] == 0 => d.clone(),
                _ => Dim::Unknown,
            };
        }
    }
    Ok(vec![Fact::new(input.dtype, Some(dims))])
}

fn non_zero(c: &InferCtx) -> Result<Vec<Fact>> {
    let rank = c.rank(0).map(Dim::Fixed).unwrap_or(Dim::Unknown);
    Ok(vec![Fact::new(
        Some(DType::I64),
        Some(vec![rank, Dim::Unknown]),
    )])
}
