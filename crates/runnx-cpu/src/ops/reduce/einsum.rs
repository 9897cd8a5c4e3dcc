//! Einsum: parse the equation (ellipsis included), take diagonals of repeated
//! labels, sum out labels nothing else needs, then contract operands pairwise
//! (left to right) through transposes and a batched matmul.

use super::common::{broadcast_to, transpose};
use runnx_ir::{bail, ensure, kernel, DType, Elem, Kernel, NodeCtx, Result, Tensor};
use std::ops::{Add, Mul};

/// Element types Einsum computes in directly.
pub trait Arith: Elem + Copy + Add<Output = Self> + Mul<Output = Self> + num_traits::Zero {}
impl<T: Elem + Copy + Add<Output = T> + Mul<Output = T> + num_traits::Zero> Arith for T {}

/// A label: a letter, or `ELL + i` for the i-th (right-aligned) ellipsis dimension.
type Label = u32;
const ELL: Label = 1 << 16;

/// One term of the equation: letters and where the ellipsis sits.
struct Term {
    letters: Vec<char>,
    /// Position (among the letters) of the ellipsis, if any.
    ellipsis: Option<usize>,
}

fn parse_term(s: &str) -> Result<Term> {
    let mut letters = Vec::new();
    let mut ellipsis = None;
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("...") {
            ensure!(
                ellipsis.is_none(),
                "einsum term '{}' has more than one ellipsis",
                s
            );
            ellipsis = Some(letters.len());
            rest = r;
            continue;
        }
        let mut chars = rest.chars();
        let c = chars.next().unwrap_or(' ');
        ensure!(
            c.is_ascii_alphabetic(),
            "einsum term '{}' has an invalid character '{}'",
            s,
            c
        );
        letters.push(c);
        rest = chars.as_str();
    }
    Ok(Term { letters, ellipsis })
}

/// The labels of a term applied to a tensor of `rank` (its ellipsis covers `ell` dims).
fn labels_of(t: &Term, ell: usize, max_ell: usize) -> Vec<Label> {
    let mut out = Vec::with_capacity(t.letters.len() + ell);
    for (i, &c) in t.letters.iter().enumerate() {
        if t.ellipsis == Some(i) {
            out.extend((0..ell).map(|j| ELL + (max_ell - ell + j) as Label));
        }
        out.push(c as Label);
    }
    if t.ellipsis == Some(t.letters.len()) {
        out.extend((0..ell).map(|j| ELL + (max_ell - ell + j) as Label));
    }
    out
}

/// The parsed equation: labels of every input and of the output.
pub struct Plan {
    inputs: Vec<Vec<Label>>,
    output: Vec<Label>,
}

pub fn plan(equation: &str, ranks: &[usize]) -> Result<Plan> {
    let eq: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (eq.as_str(), None),
    };
    let terms: Vec<Term> = lhs.split(',').map(parse_term).collect::<Result<_>>()?;
    ensure!(
        terms.len() == ranks.len(),
        "einsum equation '{}' has {} operands, got {} inputs",
        equation,
        terms.len(),
        ranks.len()
    );
    let mut ells = Vec::new();
    for (t, &r) in terms.iter().zip(ranks) {
        let n = t.letters.len();
        match t.ellipsis {
            Some(_) => {
                ensure!(
                    r >= n,
                    "einsum operand of rank {} is too small for its term",
                    r
                );
                ells.push(r - n);
            }
            None => {
                ensure!(
                    r == n,
                    "einsum term has {} labels but the operand has rank {}",
                    n,
                    r
                );
                ells.push(0);
            }
        }
    }
    let max_ell = ells.iter().copied().max().unwrap_or(0);
    let inputs: Vec<Vec<Label>> = terms
        .iter()
        .zip(&ells)
        .map(|(t, &e)| labels_of(t, e, max_ell))
        .collect();
    let output = match rhs {
        Some(r) => {
            let t = parse_term(r)?;
            let out = labels_of(&t, if t.ellipsis.is_some() { max_ell } else { 0 }, max_ell);
            for (i, l) in out.iter().enumerate() {
                ensure!(!out[..i].contains(l), "einsum output repeats a label");
                ensure!(
                    inputs.iter().any(|v| v.contains(l)),
                    "einsum output label is not in any input"
                );
            }
            out
        }
        None => {
            let mut out: Vec<Label> = (0..max_ell).map(|j| ELL + j as Label).collect();
            let mut letters: Vec<Label> = Vec::new();
            for v in &inputs {
                for &l in v {
                    if l < ELL && !letters.contains(&l) {
                        let count: usize = inputs
                            .iter()
                            .map(|w| w.iter().filter(|&&x| x == l).count())
                            .sum();
                        if count == 1 {
                            letters.push(l);
                        }
                    }
                }
            }
            letters.sort_unstable();
            out.extend(letters);
            out
        }
    };
    Ok(Plan { inputs, output })
}

/// An operand during evaluation.
struct Operand<T> {
    data: Vec<T>,
    labels: Vec<Label>,
    shape: Vec<usize>,
}

/// Take the diagonal over repeated labels.
fn diagonal<T: Arith>(op: Operand<T>) -> Result<Operand<T>> {
    let mut uniq: Vec<Label> = Vec::new();
    for &l in &op.labels {
        if !uniq.contains(&l) {
            uniq.push(l);
        }
    }
    if uniq.len() == op.labels.len() {
        return Ok(op);
    }
    let st = super::common::strides(&op.shape);
    let mut shape = Vec::new();
    let mut ust = Vec::new();
    for &u in &uniq {
        let dims: Vec<usize> = (0..op.labels.len())
            .filter(|&i| op.labels[i] == u)
            .collect();
        let size = op.shape[dims[0]];
        ensure!(
            dims.iter().all(|&d| op.shape[d] == size),
            "einsum repeated label has different sizes"
        );
        shape.push(size);
        ust.push(dims.iter().map(|&d| st[d]).sum::<usize>());
    }
    let total: usize = shape.iter().product();
    let mut data = Vec::with_capacity(total);
    let mut idx = vec![0usize; shape.len()];
    let mut off = 0usize;
    for _ in 0..total {
        data.push(op.data[off]);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            off += ust[d];
            if idx[d] < shape[d] {
                break;
            }
            off -= ust[d] * shape[d];
            idx[d] = 0;
        }
    }
    Ok(Operand {
        data,
        labels: uniq,
        shape,
    })
}

/// Sum out the labels for which `keep` is false.
fn sum_out<T: Arith>(op: Operand<T>, keep: impl Fn(Label) -> bool) -> Result<Operand<T>> {
    let kept: Vec<usize> = (0..op.labels.len())
        .filter(|&i| keep(op.labels[i]))
        .collect();
    if kept.len() == op.labels.len() {
        return Ok(op);
    }
    let red: Vec<usize> = (0..op.labels.len())
        .filter(|&i| !keep(op.labels[i]))
        .collect();
    let perm: Vec<usize> = kept.iter().chain(&red).copied().collect();
    let t = transpose(&op.data, &op.shape, &perm)?;
    let n: usize = red.iter().map(|&i| op.shape[i]).product();
    let m: usize = kept.iter().map(|&i| op.shape[i]).product();
    let data: Vec<T> = (0..m)
        .map(|r| t[r * n..(r + 1) * n].iter().fold(T::zero(), |a, &b| a + b))
        .collect();
    Ok(Operand {
        data,
        labels: kept.iter().map(|&i| op.labels[i]).collect(),
        shape: kept.iter().map(|&i| op.shape[i]).collect(),
    })
}

/// `out[b, i, j] = sum_k a[b, i, k] * b[b, k, j]`.
pub fn batched_matmul<T: Arith>(
    a: &[T],
    b: &[T],
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
) -> Vec<T> {
    let mut out = vec![T::zero(); batch * m * n];
    for bi in 0..batch {
        let a = &a[bi * m * k..(bi + 1) * m * k];
        let b = &b[bi * k * n..(bi + 1) * k * n];
        let o = &mut out[bi * m * n..(bi + 1) * m * n];
        for i in 0..m {
            let orow = &mut o[i * n..(i + 1) * n];
            for kk in 0..k {
                let av = a[i * k + kk];
                for (d, &bv) in orow.iter_mut().zip(&b[kk * n..(kk + 1) * n]) {
                    *d = *d + av * bv;
                }
            }
        }
    }
    out
}

fn contract<T: Arith>(
    a: Operand<T>,
    b: Operand<T>,
    needed: impl Fn(Label) -> bool,
) -> Result<Operand<T>> {
    let size = |op: &Operand<T>, l: Label| {
        op.labels
            .iter()
            .position(|&x| x == l)
            .map(|i| op.shape[i])
            .unwrap_or(1)
    };
    let batch: Vec<Label> = a
        .labels
        .iter()
        .copied()
        .filter(|l| b.labels.contains(l) && needed(*l))
        .collect();
    let contracted: Vec<Label> = a
        .labels
        .iter()
        .copied()
        .filter(|l| b.labels.contains(l) && !needed(*l))
        .collect();
    let a_only: Vec<Label> = a
        .labels
        .iter()
        .copied()
        .filter(|l| !b.labels.contains(l))
        .collect();
    let b_only: Vec<Label> = b
        .labels
        .iter()
        .copied()
        .filter(|l| !a.labels.contains(l))
        .collect();
    let pos = |op: &Operand<T>, ls: &[Label]| -> Vec<usize> {
        ls.iter()
            .filter_map(|l| op.labels.iter().position(|x| x == l))
            .collect()
    };
    let pa: Vec<usize> = pos(
        &a,
        &[batch.clone(), a_only.clone(), contracted.clone()].concat(),
    );
    let pb: Vec<usize> = pos(
        &b,
        &[batch.clone(), contracted.clone(), b_only.clone()].concat(),
    );
    let ta = transpose(&a.data, &a.shape, &pa)?;
    let tb = transpose(&b.data, &b.shape, &pb)?;
    let prod = |op: &Operand<T>, ls: &[Label]| ls.iter().map(|&l| size(op, l)).product::<usize>();
    for l in batch.iter().chain(&contracted) {
        ensure!(
            size(&a, *l) == size(&b, *l),
            "einsum operands disagree on the size of a label"
        );
    }
    let (nb, m, k, n) = (
        prod(&a, &batch),
        prod(&a, &a_only),
        prod(&a, &contracted),
        prod(&b, &b_only),
    );
    let data = batched_matmul(&ta, &tb, nb, m, k, n);
    let labels: Vec<Label> = [batch.clone(), a_only.clone(), b_only.clone()].concat();
    let shape: Vec<usize> = batch
        .iter()
        .chain(&a_only)
        .map(|&l| size(&a, l))
        .chain(b_only.iter().map(|&l| size(&b, l)))
        .collect();
    Ok(Operand {
        data,
        labels,
        shape,
    })
}

/// Evaluate a planned einsum over operands of one element type.
fn eval<T: Arith>(plan: &Plan, inputs: &[&Tensor]) -> Result<Tensor> {
    // Sizes per label; size-1 dimensions broadcast.
    let mut sizes: Vec<(Label, usize)> = Vec::new();
    for (ls, t) in plan.inputs.iter().zip(inputs) {
        for (&l, &d) in ls.iter().zip(t.shape()) {
            match sizes.iter_mut().find(|(x, _)| *x == l) {
                Some((_, s)) => {
                    if *s == 1 {
                        *s = d;
                    } else {
                        ensure!(
                            d == *s || d == 1,
                            "einsum operands disagree on the size of a label ({} vs {})",
                            s,
                            d
                        );
                    }
                }
                None => sizes.push((l, d)),
            }
        }
    }
    let size_of = |l: Label| sizes.iter().find(|(x, _)| *x == l).map_or(1, |s| s.1);
    let mut ops: Vec<Operand<T>> = Vec::new();
    for (ls, t) in plan.inputs.iter().zip(inputs) {
        let op = diagonal(Operand {
            data: t.as_slice::<T>()?.to_vec(),
            labels: ls.clone(),
            shape: t.shape().to_vec(),
        })?;
        let target: Vec<usize> = op.labels.iter().map(|&l| size_of(l)).collect();
        let op = if target != op.shape {
            Operand {
                data: broadcast_to(&op.data, &op.shape, &target)?,
                labels: op.labels,
                shape: target,
            }
        } else {
            op
        };
        ops.push(op);
    }
    // Sum out labels only one operand has and the output does not.
    let all: Vec<Vec<Label>> = ops.iter().map(|o| o.labels.clone()).collect();
    let reduced: Vec<Operand<T>> = ops
        .into_iter()
        .enumerate()
        .map(|(i, op)| {
            let others: Vec<Label> = all
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, l)| l.iter().copied())
                .collect();
            sum_out(op, |l| plan.output.contains(&l) || others.contains(&l))
        })
        .collect::<Result<_>>()?;
    let mut iter = reduced.into_iter();
    let mut acc = match iter.next() {
        Some(op) => op,
        None => bail!("einsum needs at least one input"),
    };
    let rest: Vec<Operand<T>> = iter.collect();
    let rest_labels: Vec<Vec<Label>> = rest.iter().map(|o| o.labels.clone()).collect();
    for (i, b) in rest.into_iter().enumerate() {
        let later: Vec<Label> = rest_labels[i + 1..].concat();
        acc = contract(acc, b, |l| plan.output.contains(&l) || later.contains(&l))?;
    }
    let acc = sum_out(acc, |l| plan.output.contains(&l))?;
    let perm: Vec<usize> = plan
        .output
        .iter()
        .map(|l| acc.labels.iter().position(|x| x == l))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| runnx_ir::Error::invalid("einsum output label is missing"))?;
    let data = transpose(&acc.data, &acc.shape, &perm)?;
    let shape: Vec<usize> = perm.iter().map(|&p| acc.shape[p]).collect();
    Tensor::new(shape, data)
}

pub fn einsum(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let eq = n.require("equation", n.attr_str_opt("equation"))?;
    Ok(kernel(move |inputs| {
        let ts = inputs.tensors_from(0)?;
        ensure!(!ts.is_empty(), "einsum needs at least one input");
        let dt = ts[0].dtype();
        ensure!(
            ts.iter().all(|t| t.dtype() == dt),
            "einsum inputs must share one element type"
        );
        let ranks: Vec<usize> = ts.iter().map(|t| t.rank()).collect();
        let p = plan(&eq, &ranks)?;
        let out = match dt {
            DType::F32 => eval::<f32>(&p, &ts)?,
            DType::F64 => eval::<f64>(&p, &ts)?,
            DType::I32 => eval::<i32>(&p, &ts)?,
            DType::I64 => eval::<i64>(&p, &ts)?,
            DType::U32 => eval::<u32>(&p, &ts)?,
            DType::U64 => eval::<u64>(&p, &ts)?,
            DType::F16 | DType::BF16 => {
                let cast: Vec<Tensor> = ts
                    .iter()
                    .map(|t| t.cast(DType::F32))
                    .collect::<Result<_>>()?;
                let refs: Vec<&Tensor> = cast.iter().collect();
                eval::<f32>(&p, &refs)?.cast(dt)?
            }
            other => bail!("einsum does not support {} tensors", other),
        };
        Ok(vec![out.into()])
    }))
}
