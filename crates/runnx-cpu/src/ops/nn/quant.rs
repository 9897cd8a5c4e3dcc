//! Quantized linear algebra: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
//! MatMulInteger, ConvInteger, QLinearMatMul, QLinearConv.
//!
//! Integer products accumulate exactly in i32 (wrapping) after the zero points are
//! subtracted; requantization rounds half to even and saturates.

use super::common::*;
use super::conv::{conv_geom, im2col, ConvParams};
use super::matmul::MatMulShape;
use crate::ops::util;
use runnx_ir::{bail, ensure, kernel, DType, Inputs, Kernel, NodeCtx, Result, Tensor, Value};

/// Integer range of a quantized type.
fn qrange(dt: DType) -> Result<(i64, i64)> {
    Ok(match dt {
        DType::U8 => (0, 255),
        DType::I8 => (-128, 127),
        DType::U16 => (0, 65535),
        DType::I16 => (-32768, 32767),
        DType::I32 => (i32::MIN as i64, i32::MAX as i64),
        other => bail!("quantized type {} is not supported", other),
    })
}

/// An i64 vector as a tensor of an integer type.
fn int_tensor(shape: Vec<usize>, v: Vec<i64>, dt: DType) -> Result<Tensor> {
    Ok(match dt {
        DType::U8 => Tensor::new(shape, v.into_iter().map(|x| x as u8).collect::<Vec<_>>())?,
        DType::I8 => Tensor::new(shape, v.into_iter().map(|x| x as i8).collect::<Vec<_>>())?,
        DType::U16 => Tensor::new(shape, v.into_iter().map(|x| x as u16).collect::<Vec<_>>())?,
        DType::I16 => Tensor::new(shape, v.into_iter().map(|x| x as i16).collect::<Vec<_>>())?,
        DType::I32 => Tensor::new(shape, v.into_iter().map(|x| x as i32).collect::<Vec<_>>())?,
        other => bail!("quantized type {} is not supported", other),
    })
}

/// Maps each element of `x_shape` to the index of its scale / zero point: per tensor
/// (one value), per axis (a vector along `axis`) or blocked (`block` elements of
/// `axis` share a value; the parameter has x's shape with that axis divided).
struct ParamMap {
    dim: usize,
    inner: usize,
    /// 0 for per-axis parameters.
    block: usize,
    blocks: usize,
    scalar: bool,
}

impl ParamMap {
    fn new(x_shape: &[usize], p_shape: &[usize], axis: i64, block: i64) -> Result<ParamMap> {
        let plen: usize = p_shape.iter().product();
        if plen == 1 && block <= 0 {
            return Ok(ParamMap {
                dim: 1,
                inner: 1,
                block: 1,
                blocks: 1,
                scalar: true,
            });
        }
        let ax = util::axis(axis, x_shape.len())?;
        let dim = x_shape[ax];
        let inner: usize = x_shape[ax + 1..].iter().product();
        if block <= 0 {
            ensure!(
                p_shape.len() == 1 && plen == dim,
                "per-axis scale of shape {:?} does not match axis {} of {:?}",
                p_shape,
                ax,
                x_shape
            );
            return Ok(ParamMap {
                dim,
                inner,
                block: 0,
                blocks: dim,
                scalar: false,
            });
        }
        let block = block as usize;
        let blocks = dim.div_ceil(block);
        let mut want = x_shape.to_vec();
        want[ax] = blocks;
        ensure!(
            p_shape == want.as_slice(),
            "blocked scale of shape {:?} does not match {:?} with block size {}",
            p_shape,
            x_shape,
            block
        );
        Ok(ParamMap {
            dim,
            inner,
            block,
            blocks,
            scalar: false,
        })
    }

    #[inline]
    fn index(&self, flat: usize) -> usize {
        if self.scalar {
            return 0;
        }
        let i = flat % self.inner;
        let rest = flat / self.inner;
        let d = rest % self.dim;
        if self.block == 0 {
            return d;
        }
        let o = rest / self.dim;
        (o * self.blocks + d / self.block) * self.inner + i
    }
}

fn build_quantize_impl(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axis = n.attr_int("axis", 1)?;
    let block = n.attr_int("block_size", 0)?;
    let out_code = n.attr_int("output_dtype", 0)?;
    let out_attr = if out_code == 0 {
        None
    } else {
        let code = i32::try_from(out_code).unwrap_or(-1);
        match DType::from_onnx_code(code) {
            Some(d) => Some(d),
            None => bail!(
                "QuantizeLinear output type {} is not supported",
                DType::onnx_name(code)
            ),
        }
    };
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let scale = inputs.tensor(1)?;
        let zp = inputs.opt_tensor(2)?;
        let out_dt = match zp {
            Some(z) => {
                if let Some(d) = out_attr {
                    ensure!(
                        d == z.dtype(),
                        "output_dtype {} does not match the zero point type {}",
                        d,
                        z.dtype()
                    );
                }
                z.dtype()
            }
            None => out_attr.unwrap_or(DType::U8),
        };
        ensure!(
            out_dt != DType::I32,
            "QuantizeLinear to int32 is not supported"
        );
        let (lo, hi) = qrange(out_dt)?;
        let xf = x.cast(DType::F32)?;
        let xs = xf.as_slice::<f32>()?;
        let sf = as_f32(scale)?;
        let ss = sf.as_slice::<f32>()?;
        let map = ParamMap::new(x.shape(), scale.shape(), axis, block)?;
        let zv = match zp {
            Some(z) => {
                ensure!(
                    z.len() == scale.len(),
                    "zero point has {} values, scale has {}",
                    z.len(),
                    scale.len()
                );
                z.to_i64_vec()?
            }
            None => vec![0; ss.len()],
        };
        let out: Vec<i64> = xs
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let j = map.index(i);
                let q = round_even(v / ss[j]) as f64 + zv[j] as f64;
                q.clamp(lo as f64, hi as f64) as i64
            })
            .collect();
        Ok(vec![Value::Tensor(int_tensor(
            x.shape().to_vec(),
            out,
            out_dt,
        )?)])
    }))
}

pub(crate) fn build_quantize(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    build_quantize_impl(n)
}

pub(crate) fn build_dequantize(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axis = n.attr_int("axis", 1)?;
    let block = n.attr_int("block_size", 0)?;
    let out_code = n.attr_int("output_dtype", 0)?;
    let out_attr = if out_code == 0 {
        None
    } else {
        let code = i32::try_from(out_code).unwrap_or(-1);
        match DType::from_onnx_code(code) {
            Some(d) if d.is_float() => Some(d),
            _ => bail!(
                "DequantizeLinear output type {} is not supported",
                DType::onnx_name(code)
            ),
        }
    };
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let scale = inputs.tensor(1)?;
        let zp = inputs.opt_tensor(2)?;
        ensure!(
            x.dtype().is_int(),
            "DequantizeLinear input must be an integer tensor, got {}",
            x.dtype()
        );
        ensure!(
            scale.dtype().is_float(),
            "DequantizeLinear scale must be a float tensor, got {}",
            scale.dtype()
        );
        let out_dt = out_attr.unwrap_or(scale.dtype());
        let map = ParamMap::new(x.shape(), scale.shape(), axis, block)?;
        let sf = as_f32(scale)?;
        let ss = sf.as_slice::<f32>()?;
        let zv = match zp {
            Some(z) => {
                ensure!(
                    z.dtype() == x.dtype(),
                    "zero point type {} differs from input {}",
                    z.dtype(),
                    x.dtype()
                );
                ensure!(
                    z.len() == scale.len(),
                    "zero point has {} values, scale has {}",
                    z.len(),
                    scale.len()
                );
                z.to_i64_vec()?
            }
            None => vec![0; ss.len()],
        };
        let xv = x.to_i64_vec()?;
        let out: Vec<f32> = xv
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let j = map.index(i);
                (v - zv[j]) as f32 * ss[j]
            })
            .collect();
        let t = Tensor::new(x.shape().to_vec(), out)?;
        Ok(vec![Value::Tensor(from_f32(t, out_dt)?)])
    }))
}

pub(crate) fn build_dynamic_quantize(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        ensure!(
            x.dtype() == DType::F32,
            "DynamicQuantizeLinear expects float, got {}",
            x.dtype()
        );
        let xs = x.as_slice::<f32>()?;
        let maxx = xs.iter().fold(0f32, |a, &b| a.max(b));
        let minx = xs.iter().fold(0f32, |a, &b| a.min(b));
        let scale = if maxx == minx { 1.0 } else { maxx - minx } / 255.0;
        let zp = round_even((0.0 - minx / scale).clamp(0.0, 255.0));
        let y: Vec<u8> = xs
            .iter()
            .map(|&v| (round_even(v / scale) + zp).clamp(0.0, 255.0) as u8)
            .collect();
        Ok(vec![
            Value::Tensor(Tensor::new(x.shape().to_vec(), y)?),
            Value::Tensor(Tensor::scalar(scale)),
            Value::Tensor(Tensor::scalar(zp as u8)),
        ])
    }))
}

/// Exact integer GEMM: `c[m x n] = a[m x k] * b[k x n]` (wrapping i32).
pub(crate) fn igemm(m: usize, n: usize, k: usize, a: &[i32], b: &[i32], c: &mut [i32]) {
    if n == 0 {
        return;
    }
    crate::par::for_each_chunk_mut(&mut c[..m * n], n, n * k, |i, crow| {
        crow.fill(0);
        for p in 0..k {
            let av = a[i * k + p];
            if av == 0 {
                continue;
            }
            let brow = &b[p * n..(p + 1) * n];
            crow.iter_mut()
                .zip(brow)
                .for_each(|(c, &bv)| *c = c.wrapping_add(av.wrapping_mul(bv)));
        }
    });
}

/// Integer tensor values as i32.
fn to_i32(t: &Tensor) -> Result<Vec<i32>> {
    ensure!(
        t.dtype().is_int(),
        "expected an integer tensor, got {}",
        t.dtype()
    );
    Ok(t.to_i64_vec()?.into_iter().map(|v| v as i32).collect())
}

/// Zero point values: `None` gives zeros; a tensor must have 1 or `count` values.
fn zero_points(z: Option<&Tensor>, count: usize, what: &str) -> Result<Vec<i32>> {
    match z {
        None => Ok(vec![0; count.max(1)]),
        Some(z) => {
            let v = to_i32(z)?;
            ensure!(
                v.len() == 1 || v.len() == count,
                "{} has {} values, expected 1 or {}",
                what,
                v.len(),
                count
            );
            Ok(v)
        }
    }
}

#[inline]
fn pick<T: Copy>(v: &[T], i: usize) -> T {
    if v.len() == 1 {
        v[0]
    } else {
        v[i]
    }
}

/// Batched integer matmul with per-row A and per-column B zero points.
fn qmatmul(
    a: &Tensor,
    b: &Tensor,
    a_zp: Option<&Tensor>,
    b_zp: Option<&Tensor>,
) -> Result<(MatMulShape, Vec<i32>)> {
    let s = MatMulShape::new(a.shape(), b.shape())?;
    let (m, n, k) = (s.m, s.n, s.k);
    let azp = zero_points(a_zp, m, "a_zero_point")?;
    let bzp = zero_points(b_zp, n, "b_zero_point")?;
    let mut av = to_i32(a)?;
    let mut bv = to_i32(b)?;
    if m * k > 0 {
        for (idx, v) in av.iter_mut().enumerate() {
            *v = v.wrapping_sub(pick(&azp, (idx / k) % m));
        }
    }
    if n > 0 {
        for (idx, v) in bv.iter_mut().enumerate() {
            *v = v.wrapping_sub(pick(&bzp, idx % n));
        }
    }
    let out_len = checked_len(&s.out_shape)?;
    let mut y = vec![0i32; out_len];
    let (mk, kn, mn) = (m * k, k * n, m * n);
    if mn > 0 {
        for (bi, yc) in y.chunks_mut(mn).enumerate() {
            let (ai, bj) = s.operands(bi);
            igemm(
                m,
                n,
                k,
                &av[ai * mk..(ai + 1) * mk],
                &bv[bj * kn..(bj + 1) * kn],
                yc,
            );
        }
    }
    Ok((s, y))
}

pub(crate) fn build_matmul_integer(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let (s, y) = qmatmul(
            inputs.tensor(0)?,
            inputs.tensor(1)?,
            inputs.opt_tensor(2)?,
            inputs.opt_tensor(3)?,
        )?;
        Ok(vec![Value::Tensor(Tensor::new(s.out_shape, y)?)])
    }))
}

/// Scale values as f32, rounded through the scale's own type for the combined
/// multiplier (as the reference computes `a_scale * b_scale / y_scale` in that type).
fn scales(t: &Tensor) -> Result<Vec<f32>> {
    ensure!(
        t.dtype().is_float(),
        "scale must be a float tensor, got {}",
        t.dtype()
    );
    Ok(as_f32(t)?.as_slice::<f32>()?.to_vec())
}

fn round_to(dt: DType, v: f32) -> f32 {
    match dt {
        DType::F16 => half::f16::from_f32(v).to_f32(),
        DType::BF16 => half::bf16::from_f32(v).to_f32(),
        _ => v,
    }
}

pub(crate) fn build_qlinear_matmul(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let a = inputs.tensor(0)?;
        let a_s = inputs.tensor(1)?;
        let b = inputs.tensor(3)?;
        let b_s = inputs.tensor(4)?;
        let y_s = inputs.tensor(6)?;
        let y_zp = inputs.opt_tensor(7)?;
        let (s, acc) = qmatmul(a, b, inputs.opt_tensor(2)?, inputs.opt_tensor(5)?)?;
        let (m, n) = (s.m, s.n);
        let (asv, bsv, ysv) = (scales(a_s)?, scales(b_s)?, scales(y_s)?);
        ensure!(
            asv.len() == 1 || asv.len() == m,
            "a_scale has {} values",
            asv.len()
        );
        ensure!(
            bsv.len() == 1 || bsv.len() == n,
            "b_scale has {} values",
            bsv.len()
        );
        ensure!(ysv.len() == 1, "y_scale must have one value");
        let out_dt = y_zp.map_or(a.dtype(), |z| z.dtype());
        let (lo, hi) = qrange(out_dt)?;
        let yz = y_zp.map_or(Ok(vec![0]), to_i32)?;
        ensure!(yz.len() == 1, "y_zero_point must have one value");
        let sdt = a_s.dtype();
        let out: Vec<i64> = acc
            .iter()
            .enumerate()
            .map(|(idx, &c)| {
                let (i, j) = (
                    idx.checked_div(n).map_or(0, |q| q % m.max(1)),
                    idx.checked_rem(n).unwrap_or(0),
                );
                let mult = round_to(sdt, round_to(sdt, pick(&asv, i) * pick(&bsv, j)) / ysv[0]);
                let v = (c as f64 * mult as f64).round_ties_even() + yz[0] as f64;
                v.clamp(lo as f64, hi as f64) as i64
            })
            .collect();
        Ok(vec![Value::Tensor(int_tensor(s.out_shape, out, out_dt)?)])
    }))
}

/// Integer convolution (zero points already subtracted): `x` `[N, C, in...]`,
/// `w` `[M, C/g, k...]`. Returns the output shape and i32 sums.
fn conv_i32(
    x: &[i32],
    x_shape: &[usize],
    w: &[i32],
    w_shape: &[usize],
    p: &ConvParams,
) -> Result<(Vec<usize>, Vec<i32>)> {
    ensure!(
        x_shape.len() >= 3 && w_shape.len() == x_shape.len(),
        "conv shapes {:?} and {:?} do not match",
        x_shape,
        w_shape
    );
    let (n, c, m) = (x_shape[0], x_shape[1], w_shape[0]);
    let group = p.group as usize;
    ensure!(
        c.is_multiple_of(group) && m.is_multiple_of(group) && w_shape[1] * group == c,
        "conv channels do not match: input {:?}, weights {:?}, group {}",
        x_shape,
        w_shape,
        group
    );
    let geom = conv_geom(p, &x_shape[2..], w_shape)?;
    let g2 = geom.promoted();
    let mut out_shape = vec![n, m];
    out_shape.extend_from_slice(&geom.output);
    let mut y = vec![0i32; checked_len(&out_shape)?];
    let (cg, mg) = (c / group, m / group);
    let (ks, is, os) = (geom.kernel_size(), geom.in_size(), geom.out_size());
    let kdim = cg * ks;
    let mut col = vec![0i32; kdim * os];
    if y.is_empty() {
        return Ok((out_shape, y));
    }
    for img in 0..n {
        for gi in 0..group {
            let xg = &x[(img * c + gi * cg) * is..(img * c + (gi + 1) * cg) * is];
            im2col(xg, cg, &g2, &mut col);
            let wg = &w[gi * mg * kdim..(gi + 1) * mg * kdim];
            let yg = &mut y[(img * m + gi * mg) * os..(img * m + (gi + 1) * mg) * os];
            igemm(mg, os, kdim, wg, &col, yg);
        }
    }
    Ok((out_shape, y))
}

/// Zero-point-adjusted input and weights of an integer conv.
fn conv_operands(
    x: &Tensor,
    w: &Tensor,
    x_zp: Option<&Tensor>,
    w_zp: Option<&Tensor>,
) -> Result<(Vec<i32>, Vec<i32>)> {
    let xz = zero_points(x_zp, 1, "x_zero_point")?;
    let m = w.shape().first().copied().unwrap_or(0);
    let wz = zero_points(w_zp, m, "w_zero_point")?;
    let xv: Vec<i32> = to_i32(x)?
        .into_iter()
        .map(|v| v.wrapping_sub(xz[0]))
        .collect();
    let per = w.len().checked_div(m).unwrap_or(1).max(1);
    let wv: Vec<i32> = to_i32(w)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| v.wrapping_sub(pick(&wz, i / per)))
        .collect();
    Ok((xv, wv))
}

pub(crate) fn build_conv_integer(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let p = ConvParams::from_node(n)?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let w = inputs.tensor(1)?;
        let (xv, wv) = conv_operands(x, w, inputs.opt_tensor(2)?, inputs.opt_tensor(3)?)?;
        let (shape, y) = conv_i32(&xv, x.shape(), &wv, w.shape(), &p)?;
        Ok(vec![Value::Tensor(Tensor::new(shape, y)?)])
    }))
}

pub(crate) fn build_qlinear_conv(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let p = ConvParams::from_node(n)?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let xs = scales(inputs.tensor(1)?)?;
        let w = inputs.tensor(3)?;
        let ws = scales(inputs.tensor(4)?)?;
        let ys = scales(inputs.tensor(6)?)?;
        let y_zp = inputs.opt_tensor(7)?;
        let bias = match inputs.opt_tensor(8)? {
            Some(b) => Some(to_i32(b)?),
            None => None,
        };
        ensure!(
            xs.len() == 1 && ys.len() == 1,
            "x_scale and y_scale must have one value"
        );
        let (xv, wv) = conv_operands(x, w, inputs.opt_tensor(2)?, inputs.opt_tensor(5)?)?;
        let (shape, acc) = conv_i32(&xv, x.shape(), &wv, w.shape(), &p)?;
        let m = shape[1];
        ensure!(
            ws.len() == 1 || ws.len() == m,
            "w_scale has {} values, expected 1 or {}",
            ws.len(),
            m
        );
        if let Some(b) = &bias {
            ensure!(b.len() == m, "bias has {} values, expected {}", b.len(), m);
        }
        let out_dt = y_zp.map_or(x.dtype(), |z| z.dtype());
        let (lo, hi) = qrange(out_dt)?;
        let yz = y_zp.map_or(Ok(vec![0]), to_i32)?;
        ensure!(yz.len() == 1, "y_zero_point must have one value");
        let os: usize = shape[2..].iter().product();
        let out: Vec<i64> = acc
            .iter()
            .enumerate()
            .map(|(idx, &c)| {
                let ch = idx.checked_div(os).map_or(0, |q| q % m);
                let c = c.wrapping_add(bias.as_ref().map_or(0, |b| b[ch]));
                let mult = xs[0] as f64 * pick(&ws, ch) as f64 / ys[0] as f64;
                let v = (c as f64 * mult + yz[0] as f64).clamp(lo as f64, hi as f64);
                v.round_ties_even() as i64
            })
            .collect();
        Ok(vec![Value::Tensor(int_tensor(shape, out, out_dt)?)])
    }))
}
