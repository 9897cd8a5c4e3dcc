//! Ordering and scans: TopK, Unique, CumSum, CumProd.

use super::gather::take_axis;
use super::{one, prod, scalar_int, to_usize, Arith, TotalOrd};
use crate::ops::util;
use crate::Registry;
use runnx_ir::dtype::Number;
use runnx_ir::{
    dispatch_all, dispatch_number, ensure, kernel, Inputs, Kernel, NodeCtx, Result, Tensor, Value,
};
use std::cmp::Ordering;

pub fn register(r: &mut Registry) {
    r.add("TopK", top_k);
    r.add("Unique", unique);
    r.add("CumSum", cum_sum);
    r.add("CumProd", cum_prod);
}

fn top_k(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axis = n.attr_int("axis", -1)?;
    let largest = n.attr_int("largest", 1)? != 0;
    let attr_k = if n.opset < 10 {
        Some(n.require("k", n.attr_int_opt("k"))?)
    } else {
        None
    };
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let k = match attr_k {
            Some(k) => k,
            None => scalar_int(inputs, 1)?,
        };
        let k = to_usize(k, "TopK k")?;
        ensure!(x.rank() > 0, "TopK needs rank >= 1");
        let a = util::axis(axis, x.rank())?;
        let dim = x.shape()[a];
        ensure!(k <= dim, "TopK k = {} exceeds the axis size {}", k, dim);
        let outer = prod(&x.shape()[..a])?;
        let inner = prod(&x.shape()[a + 1..])?;
        let mut shape = x.shape().to_vec();
        shape[a] = k;
        let total = prod(&shape)?;
        dispatch_number!(x.dtype(), T => {
            let src = x.as_slice::<T>()?;
            let mut vals: Vec<T> = vec![T::default(); total];
            let mut idxs = vec![0i64; total];
            let mut lane: Vec<usize> = Vec::with_capacity(dim);
            for o in 0..outer {
                for i in 0..inner {
                    let at = |j: usize| &src[(o * dim + j) * inner + i];
                    let cmp = |p: &usize, q: &usize| {
                        let c = at(*p).total_cmp(at(*q));
                        let c = if largest { c.reverse() } else { c };
                        c.then(p.cmp(q))
                    };
                    lane.clear();
                    lane.extend(0..dim);
                    if k > 0 && k < dim {
                        lane.select_nth_unstable_by(k - 1, cmp);
                    }
                    lane.truncate(k);
                    lane.sort_unstable_by(cmp);
                    for (r, &j) in lane.iter().enumerate() {
                        let d = (o * k + r) * inner + i;
                        vals[d] = *at(j);
                        idxs[d] = j as i64;
                    }
                }
            }
            Ok(vec![Value::Tensor(Tensor::new(shape.clone(), vals)?), Value::Tensor(Tensor::new(shape, idxs)?)])
        })
    }))
}

fn unique(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let sorted = n.attr_int("sorted", 1)? != 0;
    let axis = n.attr_int_opt("axis")?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let (x, a) = match axis {
            Some(ax) => {
                ensure!(x.rank() > 0, "Unique with an axis needs rank >= 1");
                (x.clone(), util::axis(ax, x.rank())?)
            }
            None => (x.reshaped(vec![x.len()])?, 0),
        };
        let dim = x.shape()[a];
        let outer = prod(&x.shape()[..a])?;
        let inner = prod(&x.shape()[a + 1..])?;
        // Sort slice numbers along the axis (stable: first occurrences first).
        let mut order: Vec<usize> = (0..dim).collect();
        let eq_groups: Vec<bool> = dispatch_all!(x.dtype(), T => {
            let src = x.as_slice::<T>()?;
            let cmp = |p: usize, q: usize| -> Ordering {
                for o in 0..outer {
                    for i in 0..inner {
                        let c = src[(o * dim + p) * inner + i].total_cmp(&src[(o * dim + q) * inner + i]);
                        if c != Ordering::Equal {
                            return c;
                        }
                    }
                }
                Ordering::Equal
            };
            order.sort_by(|&p, &q| cmp(p, q));
            Ok::<_, runnx_ir::Error>(order.windows(2).map(|w| cmp(w[0], w[1]) == Ordering::Equal).collect())
        })?;
        // Groups in sorted order: (first index, count); and each slice's group.
        let mut groups: Vec<(usize, i64)> = Vec::new();
        let mut group_of = vec![0usize; dim];
        for (p, &u) in order.iter().enumerate() {
            if p == 0 || !eq_groups[p - 1] {
                groups.push((u, 0));
            }
            let g = groups.len() - 1;
            groups[g].1 += 1;
            group_of[u] = g;
        }
        // Renumber groups into output order.
        let mut rank: Vec<usize> = (0..groups.len()).collect();
        if !sorted {
            rank.sort_by_key(|&g| groups[g].0);
        }
        let mut pos = vec![0usize; groups.len()];
        for (p, &g) in rank.iter().enumerate() {
            pos[g] = p;
        }
        let firsts: Vec<usize> = rank.iter().map(|&g| groups[g].0).collect();
        let counts: Vec<i64> = rank.iter().map(|&g| groups[g].1).collect();
        let inverse: Vec<i64> = group_of.iter().map(|&g| pos[g] as i64).collect();
        let y = take_axis(&x, a, &firsts, &[firsts.len()])?;
        Ok(vec![
            Value::Tensor(y),
            Value::Tensor(Tensor::vector(firsts.iter().map(|&f| f as i64).collect())),
            Value::Tensor(Tensor::vector(inverse)),
            Value::Tensor(Tensor::vector(counts)),
        ])
    }))
}

fn cumulative(n: &NodeCtx, product: bool) -> Result<Box<dyn Kernel>> {
    let exclusive = n.attr_int("exclusive", 0)? != 0;
    let reverse = n.attr_int("reverse", 0)? != 0;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let axis = scalar_int(inputs, 1)?;
        ensure!(x.rank() > 0, "cumulative ops need rank >= 1");
        let a = util::axis(axis, x.rank())?;
        let dim = x.shape()[a];
        let outer = prod(&x.shape()[..a])?;
        let inner = prod(&x.shape()[a + 1..])?;
        dispatch_number!(x.dtype(), T => {
            let src = x.as_slice::<T>()?;
            let mut out = vec![T::zero(); src.len()];
            let init = if product { T::one() } else { T::zero() };
            let op = |acc: T, v: T| if product { acc.mul(v) } else { acc.add(v) };
            for o in 0..outer {
                for i in 0..inner {
                    let mut acc = init;
                    for s in 0..dim {
                        let j = if reverse { dim - 1 - s } else { s };
                        let p = (o * dim + j) * inner + i;
                        if exclusive {
                            out[p] = acc;
                            acc = op(acc, src[p]);
                        } else {
                            acc = op(acc, src[p]);
                            out[p] = acc;
                        }
                    }
                }
            }
            one(Tensor::new(x.shape().to_vec(), out)?)
        })
    }))
}

fn cum_sum(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    cumulative(n, false)
}

fn cum_prod(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    cumulative(n, true)
}

#[cfg(test)]
mod tests {
    use crate::ops::tensor::testutil::run_outs;
    use runnx_ir::{Attribute, Tensor};

    #[test]
    fn unique_unsorted() {
        let x = Tensor::vector(vec![2.0f32, 1.0, 1.0, 3.0, 4.0, 3.0]);
        let out = run_outs(
            "Unique",
            11,
            vec![("sorted", Attribute::Int(0))],
            vec![Some(x)],
            4,
        )
        .unwrap();
        assert_eq!(out[0].as_slice::<f32>().unwrap(), &[2.0, 1.0, 3.0, 4.0]);
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[0, 1, 3, 4]);
        assert_eq!(out[2].as_slice::<i64>().unwrap(), &[0, 1, 1, 2, 3, 2]);
        assert_eq!(out[3].as_slice::<i64>().unwrap(), &[1, 2, 2, 1]);
    }

    #[test]
    fn top_k_ties_prefer_lower_index() {
        let x = Tensor::vector(vec![1i32, 3, 3, 2]);
        let out = run_outs(
            "TopK",
            11,
            vec![],
            vec![Some(x), Some(Tensor::vector(vec![2i64]))],
            2,
        )
        .unwrap();
        assert_eq!(out[0].as_slice::<i32>().unwrap(), &[3, 3]);
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[1, 2]);
    }
}
