//! Normalizations: Batch, Instance, Layer, Group, RMS, LRN, Lp, MeanVariance.
//!
//! The row-wise ones share `norm_rows`: statistics per contiguous row (in f64),
//! then an affine transform per position or per channel.

use super::common::{
    broadcast_to, param_block, read, rows_per_task, split_at_axis, sum_f64, with_flt, write, Flt,
};
use super::reductions::{reduce_tensor, Op};
use crate::par::for_each_chunk_mut;
use runnx_ir::dtype::Number;
use runnx_ir::{bail, ensure, kernel, DType, Kernel, NodeCtx, Result, Tensor, Value};

/// Sum of `(x - m)^2` of a row in f64, in four lanes.
#[inline]
fn sum_sq_f64<F: Flt>(row: &[F], m: f64) -> f64 {
    let mut l = [0f64; 4];
    let chunks = row.chunks_exact(4);
    let rem = chunks.remainder();
    for c in chunks {
        for i in 0..4 {
            let d = Number::to_f64(c[i]) - m;
            l[i] += d * d;
        }
    }
    l.iter().sum::<f64>()
        + rem
            .iter()
            .map(|&v| {
                let d = Number::to_f64(v) - m;
                d * d
            })
            .sum::<f64>()
}

/// The affine part of a normalization.
pub enum Affine<'a, F> {
    None,
    /// One scale (and bias) per position of the row.
    Pos {
        s: &'a [F],
        b: Option<&'a [F]>,
    },
    /// Per channel: the row holds `cpr` channels of `span` elements each; row `r`
    /// starts at channel `(r % per_batch) * cpr`.
    Chan {
        s: &'a [F],
        b: Option<&'a [F]>,
        per_batch: usize,
        cpr: usize,
        span: usize,
    },
}

/// `(mean, inv_std)` of one row.
type RowStats = (f64, f64);

/// Normalize each contiguous row of `d` elements: `(x - mean) * inv` (or `x * inv`
/// for RMS), then the affine part. Returns the output and `(mean, inv_std)` per row.
pub fn norm_rows<F: Flt>(
    x: &[F],
    d: usize,
    eps: f64,
    rms: bool,
    affine: &Affine<F>,
) -> Result<(Vec<F>, Vec<RowStats>)> {
    let rows = x.len().checked_div(d).unwrap_or(0);
    let mut stats = vec![(0f64, 0f64); rows];
    let per = rows_per_task(d * 2);
    for_each_chunk_mut(&mut stats, per, per * d * 2, |ci, chunk| {
        for (k, st) in chunk.iter_mut().enumerate() {
            let r = ci * per + k;
            let row = &x[r * d..(r + 1) * d];
            let (mean, var) = if rms {
                (0.0, sum_sq_f64(row, 0.0) / d as f64)
            } else {
                let m = sum_f64(row) / d as f64;
                (m, sum_sq_f64(row, m) / d as f64)
            };
            *st = (mean, 1.0 / (var + eps).sqrt());
        }
    });
    let mut y = runnx_ir::buffers::take(x.len(), <F as Number>::zero())?;
    let st = &stats;
    for_each_chunk_mut(&mut y, per * d, per * d * 2, |ci, chunk| {
        for (k, out) in chunk.chunks_mut(d.max(1)).enumerate() {
            let r = ci * per + k;
            let row = &x[r * d..(r + 1) * d];
            let (m, inv) = st[r];
            let (m, inv) = (F::from_f64(m), F::from_f64(inv));
            match affine {
                Affine::None => {
                    for (o, &v) in out.iter_mut().zip(row) {
                        *o = (v - m) * inv;
                    }
                }
                Affine::Pos { s, b: Some(b) } => {
                    for (((o, &v), &s), &b) in out.iter_mut().zip(row).zip(s.iter()).zip(b.iter()) {
                        *o = (v - m) * inv * s + b;
                    }
                }
                Affine::Pos { s, b: None } => {
                    for ((o, &v), &s) in out.iter_mut().zip(row).zip(s.iter()) {
                        *o = (v - m) * inv * s;
                    }
                }
                Affine::Chan {
                    s,
                    b,
                    per_batch,
                    cpr,
                    span,
                } => {
                    let c0 = (r % per_batch) * cpr;
                    for (k, (o, xs)) in out.chunks_mut(*span).zip(row.chunks(*span)).enumerate() {
                        let sc = s[c0 + k] * inv;
                        let bi = b.map_or(<F as Number>::zero(), |b| b[c0 + k]);
                        for (o, &v) in o.iter_mut().zip(xs) {
                            *o = (v - m) * sc + bi;
                        }
                    }
                }
            }
        }
    });
    Ok((y, stats))
}

/// LayerNormalization (`rms = false`) and RMSNormalization (`rms = true`).
fn layer_like(n: &NodeCtx, rms: bool) -> Result<Box<dyn Kernel>> {
    let axis = n.attr_int("axis", -1)?;
    let eps = n.attr_float("epsilon", 1e-5)? as f64;
    let stash = n.attr_int("stash_type", 1)?;
    let stash = DType::from_onnx_code(stash as i32)
        .filter(|d| d.is_float())
        .unwrap_or(DType::F32);
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let scale = inputs.tensor(1)?;
        let bias = if rms { None } else { inputs.opt_tensor(2)? };
        let shape = x.shape();
        ensure!(!shape.is_empty(), "expected a tensor of rank >= 1");
        let ax = crate::ops::util::axis(axis, shape.len())?;
        let block = &shape[ax..];
        let d: usize = block.iter().product();
        let (y, stats) = with_flt!(x.dtype(), F => {
            let xv = read::<F>(x)?;
            let s = param_block::<F>(scale, block, "scale")?;
            let b = match bias {
                Some(b) => Some(param_block::<F>(b, block, "bias")?),
                None => None,
            };
            let (y, stats) = norm_rows(&xv, d, eps, rms, &Affine::Pos { s: &s, b: b.as_deref() })?;
            (write(y, x.dtype(), shape)?, stats)
        });
        if rms {
            return Ok(vec![y.into()]);
        }
        let mut sshape = shape[..ax].to_vec();
        sshape.resize(shape.len(), 1);
        let mean = write(stats.iter().map(|s| s.0).collect(), stash, sshape.clone())?;
        let inv = write(stats.iter().map(|s| s.1).collect(), stash, sshape)?;
        Ok(vec![y.into(), mean.into(), inv.into()])
    }))
}

pub fn layer_normalization(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    layer_like(n, false)
}

pub fn rms_normalization(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    layer_like(n, true)
}

/// `(N, C, spatial)` of an `[N, C, ...]` tensor.
fn ncs(shape: &[usize]) -> Result<(usize, usize, usize)> {
    ensure!(
        shape.len() >= 2,
        "expected a tensor of rank >= 2 ([N, C, ...]), got shape {:?}",
        shape
    );
    Ok((shape[0], shape[1], shape[2..].iter().product()))
}

fn channel_param<F: Flt>(t: &Tensor, len: usize, what: &str) -> Result<Vec<F>> {
    ensure!(
        t.len() == len,
        "{} must have {} elements, got shape {:?}",
        what,
        len,
        t.shape()
    );
    Ok(read::<F>(t)?.into_owned())
}

pub fn instance_normalization(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let eps = n.attr_float("epsilon", 1e-5)? as f64;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let shape = x.shape();
        let (_, c, sp) = ncs(shape)?;
        let y = with_flt!(x.dtype(), F => {
            let xv = read::<F>(x)?;
            let s = channel_param::<F>(inputs.tensor(1)?, c, "scale")?;
            let b = channel_param::<F>(inputs.tensor(2)?, c, "bias")?;
            let aff = Affine::Chan { s: &s, b: Some(&b), per_batch: c.max(1), cpr: 1, span: sp.max(1) };
            write(norm_rows(&xv, sp, eps, false, &aff)?.0, x.dtype(), shape)?
        });
        Ok(vec![y.into()])
    }))
}

pub fn group_normalization(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let eps = n.attr_float("epsilon", 1e-5)? as f64;
    let groups = n.require("num_groups", n.attr_int_opt("num_groups"))?;
    let per_channel = n.opset >= 21;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let shape = x.shape();
        let (_, c, sp) = ncs(shape)?;
        ensure!(
            groups > 0 && c % groups as usize == 0,
            "num_groups {} must divide the {} channels",
            groups,
            c
        );
        let g = groups as usize;
        let cpg = c / g;
        let y = with_flt!(x.dtype(), F => {
            let xv = read::<F>(x)?;
            let plen = if per_channel { c } else { g };
            let s = channel_param::<F>(inputs.tensor(1)?, plen, "scale")?;
            let b = channel_param::<F>(inputs.tensor(2)?, plen, "bias")?;
            let aff = if per_channel {
                Affine::Chan { s: &s, b: Some(&b), per_batch: g, cpr: cpg, span: sp.max(1) }
            } else {
                Affine::Chan { s: &s, b: Some(&b), per_batch: g, cpr: 1, span: (cpg * sp).max(1) }
            };
            write(norm_rows(&xv, cpg * sp, eps, false, &aff)?.0, x.dtype(), shape)?
        });
        Ok(vec![y.into()])
    }))
}

/// Updated running mean and variance (training mode).
type Running = (Vec<f64>, Vec<f64>);

pub fn batch_normalization(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let eps = n.attr_float("epsilon", 1e-5)? as f64;
    let momentum = n.attr_float("momentum", 0.9)? as f64;
    let training = n.opset >= 14 && n.attr_int("training_mode", 0)? != 0;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let shape = x.shape();
        let (nb, c, sp) = ncs(shape)?;
        let outs = with_flt!(x.dtype(), F => {
            let xv = read::<F>(x)?;
            let s = channel_param::<F>(inputs.tensor(1)?, c, "scale")?;
            let b = channel_param::<F>(inputs.tensor(2)?, c, "bias")?;
            let mean_t = inputs.tensor(3)?;
            let var_t = inputs.tensor(4)?;
            let mean = channel_param::<F>(mean_t, c, "mean")?;
            let var = channel_param::<F>(var_t, c, "var")?;
            let (use_mean, use_var, running): (Vec<f64>, Vec<f64>, Option<Running>) = if training {
                let cnt = (nb * sp) as f64;
                let mut bm = vec![0f64; c];
                let mut bv = vec![0f64; c];
                for ch in 0..c {
                    let rows = (0..nb).map(|i| &xv[(i * c + ch) * sp..(i * c + ch + 1) * sp]);
                    let m = rows.clone().map(sum_f64).sum::<f64>() / cnt;
                    bv[ch] = rows.map(|r| sum_sq_f64(r, m)).sum::<f64>() / cnt;
                    bm[ch] = m;
                }
                let rm = (0..c).map(|i| Number::to_f64(mean[i]) * momentum + bm[i] * (1.0 - momentum)).collect();
                let rv = (0..c).map(|i| Number::to_f64(var[i]) * momentum + bv[i] * (1.0 - momentum)).collect();
                (bm, bv, Some((rm, rv)))
            } else {
                (mean.iter().map(|&v| Number::to_f64(v)).collect(), var.iter().map(|&v| Number::to_f64(v)).collect(), None)
            };
            // y = x * a + k per channel.
            let a: Vec<F> = (0..c).map(|i| F::from_f64(Number::to_f64(s[i]) / (use_var[i] + eps).sqrt())).collect();
            let k: Vec<F> = (0..c).map(|i| F::from_f64(Number::to_f64(b[i]) - use_mean[i] * Number::to_f64(a[i]))).collect();
            let mut y = runnx_ir::buffers::take(xv.len(), <F as Number>::zero())?;
            let per = rows_per_task(sp);
            for_each_chunk_mut(&mut y, per * sp.max(1), per * sp, |ci, chunk| {
                for (j, out) in chunk.chunks_mut(sp.max(1)).enumerate() {
                    let r = ci * per + j;
                    let ch = r % c.max(1);
                    let (a, k) = (a[ch], k[ch]);
                    for (o, &v) in out.iter_mut().zip(&xv[r * sp..(r + 1) * sp]) {
                        *o = v * a + k;
                    }
                }
            });
            let mut outs: Vec<Value> = vec![write(y, x.dtype(), shape)?.into()];
            if let Some((rm, rv)) = running {
                outs.push(write(rm.iter().map(|&v| F::from_f64(v)).collect::<Vec<F>>(), mean_t.dtype(), mean_t.shape())?.into());
                outs.push(write(rv.iter().map(|&v| F::from_f64(v)).collect::<Vec<F>>(), var_t.dtype(), var_t.shape())?.into());
            }
            outs
        });
        Ok(outs)
    }))
}

pub fn lrn(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let alpha = n.attr_float("alpha", 1e-4)? as f64;
    let beta = n.attr_float("beta", 0.75)? as f64;
    let bias = n.attr_float("bias", 1.0)? as f64;
    let size = n.require("size", n.attr_int_opt("size"))?;
    ensure!(size > 0, "LRN size must be positive, got {}", size);
    let size = size as usize;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let shape = x.shape();
        let (nb, c, sp) = ncs(shape)?;
        let lo = (size - 1) / 2;
        let hi = size - 1 - lo;
        let y = with_flt!(x.dtype(), F => {
            let xv = read::<F>(x)?;
            let mut y = runnx_ir::buffers::take(xv.len(), <F as Number>::zero())?;
            for b in 0..nb {
                for ch in 0..c {
                    let c0 = ch.saturating_sub(lo);
                    let c1 = (ch + hi).min(c - 1);
                    for p in 0..sp {
                        let mut sq = 0f64;
                        for cc in c0..=c1 {
                            let v = Number::to_f64(xv[(b * c + cc) * sp + p]);
                            sq += v * v;
                        }
                        let i = (b * c + ch) * sp + p;
                        let den = (bias + alpha / size as f64 * sq).powf(beta);
                        y[i] = F::from_f64(Number::to_f64(xv[i]) / den);
                    }
                }
            }
            write(y, x.dtype(), shape)?
        });
        Ok(vec![y.into()])
    }))
}

pub fn lp_normalization(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axis = n.attr_int("axis", -1)?;
    let p = n.attr_int("p", 2)?;
    ensure!(
        p == 1 || p == 2,
        "LpNormalization p must be 1 or 2, got {}",
        p
    );
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let shape = x.shape();
        ensure!(!shape.is_empty(), "expected a tensor of rank >= 1");
        let ax = crate::ops::util::axis(axis, shape.len())?;
        let (outer, m, inner) = split_at_axis(shape, ax);
        let y = with_flt!(x.dtype(), F => {
            let xv = read::<F>(x)?;
            let mut y = runnx_ir::buffers::take(xv.len(), <F as Number>::zero())?;
            for o in 0..outer {
                for i in 0..inner {
                    let idx = |j: usize| (o * m + j) * inner + i;
                    let mut acc = 0f64;
                    for j in 0..m {
                        let v = Number::to_f64(xv[idx(j)]);
                        acc += if p == 1 { v.abs() } else { v * v };
                    }
                    let norm = if p == 1 { acc } else { acc.sqrt() };
                    for j in 0..m {
                        y[idx(j)] = if norm == 0.0 { <F as Number>::zero() } else { F::from_f64(Number::to_f64(xv[idx(j)]) / norm) };
                    }
                }
            }
            write(y, x.dtype(), shape)?
        });
        Ok(vec![y.into()])
    }))
}

pub fn mean_variance_normalization(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axes = n.attr_ints("axes", vec![0, 2, 3])?;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let shape = x.shape();
        if !x.dtype().is_float() {
            bail!("expected a float tensor, got {}", x.dtype());
        }
        let xf = x.cast(DType::F64)?;
        let mean_t = reduce_tensor(&xf, Op::Mean, &axes, true)?;
        let xs = xf.as_slice::<f64>()?;
        let sq = Tensor::new(
            shape.to_vec(),
            xs.iter().map(|v| v * v).collect::<Vec<f64>>(),
        )?;
        let sq_t = reduce_tensor(&sq, Op::Mean, &axes, true)?;
        let mean = broadcast_to(mean_t.as_slice::<f64>()?, mean_t.shape(), shape)?;
        let msq = broadcast_to(sq_t.as_slice::<f64>()?, sq_t.shape(), shape)?;
        let y: Vec<f64> = xs
            .iter()
            .zip(mean.iter().zip(&msq))
            .map(|(&v, (&m, &q))| (v - m) / ((q - m * m).max(0.0).sqrt() + 1e-9))
            .collect();
        Ok(vec![Tensor::new(shape.to_vec(), y)?
            .cast(x.dtype())?
            .into()])
    }))
}
