//! Sequence and optional operators.

use super::common::{concat_axis, slice_axis};
use crate::ops::util;
use runnx_ir::{bail, ensure, kernel, Inputs, Kernel, NodeCtx, Result, Tensor, Value};

/// A position input: a scalar (or one-element) integer tensor.
fn position(t: &Tensor) -> Result<i64> {
    let v = t.to_i64_vec()?;
    match v.as_slice() {
        [p] => Ok(*p),
        _ => bail!("position must be a scalar, got shape {:?}", t.shape()),
    }
}

/// Normalise `pos` into `0..=len` (`inclusive_end`) or `0..len`.
fn norm_pos(pos: i64, len: usize, inclusive_end: bool) -> Result<usize> {
    let n = len as i64;
    let hi = if inclusive_end { n } else { n - 1 };
    ensure!(
        pos >= -n && pos <= hi,
        "position {} is out of range for a sequence of {}",
        pos,
        len
    );
    Ok(if pos < 0 {
        (pos + n) as usize
    } else {
        pos as usize
    })
}

fn seq_dtype_check(seq: &[Value], t: &Tensor) -> Result<()> {
    if let Some(Value::Tensor(first)) = seq.first() {
        ensure!(
            first.dtype() == t.dtype(),
            "sequence holds {} tensors, cannot add a {} tensor",
            first.dtype(),
            t.dtype()
        );
    }
    Ok(())
}

pub fn sequence_empty(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|_: &Inputs| Ok(vec![Value::Sequence(Vec::new())])))
}

pub fn sequence_construct(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let ts = inputs.tensors_from(0)?;
        if let Some(first) = ts.first() {
            for t in &ts {
                ensure!(
                    t.dtype() == first.dtype(),
                    "sequence elements must share a type: {} vs {}",
                    first.dtype(),
                    t.dtype()
                );
            }
        }
        Ok(vec![Value::Sequence(
            ts.into_iter().map(|t| Value::Tensor(t.clone())).collect(),
        )])
    }))
}

pub fn sequence_insert(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let seq = inputs.value(0)?.as_sequence()?;
        let t = inputs.tensor(1)?;
        seq_dtype_check(seq, t)?;
        let at = match inputs.opt_tensor(2)? {
            Some(p) => norm_pos(position(p)?, seq.len(), true)?,
            None => seq.len(),
        };
        let mut out = Vec::with_capacity(seq.len() + 1);
        out.extend_from_slice(&seq[..at]);
        out.push(Value::Tensor(t.clone()));
        out.extend_from_slice(&seq[at..]);
        Ok(vec![Value::Sequence(out)])
    }))
}

pub fn sequence_erase(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let seq = inputs.value(0)?.as_sequence()?;
        let pos = match inputs.opt_tensor(1)? {
            Some(p) => position(p)?,
            None => -1,
        };
        let at = norm_pos(pos, seq.len(), false)?;
        let mut out = seq.to_vec();
        out.remove(at);
        Ok(vec![Value::Sequence(out)])
    }))
}

pub fn sequence_at(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let seq = inputs.value(0)?.as_sequence()?;
        let at = norm_pos(position(inputs.tensor(1)?)?, seq.len(), false)?;
        Ok(vec![seq[at].clone()])
    }))
}

pub fn sequence_length(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let seq = inputs.value(0)?.as_sequence()?;
        Ok(vec![Value::Tensor(Tensor::scalar(seq.len() as i64))])
    }))
}

pub fn split_to_sequence(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axis = n.attr_int("axis", 0)?;
    let keepdims = n.attr_int("keepdims", 1)? != 0;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let ax = util::axis(axis, x.rank())?;
        ensure!(x.rank() > 0, "SplitToSequence needs a tensor of rank >= 1");
        let dim = x.shape()[ax];
        let split = inputs.opt_tensor(1)?;
        let mut out = Vec::new();
        match split {
            None => {
                for i in 0..dim {
                    let part = slice_axis(x, ax, i, 1)?;
                    let part = if keepdims {
                        part
                    } else {
                        let mut s = part.shape().to_vec();
                        s.remove(ax);
                        part.reshaped(s)?
                    };
                    out.push(Value::Tensor(part));
                }
            }
            Some(s) if s.rank() == 0 => {
                let len = position(s)?;
                ensure!(len > 0, "split length must be positive, got {}", len);
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                let mut start = 0;
                while start < dim {
                    let l = len.min(dim - start);
                    out.push(Value::Tensor(slice_axis(x, ax, start, l)?));
                    start += l;
                }
            }
            Some(s) => {
                ensure!(
                    s.rank() == 1,
                    "split must be a scalar or 1-D, got shape {:?}",
                    s.shape()
                );
                let lens = s.to_i64_vec()?;
                let mut start = 0usize;
                for &l in &lens {
                    ensure!(l >= 0, "split lengths must be >= 0, got {:?}", lens);
                    let l = l as usize;
                    ensure!(
                        start.checked_add(l).is_some_and(|e| e <= dim),
                        "split lengths {:?} exceed dimension {}",
                        lens,
                        dim
                    );
                    out.push(Value::Tensor(slice_axis(x, ax, start, l)?));
                    start += l;
                }
                ensure!(
                    start == dim,
                    "split lengths {:?} do not sum to dimension {}",
                    lens,
                    dim
                );
            }
        }
        Ok(vec![Value::Sequence(out)])
    }))
}

pub fn concat_from_sequence(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axis = n.require("axis", n.attr_int_opt("axis"))?;
    let new_axis = n.attr_int("new_axis", 0)? != 0;
    Ok(kernel(move |inputs: &Inputs| {
        let seq = inputs.value(0)?.as_sequence()?;
        let ts = seq
            .iter()
            .map(|v| v.as_tensor())
            .collect::<Result<Vec<_>>>()?;
        let Some(first) = ts.first() else {
            bail!("cannot concatenate an empty sequence")
        };
        let rank = first.rank();
        if new_axis {
            let ax = util::axis(axis, rank + 1)?;
            let expanded = ts
                .iter()
                .map(|t| {
                    let mut s = t.shape().to_vec();
                    ensure!(s.len() == rank, "sequence elements must share a rank");
                    s.insert(ax, 1);
                    t.reshaped(s)
                })
                .collect::<Result<Vec<_>>>()?;
            let refs: Vec<&Tensor> = expanded.iter().collect();
            Ok(vec![Value::Tensor(concat_axis(&refs, ax)?)])
        } else {
            ensure!(rank > 0, "cannot concatenate scalars without new_axis");
            let ax = util::axis(axis, rank)?;
            Ok(vec![Value::Tensor(concat_axis(&ts, ax)?)])
        }
    }))
}

pub fn optional(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let given = n.has_input(0);
    Ok(kernel(move |inputs: &Inputs| {
        let v = if given { inputs.opt_value(0) } else { None };
        Ok(vec![Value::Optional(v.map(|v| Box::new(v.clone())))])
    }))
}

pub fn optional_has_element(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let has = match inputs.opt_value(0) {
            None | Some(Value::Optional(None)) => false,
            Some(_) => true,
        };
        Ok(vec![Value::Tensor(Tensor::scalar(has))])
    }))
}

pub fn optional_get_element(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| match inputs.opt_value(0) {
        None | Some(Value::Optional(None)) => bail!("the optional input is empty"),
        Some(Value::Optional(Some(v))) => Ok(vec![(**v).clone()]),
        Some(v) => Ok(vec![v.clone()]),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use runnx_ir::{Attribute, Node};

    fn node(op: &str, inputs: &[&str], attrs: Vec<(&str, Attribute)>) -> Node {
        Node {
            name: "n".into(),
            op_type: op.into(),
            domain: String::new(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: vec!["y".into()],
            attrs: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    fn run(
        build: fn(&NodeCtx) -> Result<Box<dyn Kernel>>,
        n: &Node,
        ins: &[Option<&Value>],
    ) -> Result<Vec<Value>> {
        let k = build(&NodeCtx { node: n, opset: 18 })?;
        k.run(&Inputs::new(ins))
    }

    #[test]
    fn split_and_concat_roundtrip() {
        let x = Value::Tensor(Tensor::new(vec![2, 3], vec![1f32, 2., 3., 4., 5., 6.]).unwrap());
        let n = node(
            "SplitToSequence",
            &["x"],
            vec![("axis", Attribute::Int(1)), ("keepdims", Attribute::Int(0))],
        );
        let seq = run(split_to_sequence, &n, &[Some(&x)]).unwrap().remove(0);
        let s = seq.as_sequence().unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[1].as_tensor().unwrap().shape(), &[2]);
        assert_eq!(
            s[1].as_tensor().unwrap().as_slice::<f32>().unwrap(),
            &[2., 5.]
        );
        let n = node(
            "ConcatFromSequence",
            &["s"],
            vec![("axis", Attribute::Int(1)), ("new_axis", Attribute::Int(1))],
        );
        let back = run(concat_from_sequence, &n, &[Some(&seq)])
            .unwrap()
            .remove(0);
        assert_eq!(back, x);
        // scalar split with a remainder
        let sp = Value::Tensor(Tensor::scalar(2i64));
        let n = node(
            "SplitToSequence",
            &["x", "s"],
            vec![("axis", Attribute::Int(1))],
        );
        let seq = run(split_to_sequence, &n, &[Some(&x), Some(&sp)])
            .unwrap()
            .remove(0);
        let shapes: Vec<_> = seq
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_tensor().unwrap().shape().to_vec())
            .collect();
        assert_eq!(shapes, vec![vec![2, 2], vec![2, 1]]);
    }

    #[test]
    fn insert_erase_at() {
        let a = Value::Tensor(Tensor::scalar(1i64));
        let b = Value::Tensor(Tensor::scalar(2i64));
        let seq = Value::Sequence(vec![a.clone()]);
        let n = node("SequenceInsert", &["s", "t", "p"], vec![]);
        let p = Value::Tensor(Tensor::scalar(-1i32));
        let s2 = run(sequence_insert, &n, &[Some(&seq), Some(&b), Some(&p)])
            .unwrap()
            .remove(0);
        assert_eq!(s2, Value::Sequence(vec![b.clone(), a.clone()]));
        let bad = Value::Tensor(Tensor::scalar(5i32));
        assert!(run(sequence_insert, &n, &[Some(&seq), Some(&b), Some(&bad)]).is_err());
        let n = node("SequenceAt", &["s", "p"], vec![]);
        assert_eq!(run(sequence_at, &n, &[Some(&s2), Some(&p)]).unwrap()[0], a);
        assert!(run(sequence_at, &n, &[Some(&s2), Some(&bad)]).is_err());
        let n = node("SequenceErase", &["s"], vec![]);
        assert_eq!(
            run(sequence_erase, &n, &[Some(&s2)]).unwrap()[0],
            Value::Sequence(vec![b])
        );
        let empty = Value::Sequence(vec![]);
        assert!(run(sequence_erase, &n, &[Some(&empty)]).is_err());
    }

    #[test]
    fn optionals() {
        let n = node("OptionalHasElement", &[""], vec![]);
        let r = run(optional_has_element, &n, &[None]).unwrap();
        assert_eq!(r[0], Value::Tensor(Tensor::scalar(false)));
        let e = Value::Optional(None);
        let n = node("OptionalGetElement", &["x"], vec![]);
        assert!(run(optional_get_element, &n, &[Some(&e)]).is_err());
    }
}
