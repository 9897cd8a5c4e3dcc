//! Layout ops built on the strided copy: Transpose, Expand, Concat, Split, Slice,
//! Pad, Tile, DepthToSpace, SpaceToDepth, CenterCropPad, plus Trilu,
//! ReverseSequence and Compress.

use super::gather::take_axis;
use super::strided::{self, contiguous_strides, View};
use super::{one, opt_ints, prod, scalar_int, to_usize};
use crate::ops::util;
use crate::Registry;
use runnx_ir::dtype::{Elem, Number};
use runnx_ir::{
    bail, dispatch_all, ensure, kernel, Error, Inputs, Kernel, NodeCtx, Result, Tensor, Value,
};

pub fn register(r: &mut Registry) {
    r.add("Transpose", transpose);
    r.add("Expand", expand);
    r.add("Concat", concat);
    r.add("Split", split);
    r.add("Slice", slice);
    r.add("Pad", pad);
    r.add("Tile", tile);
    r.add("DepthToSpace", depth_to_space);
    r.add("SpaceToDepth", space_to_depth);
    r.add("CenterCropPad", center_crop_pad);
    r.add("Trilu", trilu);
    r.add("ReverseSequence", reverse_sequence);
    r.add("Compress", compress);
}

/// `x` read through a strided view into a new contiguous tensor of `shape`.
pub(crate) fn view_tensor(x: &Tensor, view: &View, shape: &[usize]) -> Result<Tensor> {
    dispatch_all!(x.dtype(), T => {
        let v = strided::gather(x.as_slice::<T>()?, view, shape)?;
        Tensor::new(shape.to_vec(), v)
    })
}

/// Transpose a tensor (no copy when only size-1 dimensions move).
pub(crate) fn transpose_tensor(x: &Tensor, perm: &[usize]) -> Result<Tensor> {
    ensure!(
        perm.len() == x.rank(),
        "perm {:?} does not match rank {}",
        perm,
        x.rank()
    );
    let shape = x.shape();
    let out_shape: Vec<usize> = perm
        .iter()
        .map(|&p| shape.get(p).copied().unwrap_or(0))
        .collect();
    let moved: Vec<usize> = perm
        .iter()
        .copied()
        .filter(|&p| shape.get(p).is_some_and(|&d| d != 1))
        .collect();
    if moved.windows(2).all(|w| w[0] < w[1]) && perm.iter().all(|&p| p < shape.len()) {
        return x.reshaped(out_shape);
    }
    dispatch_all!(x.dtype(), T => {
        let (s, v) = strided::transpose(x.as_slice::<T>()?, shape, perm)?;
        Tensor::new(s, v)
    })
}

fn transpose(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let perm = n.attr_ints_opt("perm")?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let r = x.rank();
        let p = match &perm {
            Some(p) => {
                ensure!(p.len() == r, "perm {:?} does not match rank {}", p, r);
                util::axes(p, r)?
            }
            None => (0..r).rev().collect(),
        };
        one(transpose_tensor(x, &p)?)
    }))
}

fn expand(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let spec: Vec<usize> = inputs
            .tensor(1)?
            .to_i64_vec()?
            .into_iter()
            .map(|d| to_usize(d, "Expand shape"))
            .collect::<Result<_>>()?;
        let out = util::broadcast_shapes(&[x.shape(), &spec])?;
        if out == x.shape() {
            return one(x.clone());
        }
        let strides = util::broadcast_strides(x.shape(), &out)
            .into_iter()
            .map(|s| s as isize)
            .collect();
        one(view_tensor(x, &View { offset: 0, strides }, &out)?)
    }))
}

/// Concatenate tensors of one type along `axis` (already normalised).
pub(crate) fn concat_tensors(xs: &[&Tensor], axis: usize) -> Result<Tensor> {
    let first = match xs.first() {
        Some(t) => *t,
        None => bail!("Concat needs at least one input"),
    };
    let rank = first.rank();
    ensure!(
        axis < rank,
        "concat axis {} out of range for rank {}",
        axis,
        rank
    );
    let mut out_shape = first.shape().to_vec();
    out_shape[axis] = 0;
    for t in xs {
        ensure!(
            t.dtype() == first.dtype(),
            "Concat inputs must share a type: {} vs {}",
            t.dtype(),
            first.dtype()
        );
        ensure!(
            t.rank() == rank,
            "Concat inputs must share a rank: {:?} vs {:?}",
            t.shape(),
            first.shape()
        );
        for (d, (&a, &b)) in t.shape().iter().zip(first.shape()).enumerate() {
            ensure!(
                d == axis || a == b,
                "Concat shapes {:?} and {:?} differ outside axis {}",
                t.shape(),
                first.shape(),
                axis
            );
        }
        out_shape[axis] = out_shape[axis]
            .checked_add(t.shape()[axis])
            .ok_or_else(|| Error::invalid("Concat: size overflow"))?;
    }
    if xs.len() == 1 {
        return Ok(first.clone());
    }
    let total = prod(&out_shape)?;
    let out_strides = contiguous_strides(&out_shape);
    dispatch_all!(first.dtype(), T => {
        let mut out = super::filled(total, T::default())?;
        let mut at = 0usize;
        for t in xs {
            let src = t.as_slice::<T>()?;
            let dv = View { offset: at * out_strides[axis] as usize, strides: out_strides.clone() };
            strided::copy_into(&mut out, &dv, src, &View::contiguous(t.shape()), t.shape())?;
            at += t.shape()[axis];
        }
        Tensor::new(out_shape, out)
    })
}

fn concat(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axis = n.require("axis", n.attr_int_opt("axis")).or_else(|e| {
        if n.opset < 4 {
            Ok(1)
        } else {
            Err(e)
        }
    })?;
    Ok(kernel(move |inputs: &Inputs| {
        let xs = inputs.tensors_from(0)?;
        let rank = xs.first().map(|t| t.rank()).unwrap_or(0);
        ensure!(rank > 0, "Concat inputs must have rank >= 1");
        one(concat_tensors(&xs, util::axis(axis, rank)?)?)
    }))
}

/// The slice of `x` along `axis` from `start`, `len` long.
pub(crate) fn narrow(x: &Tensor, axis: usize, start: usize, len: usize) -> Result<Tensor> {
    let mut shape = x.shape().to_vec();
    ensure!(
        axis < shape.len() && start.checked_add(len).is_some_and(|e| e <= shape[axis]),
        "narrow out of range"
    );
    if len == shape[axis] {
        return Ok(x.clone());
    }
    shape[axis] = len;
    let strides = contiguous_strides(x.shape());
    let view = View {
        offset: start * strides[axis] as usize,
        strides,
    };
    view_tensor(x, &view, &shape)
}

fn split(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axis = n.attr_int("axis", 0)?;
    let attr_split = if n.opset < 13 {
        n.attr_ints_opt("split")?
    } else {
        None
    };
    let num_outputs = if n.opset >= 18 {
        n.attr_int_opt("num_outputs")?
    } else {
        None
    };
    let outs = n.output_count();
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let a = util::axis(axis, x.rank())?;
        ensure!(x.rank() > 0, "Split needs rank >= 1");
        let dim = x.shape()[a];
        let sizes: Vec<usize> = match (
            attr_split.clone(),
            opt_ints(inputs, 1)?.filter(|v| !v.is_empty()),
        ) {
            (Some(s), _) | (None, Some(s)) => {
                let s: Vec<usize> = s
                    .iter()
                    .map(|&v| to_usize(v, "split size"))
                    .collect::<Result<_>>()?;
                ensure!(
                    s.iter().sum::<usize>() == dim,
                    "split sizes {:?} do not add up to {}",
                    s,
                    dim
                );
                s
            }
            (None, None) => {
                if let Some(k) = num_outputs {
                    let k = to_usize(k, "num_outputs")?;
                    ensure!(k > 0, "num_outputs must be positive");
                    let chunk = dim.div_ceil(k);
                    let mut v = Vec::with_capacity(k);
                    let mut left = dim;
                    for _ in 0..k {
                        let c = chunk.min(left);
                        v.push(c);
                        left -= c;
                    }
                    v
                } else {
                    ensure!(
                        outs > 0 && dim % outs == 0,
                        "cannot split {} evenly into {} outputs",
                        dim,
                        outs
                    );
                    vec![dim / outs; outs]
                }
            }
        };
        let mut res = Vec::with_capacity(sizes.len());
        let mut at = 0;
        for s in sizes {
            res.push(Value::Tensor(narrow(x, a, at, s)?));
            at += s;
        }
        Ok(res)
    }))
}

/// Start and length of one sliced axis (numpy rules, clamped).
fn slice_axis(dim: usize, start: i64, end: i64, step: i64) -> Result<(i128, usize)> {
    ensure!(step != 0, "Slice step must not be zero");
    let d = dim as i128;
    let (mut s, mut e, st) = (start as i128, end as i128, step as i128);
    if s < 0 {
        s += d;
    }
    if e < 0 {
        e += d;
    }
    let len = if st > 0 {
        s = s.max(0).min(d);
        e = e.max(0).min(d);
        if e > s {
            (e - s + st - 1) / st
        } else {
            0
        }
    } else {
        s = s.max(0).min(d - 1);
        e = e.max(-1).min(d - 1);
        if s > e {
            (s - e - st - 1) / -st
        } else {
            0
        }
    };
    Ok((s, len as usize))
}

fn slice(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let attrs = if n.opset < 10 {
        let starts = n.require("starts", n.attr_ints_opt("starts"))?;
        let ends = n.require("ends", n.attr_ints_opt("ends"))?;
        Some((starts, ends, n.attr_ints_opt("axes")?))
    } else {
        None
    };
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let (starts, ends, axes, steps) = match &attrs {
            Some((s, e, a)) => (s.clone(), e.clone(), a.clone(), None),
            None => (
                inputs.tensor(1)?.to_i64_vec()?,
                inputs.tensor(2)?.to_i64_vec()?,
                opt_ints(inputs, 3)?,
                opt_ints(inputs, 4)?,
            ),
        };
        let r = x.rank();
        ensure!(
            starts.len() == ends.len(),
            "Slice starts {:?} and ends {:?} differ in length",
            starts,
            ends
        );
        let axes = match axes {
            Some(a) => util::axes(&a, r)?,
            None => (0..starts.len()).collect(),
        };
        ensure!(
            axes.len() == starts.len(),
            "Slice axes and starts differ in length"
        );
        ensure!(axes.iter().all(|&a| a < r), "Slice axes out of range");
        let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
        ensure!(
            steps.len() == starts.len(),
            "Slice steps and starts differ in length"
        );
        let in_strides = contiguous_strides(x.shape());
        let mut shape = x.shape().to_vec();
        let mut strides = in_strides.clone();
        let mut offset: i128 = 0;
        for (i, &a) in axes.iter().enumerate() {
            let (s, len) = slice_axis(x.shape()[a], starts[i], ends[i], steps[i])?;
            shape[a] = len;
            if len > 0 {
                offset += s * in_strides[a] as i128;
            }
            strides[a] = in_strides[a].saturating_mul(steps[i] as isize);
        }
        if shape.as_slice() == x.shape() && steps.iter().all(|&s| s == 1) {
            return one(x.clone());
        }
        if shape.contains(&0) {
            return one(Tensor::zeros(x.dtype(), shape)?);
        }
        let offset =
            usize::try_from(offset).map_err(|_| Error::invalid("Slice offset out of range"))?;
        one(view_tensor(x, &View { offset, strides }, &shape)?)
    }))
}

#[derive(Clone, Copy, PartialEq)]
enum PadMode {
    Constant,
    Reflect,
    Edge,
    Wrap,
}

fn pad(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let mode = match n.attr_str("mode", "constant")?.as_str() {
        "constant" => PadMode::Constant,
        "reflect" => PadMode::Reflect,
        "edge" => PadMode::Edge,
        "wrap" => PadMode::Wrap,
        other => bail!("Pad: unknown mode '{}'", other),
    };
    let attr_pads = if n.opset < 11 {
        let name = if n.opset < 2 { "paddings" } else { "pads" };
        Some(n.require(name, n.attr_ints_opt(name))?)
    } else {
        None
    };
    let attr_value = n.attr_float("value", 0.0)?;
    let opset = n.opset;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let r = x.rank();
        let pads = match &attr_pads {
            Some(p) => p.clone(),
            None => inputs.tensor(1)?.to_i64_vec()?,
        };
        let axes = match opt_ints(inputs, 3)? {
            Some(a) if opset >= 18 => util::axes(&a, r)?,
            _ => (0..r).collect(),
        };
        ensure!(
            pads.len() == 2 * axes.len(),
            "Pad: {} pads for {} axes",
            pads.len(),
            axes.len()
        );
        let mut begin = vec![0i64; r];
        let mut end = vec![0i64; r];
        for (i, &a) in axes.iter().enumerate() {
            begin[a] = pads[i];
            end[a] = pads[i + axes.len()];
        }
        let mut out_shape = Vec::with_capacity(r);
        for d in 0..r {
            let o = x.shape()[d] as i128 + begin[d] as i128 + end[d] as i128;
            ensure!(
                (0..1i128 << 48).contains(&o),
                "Pad: invalid output size {} on axis {}",
                o,
                d
            );
            out_shape.push(o as usize);
        }
        let value = if attr_pads.is_some() {
            None
        } else {
            inputs.opt_tensor(2)?.filter(|t| !t.is_empty())
        };
        dispatch_all!(x.dtype(), T => {
            let src = x.as_slice::<T>()?;
            let out = if mode == PadMode::Constant {
                let fill: T = match value {
                    Some(v) => v.as_slice::<T>()?.first().cloned().unwrap_or_default(),
                    None => pad_fill::<T>(attr_value),
                };
                pad_constant(src, x.shape(), &out_shape, &begin, &end, fill)?
            } else {
                pad_mapped(src, x.shape(), &out_shape, &begin, mode)?
            };
            one(Tensor::new(out_shape, out)?)
        })
    }))
}

/// The fill value from Pad's float `value` attribute (zero/empty for non-numbers).
fn pad_fill<T: Elem>(v: f32) -> T {
    use std::any::Any;
    macro_rules! try_num {
        ($($t:ty),*) => {$(
            if let Some(x) = (&mut (<$t as Number>::from_f64(v as f64)) as &mut dyn Any).downcast_mut::<T>() {
                return x.clone();
            }
        )*};
    }
    try_num!(
        f32,
        f64,
        runnx_ir::f16,
        runnx_ir::bf16,
        i8,
        i16,
        i32,
        i64,
        u8,
        u16,
        u32,
        u64,
        bool
    );
    T::default()
}

fn pad_constant<T: runnx_ir::Elem>(
    src: &[T],
    in_shape: &[usize],
    out_shape: &[usize],
    begin: &[i64],
    end: &[i64],
    fill: T,
) -> Result<Vec<T>> {
    let total = prod(out_shape)?;
    let mut out = super::filled(total, fill)?;
    let r = in_shape.len();
    let mut shape = Vec::with_capacity(r);
    let (mut s_off, mut d_off) = (0usize, 0usize);
    let (ss, ds) = (contiguous_strides(in_shape), contiguous_strides(out_shape));
    for d in 0..r {
        let crop_b = usize::try_from(begin[d].saturating_neg().max(0)).unwrap_or(usize::MAX);
        let crop_e = usize::try_from(end[d].saturating_neg().max(0)).unwrap_or(usize::MAX);
        let n = in_shape[d].saturating_sub(crop_b).saturating_sub(crop_e);
        if n == 0 {
            return Ok(out);
        }
        shape.push(n);
        s_off += crop_b * ss[d] as usize;
        d_off += begin[d].max(0) as usize * ds[d] as usize;
    }
    strided::copy_into(
        &mut out,
        &View {
            offset: d_off,
            strides: ds,
        },
        src,
        &View {
            offset: s_off,
            strides: ss,
        },
        &shape,
    )?;
    Ok(out)
}

fn pad_mapped<T: Clone>(
    src: &[T],
    in_shape: &[usize],
    out_shape: &[usize],
    begin: &[i64],
    mode: PadMode,
) -> Result<Vec<T>> {
    let total = prod(out_shape)?;
    if total == 0 {
        return Ok(Vec::new());
    }
    // Allocate first: the index maps below are no larger than the output.
    let out = super::alloc(total)?;
    let ss = contiguous_strides(in_shape);
    // Per axis: output index -> source element offset along that axis.
    let mut maps: Vec<Vec<usize>> = Vec::with_capacity(in_shape.len());
    for d in 0..in_shape.len() {
        let n = in_shape[d] as i128;
        ensure!(n > 0, "Pad: cannot pad an empty axis in this mode");
        let m = (0..out_shape[d] as i128)
            .map(|o| {
                let i = o - begin[d] as i128;
                let j = match mode {
                    PadMode::Edge => i.clamp(0, n - 1),
                    PadMode::Wrap => i.rem_euclid(n),
                    _ => {
                        if n == 1 {
                            0
                        } else {
                            let p = 2 * (n - 1);
                            let k = i.rem_euclid(p);
                            if k >= n {
                                p - k
                            } else {
                                k
                            }
                        }
                    }
                };
                j as usize * ss[d] as usize
            })
            .collect();
        maps.push(m);
    }
    Ok(gather_maps(out, src, out_shape, &maps))
}

/// out[i0, .., ik] = src[maps[0][i0] + .. + maps[k][ik]]. Offsets must be in range.
fn gather_maps<T: Clone>(
    mut out: Vec<T>,
    src: &[T],
    out_shape: &[usize],
    maps: &[Vec<usize>],
) -> Vec<T> {
    let r = out_shape.len();
    if r == 0 {
        out.extend(src.first().cloned());
        return out;
    }
    let last = &maps[r - 1];
    let outer: usize = out_shape[..r - 1].iter().product();
    let mut idx = vec![0usize; r - 1];
    for _ in 0..outer {
        let base: usize = idx.iter().enumerate().map(|(d, &i)| maps[d][i]).sum();
        out.extend(last.iter().map(|&o| src[base + o].clone()));
        for d in (0..r - 1).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

fn tile(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let reps = inputs.tensor(1)?.to_i64_vec()?;
        ensure!(
            reps.len() == x.rank(),
            "Tile repeats {:?} do not match rank {}",
            reps,
            x.rank()
        );
        let st = contiguous_strides(x.shape());
        let mut shape2 = Vec::with_capacity(2 * x.rank());
        let mut strides2 = Vec::with_capacity(2 * x.rank());
        let mut out_shape = Vec::with_capacity(x.rank());
        for (d, &r) in reps.iter().enumerate() {
            let r = to_usize(r, "Tile repeat")?;
            shape2.extend([r, x.shape()[d]]);
            strides2.extend([0, st[d]]);
            out_shape.push(
                r.checked_mul(x.shape()[d])
                    .ok_or_else(|| Error::invalid("Tile: size overflow"))?,
            );
        }
        let t = view_tensor(
            x,
            &View {
                offset: 0,
                strides: strides2,
            },
            &shape2,
        )?;
        one(t.reshaped(out_shape)?)
    }))
}

fn blocksize(n: &NodeCtx) -> Result<usize> {
    let b = n.require("blocksize", n.attr_int_opt("blocksize"))?;
    ensure!(b > 0, "blocksize must be positive, got {}", b);
    to_usize(b, "blocksize")
}

fn nchw(x: &Tensor) -> Result<[usize; 4]> {
    match *x.shape() {
        [n, c, h, w] => Ok([n, c, h, w]),
        _ => bail!("expected a 4-D input, got shape {:?}", x.shape()),
    }
}

fn depth_to_space(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let b = blocksize(n)?;
    let crd = match n.attr_str("mode", "DCR")?.as_str() {
        "DCR" => false,
        "CRD" => true,
        m => bail!("DepthToSpace: unknown mode '{}'", m),
    };
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let [nn, c, h, w] = nchw(x)?;
        let bb = b
            .checked_mul(b)
            .ok_or_else(|| Error::invalid("blocksize too large"))?;
        ensure!(
            c % bb == 0,
            "DepthToSpace: channels {} not divisible by blocksize² {}",
            c,
            bb
        );
        let c2 = c / bb;
        let (x6, perm) = if crd {
            (x.reshaped(vec![nn, c2, b, b, h, w])?, [0, 1, 4, 2, 5, 3])
        } else {
            (x.reshaped(vec![nn, b, b, c2, h, w])?, [0, 3, 4, 1, 5, 2])
        };
        let t = transpose_tensor(&x6, &perm)?;
        one(t.reshaped(vec![nn, c2, h * b, w * b])?)
    }))
}

fn space_to_depth(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let b = blocksize(n)?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let [nn, c, h, w] = nchw(x)?;
        ensure!(
            h % b == 0 && w % b == 0,
            "SpaceToDepth: {}x{} not divisible by blocksize {}",
            h,
            w,
            b
        );
        let x6 = x.reshaped(vec![nn, c, h / b, b, w / b, b])?;
        let t = transpose_tensor(&x6, &[0, 3, 5, 1, 2, 4])?;
        one(t.reshaped(vec![nn, c * b * b, h / b, w / b])?)
    }))
}

fn center_crop_pad(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axes_attr = n.attr_ints_opt("axes")?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let target = inputs.tensor(1)?.to_i64_vec()?;
        let r = x.rank();
        let axes = match &axes_attr {
            Some(a) => util::axes(a, r)?,
            None => (0..r).collect(),
        };
        ensure!(
            target.len() == axes.len(),
            "CenterCropPad: shape {:?} does not match axes {:?}",
            target,
            axes
        );
        let mut out_shape = x.shape().to_vec();
        // Per axis: (source start, destination start, length).
        let mut region: Vec<(usize, usize, usize)> = x.shape().iter().map(|&d| (0, 0, d)).collect();
        for (&a, &t) in axes.iter().zip(&target) {
            let t = to_usize(t, "CenterCropPad size")?;
            let d = x.shape()[a];
            out_shape[a] = t;
            region[a] = if t <= d {
                ((d - t) / 2, 0, t)
            } else {
                (0, (t - d) / 2, d)
            };
        }
        let len: Vec<usize> = region.iter().map(|r| r.2).collect();
        let (ss, ds) = (
            contiguous_strides(x.shape()),
            contiguous_strides(&out_shape),
        );
        let s_off: usize = region.iter().zip(&ss).map(|(r, &s)| r.0 * s as usize).sum();
        let d_off: usize = region.iter().zip(&ds).map(|(r, &s)| r.1 * s as usize).sum();
        let total = prod(&out_shape)?;
        dispatch_all!(x.dtype(), T => {
            let mut out = super::filled(total, T::default())?;
            if total > 0 {
                strided::copy_into(
                    &mut out,
                    &View { offset: d_off, strides: ds },
                    x.as_slice::<T>()?,
                    &View { offset: s_off, strides: ss },
                    &len,
                )?;
            }
            one(Tensor::new(out_shape, out)?)
        })
    }))
}

fn trilu(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let upper = n.attr_int("upper", 1)? != 0;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let k = if inputs.opt_tensor(1)?.is_some() {
            scalar_int(inputs, 1)?
        } else {
            0
        };
        let r = x.rank();
        ensure!(r >= 2, "Trilu needs rank >= 2, got {:?}", x.shape());
        let (rows, cols) = (x.shape()[r - 2], x.shape()[r - 1]);
        let mat = rows * cols;
        dispatch_all!(x.dtype(), T => {
            let mut v = x.as_slice::<T>()?.to_vec();
            if mat > 0 {
                for m in v.chunks_mut(mat) {
                    for (i, row) in m.chunks_mut(cols).enumerate() {
                        for (j, e) in row.iter_mut().enumerate() {
                            let diff = j as i64 - i as i64;
                            let keep = if upper { diff >= k } else { diff <= k };
                            if !keep {
                                *e = T::default();
                            }
                        }
                    }
                }
            }
            one(Tensor::new(x.shape().to_vec(), v)?)
        })
    }))
}

fn reverse_sequence(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let batch_axis = n.attr_int("batch_axis", 1)?;
    let time_axis = n.attr_int("time_axis", 0)?;
    ensure!(
        (batch_axis == 0 && time_axis == 1) || (batch_axis == 1 && time_axis == 0),
        "ReverseSequence: batch_axis/time_axis must be 0 and 1, got {} and {}",
        batch_axis,
        time_axis
    );
    let (ba, ta) = (batch_axis as usize, time_axis as usize);
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        ensure!(x.rank() >= 2, "ReverseSequence needs rank >= 2");
        let lens = inputs.tensor(1)?.to_i64_vec()?;
        let (batch, time) = (x.shape()[ba], x.shape()[ta]);
        ensure!(
            lens.len() == batch,
            "sequence_lens has {} entries for a batch of {}",
            lens.len(),
            batch
        );
        let st = contiguous_strides(x.shape());
        let (sb, stt) = (st[ba] as usize, st[ta] as usize);
        let inner = prod(&x.shape()[2..])?;
        dispatch_all!(x.dtype(), T => {
            let src = x.as_slice::<T>()?;
            let mut out = src.to_vec();
            for (b, &l) in lens.iter().enumerate() {
                let l = to_usize(l, "sequence length")?;
                ensure!(l <= time, "sequence length {} exceeds time dimension {}", l, time);
                for t in 0..l {
                    let d = b * sb + t * stt;
                    let s = b * sb + (l - 1 - t) * stt;
                    out[d..d + inner].clone_from_slice(&src[s..s + inner]);
                }
            }
            one(Tensor::new(x.shape().to_vec(), out)?)
        })
    }))
}

fn compress(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axis = n.attr_int_opt("axis")?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let cond = inputs.tensor(1)?;
        ensure!(
            cond.rank() == 1,
            "Compress condition must be 1-D, got {:?}",
            cond.shape()
        );
        let cond = cond.to_i64_vec()?;
        let (x, a) = match axis {
            Some(a) => (x.clone(), util::axis(a, x.rank())?),
            None => (x.reshaped(vec![x.len()])?, 0),
        };
        let dim = x.shape()[a];
        let idx: Vec<usize> = cond
            .iter()
            .enumerate()
            .filter(|(_, &c)| c != 0)
            .map(|(i, _)| i)
            .collect();
        ensure!(
            idx.iter().all(|&i| i < dim),
            "Compress condition selects beyond dimension {}",
            dim
        );
        one(take_axis(&x, a, &idx, &[idx.len()])?)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_axis_clamps() {
        assert_eq!(slice_axis(10, 0, i64::MAX, 1).unwrap(), (0, 10));
        assert_eq!(slice_axis(10, -1, i64::MIN, -1).unwrap(), (9, 10));
        assert_eq!(slice_axis(10, 20, 1000, 1).unwrap().1, 0);
        assert_eq!(slice_axis(10, 8, 2, -2).unwrap(), (8, 3));
        assert_eq!(slice_axis(0, 0, -1, -1).unwrap().1, 0);
        assert!(slice_axis(10, 0, 1, 0).is_err());
    }

    #[test]
    fn pad_modes() {
        let x = [1, 2, 3];
        assert_eq!(
            pad_mapped(&x, &[3], &[7], &[2], PadMode::Reflect).unwrap(),
            vec![3, 2, 1, 2, 3, 2, 1]
        );
        assert_eq!(
            pad_mapped(&x, &[3], &[7], &[2], PadMode::Edge).unwrap(),
            vec![1, 1, 1, 2, 3, 3, 3]
        );
        assert_eq!(
            pad_mapped(&x, &[3], &[7], &[2], PadMode::Wrap).unwrap(),
            vec![2, 3, 1, 2, 3, 1, 2]
        );
        assert_eq!(
            pad_constant(&x, &[3], &[4], &[-1], &[2], 0).unwrap(),
            vec![2, 3, 0, 0]
        );
    }
}
