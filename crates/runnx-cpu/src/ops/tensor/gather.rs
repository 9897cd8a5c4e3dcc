//! Indexing: Gather, GatherElements, GatherND, Scatter, ScatterElements, ScatterND,
//! TensorScatter, OneHot, NonZero.

use super::strided::contiguous_strides;
use super::{alloc, filled, norm_index, one, prod, to_usize, Arith};
use crate::ops::util;
use crate::Registry;
use runnx_ir::dtype::Number;
use runnx_ir::{
    bail, dispatch_all, dispatch_number, ensure, kernel, Error, Inputs, Kernel, NodeCtx, Result,
    Tensor,
};

pub fn register(r: &mut Registry) {
    r.add("Gather", gather);
    r.add("GatherElements", gather_elements);
    r.add("GatherND", gather_nd);
    r.add("Scatter", scatter_elements);
    r.add("ScatterElements", scatter_elements);
    r.add("ScatterND", scatter_nd);
    r.add("TensorScatter", tensor_scatter);
    r.add("OneHot", one_hot);
    r.add("NonZero", non_zero);
}

/// Take entries `idx` (already in range) along `axis`; the index dimension of the
/// output is replaced by `idx_shape`.
pub(crate) fn take_axis(
    x: &Tensor,
    axis: usize,
    idx: &[usize],
    idx_shape: &[usize],
) -> Result<Tensor> {
    let shape = x.shape();
    ensure!(
        axis < shape.len(),
        "axis {} out of range for rank {}",
        axis,
        shape.len()
    );
    let dim = shape[axis];
    ensure!(
        idx.iter().all(|&i| i < dim),
        "index out of range for a dimension of {}",
        dim
    );
    let outer = prod(&shape[..axis])?;
    let inner = prod(&shape[axis + 1..])?;
    let mut out_shape = shape[..axis].to_vec();
    out_shape.extend_from_slice(idx_shape);
    out_shape.extend_from_slice(&shape[axis + 1..]);
    let total = prod(&out_shape)?;
    dispatch_all!(x.dtype(), T => {
        let out = take_lanes(x.as_slice::<T>()?, outer, dim, inner, idx, total)?;
        Tensor::new(out_shape, out)
    })
}

fn take_lanes<T: runnx_ir::Elem>(
    src: &[T],
    outer: usize,
    dim: usize,
    inner: usize,
    idx: &[usize],
    total: usize,
) -> Result<Vec<T>> {
    if inner >= 64 && total >= crate::par::MIN_PARALLEL_WORK && crate::par::current_threads() > 1 {
        // Large slices: copy them in parallel, several slices per chunk.
        let per = (4096 / inner).max(1);
        let mut out = filled(total, T::default())?;
        let n = idx.len();
        crate::par::for_each_chunk_mut(&mut out, per * inner, per * inner, |c, part| {
            for (p, dst) in part.chunks_mut(inner).enumerate() {
                let q = c * per + p;
                let s = ((q / n) * dim + idx[q % n]) * inner;
                dst.clone_from_slice(&src[s..s + inner]);
            }
        });
        return Ok(out);
    }
    let mut out: Vec<T> = alloc(total)?;
    for o in 0..outer {
        let base = o * dim;
        if inner == 1 {
            out.extend(idx.iter().map(|&i| src[base + i].clone()));
        } else {
            for &i in idx {
                let s = (base + i) * inner;
                out.extend_from_slice(&src[s..s + inner]);
            }
        }
    }
    Ok(out)
}

fn gather(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axis = n.attr_int("axis", 0)?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let ind = inputs.tensor(1)?;
        ensure!(x.rank() > 0, "Gather needs rank >= 1");
        let a = util::axis(axis, x.rank())?;
        let dim = x.shape()[a];
        let idx: Vec<usize> = ind
            .to_i64_vec()?
            .into_iter()
            .map(|i| norm_index(i, dim))
            .collect::<Result<_>>()?;
        one(take_axis(x, a, &idx, ind.shape())?)
    }))
}

/// Visit every position of `shape` in row-major order with the offset it has under
/// `strides` (excluding `skip`) and its index along `skip`.
fn for_each_pos(
    shape: &[usize],
    strides: &[usize],
    skip: usize,
    mut f: impl FnMut(usize, usize) -> Result<()>,
) -> Result<()> {
    let total = prod(shape)?;
    if total == 0 {
        return Ok(());
    }
    let r = shape.len();
    let mut idx = vec![0usize; r];
    let mut off = 0usize;
    for _ in 0..total {
        f(off, idx.get(skip).copied().unwrap_or(0))?;
        for d in (0..r).rev() {
            idx[d] += 1;
            if d != skip {
                off += strides[d];
            }
            if idx[d] < shape[d] {
                break;
            }
            if d != skip {
                off -= strides[d] * shape[d];
            }
            idx[d] = 0;
        }
    }
    Ok(())
}

/// Offsets into `data` addressed by an element-wise index tensor along `axis`
/// (GatherElements / ScatterElements), in the index tensor's order.
fn element_offsets(data: &[usize], ind: &Tensor, axis: usize) -> Result<Vec<usize>> {
    ensure!(
        ind.rank() == data.len(),
        "indices rank {} does not match data rank {}",
        ind.rank(),
        data.len()
    );
    for (d, (&i, &x)) in ind.shape().iter().zip(data).enumerate() {
        ensure!(
            d == axis || i <= x,
            "indices shape {:?} exceeds data shape {:?}",
            ind.shape(),
            data
        );
    }
    let idx = ind.to_i64_vec()?;
    let strides: Vec<usize> = contiguous_strides(data)
        .into_iter()
        .map(|s| s as usize)
        .collect();
    let dim = data[axis];
    let mut out = Vec::with_capacity(idx.len());
    let mut it = idx.iter();
    for_each_pos(ind.shape(), &strides, axis, |off, _| {
        let i = it.next().copied().unwrap_or(0);
        out.push(off + norm_index(i, dim)? * strides[axis]);
        Ok(())
    })?;
    Ok(out)
}

fn pick<T: Clone>(src: &[T], offs: &[usize]) -> Vec<T> {
    offs.iter().map(|&o| src[o].clone()).collect()
}

fn gather_elements(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axis = n.attr_int("axis", 0)?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let ind = inputs.tensor(1)?;
        ensure!(x.rank() > 0, "GatherElements needs rank >= 1");
        let a = util::axis(axis, x.rank())?;
        let offs = element_offsets(x.shape(), ind, a)?;
        dispatch_all!(x.dtype(), T => {
            one(Tensor::new(ind.shape().to_vec(), pick(x.as_slice::<T>()?, &offs))?)
        })
    }))
}

/// For GatherND / ScatterND: the start offset of each addressed slice, the slice
/// length, and the shape of the index tuples' grid (indices shape without its last dim).
fn nd_offsets(
    data: &[usize],
    ind: &Tensor,
    batch_dims: usize,
) -> Result<(Vec<usize>, usize, Vec<usize>)> {
    let q = ind.rank();
    let r = data.len();
    ensure!(q >= 1, "indices must have rank >= 1");
    let b = batch_dims;
    ensure!(
        b < q && b < r,
        "batch_dims {} too large for ranks {} and {}",
        b,
        q,
        r
    );
    ensure!(
        ind.shape()[..b] == data[..b],
        "batch dims of indices {:?} and data {:?} differ",
        ind.shape(),
        data
    );
    let k = ind.shape()[q - 1];
    ensure!(
        k >= 1 && k <= r - b,
        "index tuples of length {} for data rank {} (batch_dims {})",
        k,
        r,
        b
    );
    let strides: Vec<usize> = contiguous_strides(data)
        .into_iter()
        .map(|s| s as usize)
        .collect();
    let slice_len = prod(&data[b + k..])?;
    let batch_size = prod(&data[b..])?;
    let grid = ind.shape()[..q - 1].to_vec();
    let tuples = prod(&grid)?;
    let batches = prod(&data[..b])?;
    let per_batch = tuples.checked_div(batches).unwrap_or(0);
    let idx = ind.to_i64_vec()?;
    let mut offs = Vec::with_capacity(tuples);
    for t in 0..tuples {
        let bi = t.checked_div(per_batch).unwrap_or(0);
        let mut off = bi * batch_size;
        for j in 0..k {
            off += norm_index(idx[t * k + j], data[b + j])? * strides[b + j];
        }
        offs.push(off);
    }
    Ok((offs, slice_len, grid))
}

fn gather_nd(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let batch_dims = to_usize(n.attr_int("batch_dims", 0)?, "batch_dims")?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let ind = inputs.tensor(1)?;
        let (offs, len, mut shape) = nd_offsets(x.shape(), ind, batch_dims)?;
        let k = ind.shape()[ind.rank() - 1];
        shape.extend_from_slice(&x.shape()[batch_dims + k..]);
        dispatch_all!(x.dtype(), T => {
            let src = x.as_slice::<T>()?;
            let mut v: Vec<T> = alloc(offs.len().saturating_mul(len))?;
            for &o in &offs {
                v.extend_from_slice(&src[o..o + len]);
            }
            one(Tensor::new(shape, v)?)
        })
    }))
}

#[derive(Clone, Copy, PartialEq)]
enum Reduction {
    None,
    Add,
    Mul,
    Max,
    Min,
}

fn reduction(n: &NodeCtx) -> Result<Reduction> {
    Ok(match n.attr_str("reduction", "none")?.as_str() {
        "none" => Reduction::None,
        "add" => Reduction::Add,
        "mul" => Reduction::Mul,
        "max" => Reduction::Max,
        "min" => Reduction::Min,
        r => bail!("unknown reduction '{}'", r),
    })
}

fn scatter_set<T: Clone>(out: &mut [T], updates: &[T], targets: &[usize]) {
    for (u, &t) in updates.iter().zip(targets) {
        out[t].clone_from(u);
    }
}

/// Copy `data` and write `updates[i]` at `targets[i]` under the reduction.
fn scatter_apply(
    data: &Tensor,
    updates: &Tensor,
    targets: &[usize],
    red: Reduction,
) -> Result<Tensor> {
    ensure!(
        data.dtype() == updates.dtype(),
        "updates type {} differs from data type {}",
        updates.dtype(),
        data.dtype()
    );
    ensure!(
        targets.len() == updates.len(),
        "{} updates for {} target positions",
        updates.len(),
        targets.len()
    );
    if red == Reduction::None {
        return dispatch_all!(data.dtype(), T => {
            let mut out = data.as_slice::<T>()?.to_vec();
            scatter_set(&mut out, updates.as_slice::<T>()?, targets);
            Tensor::new(data.shape().to_vec(), out)
        });
    }
    dispatch_number!(data.dtype(), T => {
        let mut out = data.as_slice::<T>()?.to_vec();
        for (&u, &t) in updates.as_slice::<T>()?.iter().zip(targets) {
            let o = out[t];
            out[t] = match red {
                Reduction::Add => o.add(u),
                Reduction::Mul => o.mul(u),
                Reduction::Max => o.max_of(u),
                Reduction::Min => o.min_of(u),
                Reduction::None => u,
            };
        }
        Tensor::new(data.shape().to_vec(), out)
    })
}

fn scatter_elements(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axis = n.attr_int("axis", 0)?;
    let red = reduction(n)?;
    Ok(kernel(move |inputs: &Inputs| {
        let (x, ind, upd) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        ensure!(x.rank() > 0, "ScatterElements needs rank >= 1");
        ensure!(
            ind.shape() == upd.shape(),
            "indices {:?} and updates {:?} differ in shape",
            ind.shape(),
            upd.shape()
        );
        let a = util::axis(axis, x.rank())?;
        let targets = element_offsets(x.shape(), ind, a)?;
        one(scatter_apply(x, upd, &targets, red)?)
    }))
}

fn scatter_nd(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let red = reduction(n)?;
    Ok(kernel(move |inputs: &Inputs| {
        let (x, ind, upd) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        let (offs, len, mut want) = nd_offsets(x.shape(), ind, 0)?;
        let k = ind.shape()[ind.rank() - 1];
        want.extend_from_slice(&x.shape()[k..]);
        ensure!(
            upd.shape() == want.as_slice(),
            "updates shape {:?}, expected {:?}",
            upd.shape(),
            want
        );
        let targets: Vec<usize> = offs.iter().flat_map(|&o| o..o + len).collect();
        one(scatter_apply(x, upd, &targets, red)?)
    }))
}

fn tensor_scatter(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let circular = match n.attr_str("mode", "linear")?.as_str() {
        "linear" => false,
        "circular" => true,
        m => bail!("TensorScatter: unknown mode '{}'", m),
    };
    let axis = n.attr_int("axis", -2)?;
    Ok(kernel(move |inputs: &Inputs| {
        let (past, upd) = (inputs.tensor(0)?, inputs.tensor(1)?);
        let r = past.rank();
        ensure!(r >= 2, "TensorScatter needs rank >= 2");
        let a = util::axis(axis, r)?;
        ensure!(a >= 1, "TensorScatter axis must not be the batch axis");
        ensure!(
            upd.rank() == r,
            "update rank {} differs from cache rank {}",
            upd.rank(),
            r
        );
        for d in 0..r {
            let ok = if d == a {
                upd.shape()[d] <= past.shape()[d]
            } else {
                upd.shape()[d] == past.shape()[d]
            };
            ensure!(
                ok,
                "update shape {:?} incompatible with cache shape {:?}",
                upd.shape(),
                past.shape()
            );
        }
        let batch = past.shape()[0];
        let write = match inputs.opt_tensor(2)? {
            Some(t) => t.to_i64_vec()?,
            None => vec![0; batch],
        };
        ensure!(
            write.len() == batch,
            "write_indices has {} entries for a batch of {}",
            write.len(),
            batch
        );
        let max_len = past.shape()[a];
        let seq = upd.shape()[a];
        let inner = prod(&past.shape()[a + 1..])?;
        let prefix = prod(&past.shape()[..a])?;
        let per_batch = prefix.checked_div(batch).unwrap_or(0);
        let mut targets = Vec::with_capacity(upd.len());
        for p in 0..prefix {
            let b = p.checked_div(per_batch).unwrap_or(0);
            let w = write[b];
            for s in 0..seq {
                let pos = w as i128 + s as i128;
                let pos = if circular && max_len > 0 {
                    pos.rem_euclid(max_len as i128)
                } else {
                    pos
                };
                ensure!(
                    pos >= 0 && pos < max_len as i128,
                    "write index {} out of range for length {}",
                    pos,
                    max_len
                );
                let base = (p * max_len + pos as usize) * inner;
                targets.extend(base..base + inner);
            }
        }
        one(scatter_apply(past, upd, &targets, Reduction::None)?)
    }))
}

fn one_hot_fill<T: runnx_ir::Elem>(
    vals: &[T],
    idx: &[i64],
    outer: usize,
    inner: usize,
    depth: usize,
    total: usize,
) -> Result<Vec<T>> {
    let (off, on) = match vals {
        [off, on] => (off, on),
        _ => bail!("OneHot values must hold 2 elements, got {}", vals.len()),
    };
    let mut out = filled(total, off.clone())?;
    for o in 0..outer {
        for i in 0..inner {
            let mut k = idx[o * inner + i];
            if k < 0 {
                k += depth as i64;
            }
            if k >= 0 && (k as usize) < depth {
                out[(o * depth + k as usize) * inner + i] = on.clone();
            }
        }
    }
    Ok(out)
}

fn one_hot(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axis = n.attr_int("axis", -1)?;
    Ok(kernel(move |inputs: &Inputs| {
        let (ind, depth_t, values) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        let depth = match depth_t.to_f64_vec()?.as_slice() {
            [d] => *d,
            _ => bail!("OneHot depth must be a scalar"),
        };
        ensure!(
            depth.is_finite() && depth >= 1.0 && depth < (1u64 << 40) as f64,
            "invalid OneHot depth {}",
            depth
        );
        let depth = depth as usize;
        ensure!(
            values.len() == 2,
            "OneHot values must hold 2 elements, got {}",
            values.len()
        );
        let r = ind.rank();
        let a = util::axis(axis, r + 1)?;
        let idx: Vec<i64> = if ind.dtype().is_float() {
            ind.to_f64_vec()?.into_iter().map(|v| v as i64).collect()
        } else {
            ind.to_i64_vec()?
        };
        let outer = prod(&ind.shape()[..a])?;
        let inner = prod(&ind.shape()[a..])?;
        let mut shape = ind.shape().to_vec();
        shape.insert(a, depth);
        let total = prod(&shape)?;
        dispatch_all!(values.dtype(), T => {
            let out = one_hot_fill(values.as_slice::<T>()?, &idx, outer, inner, depth, total)?;
            one(Tensor::new(shape, out)?)
        })
    }))
}

fn non_zero(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let shape: Vec<usize> = if x.rank() == 0 {
            vec![1]
        } else {
            x.shape().to_vec()
        };
        let flat: Vec<usize> = dispatch_number!(x.dtype(), T => {
            Ok::<_, Error>(
                x.as_slice::<T>()?.iter().enumerate().filter(|(_, &v)| v != T::zero()).map(|(i, _)| i).collect(),
            )
        })?;
        let r = shape.len();
        let nnz = flat.len();
        let mut out = vec![0i64; r * nnz];
        for (j, &f) in flat.iter().enumerate() {
            let mut rem = f;
            for d in (0..r).rev() {
                out[d * nnz + j] = (rem % shape[d]) as i64;
                rem /= shape[d];
            }
        }
        one(Tensor::new(vec![r, nnz], out)?)
    }))
}

#[cfg(test)]
mod tests {
    use crate::ops::tensor::testutil::run;
    use runnx_ir::{Attribute, Tensor};

    #[test]
    fn large_gather_matches_serial() {
        let (rows, cols) = (300usize, 128usize);
        let data = Tensor::new(vec![rows, cols], (0..(rows * cols) as i32).collect()).unwrap();
        let idx: Vec<i64> = (0..400)
            .map(|i| (i * 7919 % rows as i64) - if i % 3 == 0 { rows as i64 } else { 0 })
            .collect();
        let out = run(
            "Gather",
            13,
            vec![],
            vec![Some(data), Some(Tensor::vector(idx.clone()))],
        )
        .unwrap();
        let got = out[0].as_slice::<i32>().unwrap();
        for (p, &i) in idx.iter().enumerate() {
            let r = i.rem_euclid(rows as i64) as usize;
            assert_eq!(
                &got[p * cols..(p + 1) * cols],
                &((r * cols) as i32..((r + 1) * cols) as i32).collect::<Vec<_>>()[..]
            );
        }
    }

    #[test]
    fn gather_nd_batch_dims() {
        let data = Tensor::new(vec![2, 2, 2], (0..8i32).collect()).unwrap();
        let ind = Tensor::new(vec![2, 1], vec![1i64, 0]).unwrap();
        let out = run(
            "GatherND",
            13,
            vec![("batch_dims", Attribute::Int(1))],
            vec![Some(data), Some(ind)],
        )
        .unwrap();
        assert_eq!(out[0].shape(), &[2, 2]);
        assert_eq!(out[0].as_slice::<i32>().unwrap(), &[2, 3, 4, 5]);
    }

    #[test]
    fn bad_indices_are_errors() {
        let data = Tensor::vector(vec![1f32, 2.0]);
        assert!(run(
            "Gather",
            13,
            vec![],
            vec![Some(data.clone()), Some(Tensor::vector(vec![2i64]))]
        )
        .is_err());
        assert!(run(
            "Gather",
            13,
            vec![],
            vec![Some(data.clone()), Some(Tensor::vector(vec![-3i64]))]
        )
        .is_err());
        let out = run(
            "Gather",
            13,
            vec![],
            vec![Some(data), Some(Tensor::scalar(-1i64))],
        )
        .unwrap();
        assert_eq!(out[0].as_slice::<f32>().unwrap(), &[2.0]);
        assert_eq!(out[0].shape(), &[] as &[usize]);
    }

    #[test]
    fn scatter_nd_reductions() {
        let data = Tensor::vector(vec![1i64, 2, 3, 4]);
        let ind = Tensor::new(vec![2, 1], vec![1i64, 1]).unwrap();
        let upd = Tensor::vector(vec![10i64, 20]);
        let out = run(
            "ScatterND",
            18,
            vec![("reduction", Attribute::String(b"add".to_vec()))],
            vec![Some(data), Some(ind), Some(upd)],
        )
        .unwrap();
        assert_eq!(out[0].as_slice::<i64>().unwrap(), &[1, 32, 3, 4]);
    }
}
