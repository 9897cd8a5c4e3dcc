//! Pooling: one window framework shared by MaxPool, AveragePool and LpPool, plus the
//! global pools, MaxUnpool and MaxRoiPool.
//!
//! Spatial ranks 1 to 3 are normalised to 3 (leading dimensions of size 1), so one
//! triple loop visits every window. Per dimension and output position a table gives
//! the first valid input position and the number of valid taps, so the inner loops
//! never test bounds.

use super::common::{attr_usizes, nc_spatial, numel, to_usize, with_real, Real};
use crate::par::for_each_chunk_mut;
use runnx_ir::dtype::Number;
use runnx_ir::{
    bail, dispatch_number, ensure, kernel, Error, Inputs, Kernel, NodeCtx, Result, Tensor, Value,
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AutoPad {
    NotSet,
    SameUpper,
    SameLower,
    Valid,
}

impl AutoPad {
    pub fn parse(s: &str) -> Result<AutoPad> {
        Ok(match s {
            "NOTSET" | "" => AutoPad::NotSet,
            "SAME_UPPER" => AutoPad::SameUpper,
            "SAME_LOWER" => AutoPad::SameLower,
            "VALID" => AutoPad::Valid,
            other => bail!("unknown auto_pad '{}'", other),
        })
    }
}

/// Window attributes as written on the node.
#[derive(Clone, Debug)]
pub struct PoolAttrs {
    pub kernel: Vec<usize>,
    pub strides: Option<Vec<usize>>,
    pub dilations: Option<Vec<usize>>,
    pub pads: Option<Vec<usize>>,
    pub auto_pad: AutoPad,
    pub ceil_mode: bool,
}

impl PoolAttrs {
    pub fn parse(n: &NodeCtx) -> Result<PoolAttrs> {
        let kernel = n.require("kernel_shape", attr_usizes(n, "kernel_shape", 1))?;
        ensure!(!kernel.is_empty(), "kernel_shape must not be empty");
        let k = kernel.len();
        let strides = attr_usizes(n, "strides", 1)?;
        let dilations = attr_usizes(n, "dilations", 1)?;
        let pads = attr_usizes(n, "pads", 0)?;
        if let Some(s) = &strides {
            ensure!(
                s.len() == k,
                "strides {:?} do not match kernel_shape {:?}",
                s,
                kernel
            );
        }
        if let Some(d) = &dilations {
            ensure!(
                d.len() == k,
                "dilations {:?} do not match kernel_shape {:?}",
                d,
                kernel
            );
        }
        if let Some(p) = &pads {
            ensure!(
                p.len() == 2 * k,
                "pads {:?} do not match kernel_shape {:?}",
                p,
                kernel
            );
        }
        let auto_pad = AutoPad::parse(&n.attr_str("auto_pad", "NOTSET")?)?;
        let ceil_mode = n.attr_int("ceil_mode", 0)? != 0;
        Ok(PoolAttrs {
            kernel,
            strides,
            dilations,
            pads,
            auto_pad,
            ceil_mode,
        })
    }
}

/// Taps of one spatial dimension: for each output position, the first valid input
/// position, the number of valid taps and the number of taps inside the padded input.
#[derive(Clone, Debug, Default)]
pub struct DimTaps {
    pub start: Vec<usize>,
    pub valid: Vec<usize>,
    pub padded: Vec<usize>,
    pub dilation: usize,
    pub stride: usize,
    /// Per kernel tap (in order) that reads the input for some output: the output
    /// range `lo..hi` it is valid for, and the input position it reads for `lo`.
    pub runs: Vec<(usize, usize, usize)>,
}

impl DimTaps {
    /// The identity dimension used to fill ranks below 3.
    fn unit() -> DimTaps {
        DimTaps {
            start: vec![0],
            valid: vec![1],
            padded: vec![1],
            dilation: 1,
            stride: 1,
            runs: vec![(0, 1, 0)],
        }
    }
}

/// The output size and begin/end pads of one dimension.
pub fn dim_output(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    pads: (usize, usize),
    auto_pad: AutoPad,
    ceil_mode: bool,
) -> Result<(usize, usize, usize)> {
    ensure!(
        kernel >= 1 && stride >= 1 && dilation >= 1,
        "kernel, strides and dilations must be positive"
    );
    let span = (kernel - 1)
        .checked_mul(dilation)
        .and_then(|v| v.checked_add(1))
        .ok_or_else(|| Error::invalid("pooling window too large"))?;
    match auto_pad {
        AutoPad::SameUpper | AutoPad::SameLower => {
            let out = input.div_ceil(stride);
            let need = out
                .saturating_sub(1)
                .saturating_mul(stride)
                .saturating_add(span);
            let total = need.saturating_sub(input);
            let (b, e) = if auto_pad == AutoPad::SameUpper {
                (total / 2, total - total / 2)
            } else {
                (total - total / 2, total / 2)
            };
            Ok((out, b, e))
        }
        AutoPad::Valid => {
            ensure!(
                input >= span,
                "pooling window {} is larger than the input {}",
                span,
                input
            );
            Ok(((input - span) / stride + 1, 0, 0))
        }
        AutoPad::NotSet => {
            let total = input
                .checked_add(pads.0)
                .and_then(|v| v.checked_add(pads.1))
                .ok_or_else(|| Error::invalid("pads too large"))?;
            ensure!(
                total >= span,
                "pooling window {} is larger than the padded input {}",
                span,
                total
            );
            let mut out = if ceil_mode {
                (total - span).div_ceil(stride) + 1
            } else {
                (total - span) / stride + 1
            };
            // The last window must start inside the input or the begin padding.
            if ceil_mode && out > 1 && (out - 1) * stride >= input + pads.0 {
                out -= 1;
            }
            Ok((out, pads.0, pads.1))
        }
    }
}

/// Everything a window loop needs, normalised to 3 spatial dimensions.
#[derive(Clone, Debug)]
pub struct Geometry {
    pub n: usize,
    pub c: usize,
    pub spatial_rank: usize,
    pub input: [usize; 3],
    pub output: [usize; 3],
    pub taps: [DimTaps; 3],
}

impl Geometry {
    pub fn new(a: &PoolAttrs, shape: &[usize]) -> Result<Geometry> {
        let (n, c, sp) = nc_spatial(shape, 3, "pooling")?;
        let k = a.kernel.len();
        ensure!(
            sp.len() == k,
            "kernel_shape {:?} does not match input shape {:?}",
            a.kernel,
            shape
        );
        ensure!(
            k <= 3,
            "pooling over {} spatial dimensions is not supported",
            k
        );
        let mut input = [1usize; 3];
        let mut output = [1usize; 3];
        let mut taps = [DimTaps::unit(), DimTaps::unit(), DimTaps::unit()];
        for d in 0..k {
            let stride = a.strides.as_ref().map_or(1, |s| s[d]);
            let dil = a.dilations.as_ref().map_or(1, |s| s[d]);
            let pads = a.pads.as_ref().map_or((0, 0), |p| (p[d], p[d + k]));
            let kern = a.kernel[d];
            let (out, pb, pe) =
                dim_output(sp[d], kern, stride, dil, pads, a.auto_pad, a.ceil_mode)?;
            let slot = 3 - k + d;
            input[slot] = sp[d];
            output[slot] = out;
            let mut t = DimTaps {
                start: Vec::with_capacity(out),
                valid: Vec::with_capacity(out),
                padded: Vec::with_capacity(out),
                dilation: dil,
                stride,
                runs: Vec::new(),
            };
            let (inp, pb, pe, stride, dil, kern) = (
                sp[d] as i128,
                pb as i128,
                pe as i128,
                stride as i128,
                dil as i128,
                kern as i128,
            );
            for o in 0..out as i128 {
                let b = o * stride - pb;
                // First tap at or after 0, last tap before the input end.
                let k0 = if b >= 0 { 0 } else { (-b + dil - 1) / dil };
                let k1 = if inp - 1 - b < 0 {
                    -1
                } else {
                    ((inp - 1 - b) / dil).min(kern - 1)
                };
                let valid = (k1 - k0 + 1).max(0);
                let kp = if inp + pe - 1 - b < 0 {
                    -1
                } else {
                    ((inp + pe - 1 - b) / dil).min(kern - 1)
                };
                let padded = (kp + 1).max(0);
                t.start.push(if valid > 0 {
                    (b + k0 * dil) as usize
                } else {
                    0
                });
                t.valid.push(valid as usize);
                t.padded.push(padded as usize);
            }
            // Kernel taps that read the input for some output position.
            let out_i = out as i128;
            if out_i > 0 {
                let k_lo = (pb - (out_i - 1) * stride).max(0);
                let k_lo = (k_lo + dil - 1) / dil;
                let k_hi = ((inp - 1 + pb).div_euclid(dil)).min(kern - 1);
                for kc in k_lo..=k_hi {
                    let off = kc * dil - pb;
                    let lo = (-off).max(0);
                    let lo = (lo + stride - 1) / stride;
                    let hi = ((inp - 1 - off).div_euclid(stride) + 1).min(out_i);
                    if lo < hi {
                        t.runs
                            .push((lo as usize, hi as usize, (lo * stride + off) as usize));
                    }
                }
            }
            taps[slot] = t;
        }
        Ok(Geometry {
            n,
            c,
            spatial_rank: k,
            input,
            output,
            taps,
        })
    }

    pub fn in_plane(&self) -> usize {
        self.input.iter().product()
    }

    pub fn out_plane(&self) -> usize {
        self.output.iter().product()
    }

    pub fn out_shape(&self) -> Vec<usize> {
        let mut s = vec![self.n, self.c];
        s.extend_from_slice(&self.output[3 - self.spatial_rank..]);
        s
    }

    /// Taps per window, for cost estimates.
    fn window_cost(&self) -> usize {
        self.taps
            .iter()
            .map(|t| t.valid.iter().copied().max().unwrap_or(1))
            .product::<usize>()
            .max(1)
    }
}

/// What a window reduces to.
pub trait Reducer<T: Copy>: Sync {
    type Acc: Copy;
    type Out: Copy + Send;
    fn init(&self) -> Self::Acc;
    fn add(&self, acc: Self::Acc, v: T, pos: usize) -> Self::Acc;
    fn finish(&self, acc: Self::Acc, valid: usize, padded: usize) -> Self::Out;
}

/// Reduce every window of one (n, c) plane into `out`.
///
/// Per output row, each kernel tap of the last dimension updates the contiguous range
/// of output columns it is valid for, so the inner loop runs along the row.
#[inline]
pub fn pool_plane<T: Copy, R: Reducer<T>>(x: &[T], out: &mut [R::Out], g: &Geometry, r: &R) {
    let [_, h, w] = g.input;
    let ow = g.output[2];
    let [t0, t1, t2] = &g.taps;
    let (d0, d1, s2) = (t0.dilation, t1.dilation, t2.stride);
    let zip = |t: &DimTaps| -> Vec<(usize, usize, usize)> {
        t.start
            .iter()
            .zip(&t.valid)
            .zip(&t.padded)
            .map(|((&s, &n), &p)| (s, n, p))
            .collect()
    };
    let (z0, z1) = (zip(t0), zip(t1));
    let mut acc = vec![r.init(); ow];
    let mut rows = out.chunks_exact_mut(ow.max(1));
    for &(sa, na, pa) in &z0 {
        for &(sb, nb, pb) in &z1 {
            let Some(out_row) = rows.next() else { return };
            acc.fill(r.init());
            for ka in 0..na {
                let plane_row = (sa + ka * d0) * h;
                for kb in 0..nb {
                    let row = (plane_row + sb + kb * d1) * w;
                    let xr = &x[row..row + w];
                    for &(lo, hi, first) in &t2.runs {
                        let run = &mut acc[lo..hi];
                        let mut pos = row + first;
                        if s2 == 1 {
                            for (a, &v) in run.iter_mut().zip(&xr[first..first + (hi - lo)]) {
                                *a = r.add(*a, v, pos);
                                pos += 1;
                            }
                        } else {
                            for (a, v) in run.iter_mut().zip(xr[first..].chunks(s2)) {
                                if let Some(&v) = v.first() {
                                    *a = r.add(*a, v, pos);
                                }
                                pos += s2;
                            }
                        }
                    }
                }
            }
            let (n_ab, p_ab) = (na * nb, pa * pb);
            for (((o, &a), &nc), &pc) in out_row.iter_mut().zip(&acc).zip(&t2.valid).zip(&t2.padded)
            {
                *o = r.finish(a, n_ab * nc, p_ab * pc);
            }
        }
    }
}

/// Run a reducer over all planes, in parallel over N*C.
pub fn pool_all<T: Copy + Sync, R: Reducer<T>>(
    x: &[T],
    g: &Geometry,
    r: &R,
    fill: R::Out,
) -> Result<Vec<R::Out>> {
    let in_plane = g.in_plane();
    let out_plane = g.out_plane();
    let planes =
        g.n.checked_mul(g.c)
            .ok_or_else(|| Error::invalid("too many channels"))?;
    let total = planes
        .checked_mul(out_plane)
        .ok_or_else(|| Error::invalid("output too large"))?;
    ensure!(
        x.len() == planes * in_plane,
        "input has {} elements, expected {}",
        x.len(),
        planes * in_plane
    );
    let mut out = vec![fill; total];
    if out_plane == 0 || in_plane == 0 {
        return Ok(out);
    }
    let cost = out_plane.saturating_mul(g.window_cost());
    for_each_chunk_mut(&mut out, out_plane, cost, |i, chunk| {
        pool_plane(&x[i * in_plane..(i + 1) * in_plane], chunk, g, r);
    });
    Ok(out)
}

// ---------------------------------------------------------------- MaxPool

/// Max over the window, starting from the type's lowest value (NaN never wins).
struct MaxR<T> {
    lowest: T,
}
impl<T: Number> Reducer<T> for MaxR<T> {
    type Acc = T;
    type Out = T;
    #[inline(always)]
    fn init(&self) -> T {
        self.lowest
    }
    #[inline(always)]
    fn add(&self, m: T, v: T, _pos: usize) -> T {
        if v > m {
            v
        } else {
            m
        }
    }
    #[inline(always)]
    fn finish(&self, m: T, valid: usize, _: usize) -> T {
        if valid == 0 {
            T::zero()
        } else {
            m
        }
    }
}

/// Max and the position of its first occurrence.
struct ArgMaxR<T> {
    lowest: T,
}
impl<T: Number> Reducer<T> for ArgMaxR<T> {
    type Acc = (T, usize);
    type Out = (T, i64);
    #[inline(always)]
    fn init(&self) -> (T, usize) {
        (self.lowest, usize::MAX)
    }
    #[inline(always)]
    fn add(&self, (m, p): (T, usize), v: T, pos: usize) -> (T, usize) {
        if v > m || p == usize::MAX {
            (v, pos)
        } else {
            (m, p)
        }
    }
    #[inline(always)]
    fn finish(&self, (m, p): (T, usize), _: usize, _: usize) -> (T, i64) {
        if p == usize::MAX {
            (T::zero(), -1)
        } else {
            (m, p as i64)
        }
    }
}

fn max_pool(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let attrs = PoolAttrs::parse(n)?;
    let storage_order = n.attr_int("storage_order", 0)?;
    ensure!(
        storage_order == 0 || storage_order == 1,
        "storage_order must be 0 or 1, got {}",
        storage_order
    );
    let want_indices = n.output_count() > 1 && n.node.outputs.get(1).is_some_and(|s| !s.is_empty());
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let g = Geometry::new(&attrs, x.shape())?;
        let shape = g.out_shape();
        ensure!(
            x.dtype().is_numeric(),
            "MaxPool expects a numeric tensor, got {}",
            x.dtype()
        );
        if !want_indices {
            let y = dispatch_number!(x.dtype(), T => {
                let v = pool_all(x.as_slice::<T>()?, &g, &MaxR { lowest: T::from_f64(f64::NEG_INFINITY) }, T::zero())?;
                Tensor::new(shape.clone(), v)
            })?;
            return Ok(vec![Value::Tensor(y)]);
        }
        let (y, idx) = dispatch_number!(x.dtype(), T => {
            let v = pool_all(x.as_slice::<T>()?, &g, &ArgMaxR { lowest: T::from_f64(f64::NEG_INFINITY) }, (T::zero(), -1))?;
            let out_plane = g.out_plane().max(1);
            let in_plane = g.in_plane() as i64;
            let [dd, hh, ww] = g.input;
            let mut vals = Vec::with_capacity(v.len());
            let mut idx = Vec::with_capacity(v.len());
            for (i, (m, p)) in v.into_iter().enumerate() {
                vals.push(m);
                let plane = (i / out_plane) as i64 * in_plane;
                idx.push(if p < 0 {
                    -1
                } else if storage_order == 0 {
                    plane + p
                } else {
                    // Column-major position within the plane.
                    let p = p as usize;
                    let (i2, i1, i0) = (p % ww, (p / ww) % hh, p / (ww * hh));
                    plane + (i0 + i1 * dd + i2 * dd * hh) as i64
                });
            }
            Ok((Tensor::new(shape.clone(), vals)?, Tensor::new(shape.clone(), idx)?))
        })?;
        Ok(vec![Value::Tensor(y), Value::Tensor(idx)])
    }))
}

// ---------------------------------------------------------------- AveragePool / LpPool

struct AvgR {
    include_pad: bool,
}
impl<R: Real> Reducer<R> for AvgR {
    type Acc = R;
    type Out = R;
    #[inline(always)]
    fn init(&self) -> R {
        R::c(0.0)
    }
    #[inline(always)]
    fn add(&self, acc: R, v: R, _: usize) -> R {
        acc + v
    }
    #[inline(always)]
    fn finish(&self, acc: R, valid: usize, padded: usize) -> R {
        let n = if self.include_pad { padded } else { valid };
        if n == 0 {
            R::c(0.0)
        } else {
            acc / R::c(n as f64)
        }
    }
}

struct LpR<R> {
    p: R,
}
impl<R: Real> Reducer<R> for LpR<R> {
    type Acc = R;
    type Out = R;
    #[inline(always)]
    fn init(&self) -> R {
        R::c(0.0)
    }
    #[inline(always)]
    fn add(&self, acc: R, v: R, _: usize) -> R {
        let a = v.abs();
        acc + if self.p == R::c(2.0) {
            a * a
        } else if self.p == R::c(1.0) {
            a
        } else {
            a.powf(self.p)
        }
    }
    #[inline(always)]
    fn finish(&self, acc: R, _: usize, _: usize) -> R {
        acc.powf(R::c(1.0) / self.p)
    }
}

fn real_pool<R: Real, Red: Reducer<R, Out = R>>(
    x: &Tensor,
    g: &Geometry,
    r: &Red,
) -> Result<Tensor> {
    let v = pool_all(x.as_slice::<R>()?, g, r, R::c(0.0))?;
    Tensor::new(g.out_shape(), v)
}

fn average_pool(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let attrs = PoolAttrs::parse(n)?;
    let include_pad = n.attr_int("count_include_pad", 0)? != 0;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let g = Geometry::new(&attrs, x.shape())?;
        let r = AvgR { include_pad };
        let y = with_real(
            x,
            |t| real_pool::<f32, _>(t, &g, &r),
            |t| real_pool::<f64, _>(t, &g, &r),
        )?;
        Ok(vec![Value::Tensor(y)])
    }))
}

fn lp_pool(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let attrs = PoolAttrs::parse(n)?;
    let p = lp_p(n)?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let g = Geometry::new(&attrs, x.shape())?;
        let y = with_real(
            x,
            |t| real_pool::<f32, _>(t, &g, &LpR { p: p as f32 }),
            |t| real_pool::<f64, _>(t, &g, &LpR { p: p as f64 }),
        )?;
        Ok(vec![Value::Tensor(y)])
    }))
}

fn lp_p(n: &NodeCtx) -> Result<f64> {
    // Opset 1 had a float `p`; later opsets an int.
    let p = match n.node.attr("p") {
        Some(runnx_ir::Attribute::Float(f)) => *f as f64,
        _ => n.attr_int("p", 2)? as f64,
    };
    ensure!(p > 0.0 && p.is_finite(), "p must be positive, got {}", p);
    Ok(p)
}

// ---------------------------------------------------------------- Global pools

#[derive(Clone, Copy)]
enum Global {
    Avg,
    Max,
    Lp(f64),
}

fn global_planes<T: Copy + Send + Sync, O: Copy + Send>(
    x: &[T],
    shape: &[usize],
    fill: O,
    f: impl Fn(&[T]) -> O + Send + Sync,
) -> Result<(Vec<O>, Vec<usize>)> {
    let (n, c, sp) = nc_spatial(shape, 2, "global pooling")?;
    let plane = numel(&sp)?;
    let planes = n
        .checked_mul(c)
        .ok_or_else(|| Error::invalid("too many channels"))?;
    let mut out = vec![fill; planes];
    let mut out_shape = vec![n, c];
    out_shape.extend(std::iter::repeat_n(1, sp.len()));
    if plane > 0 {
        // Chunks of several channels so small planes still split well.
        let per = (crate::par::MIN_PARALLEL_WORK / plane.max(1)).clamp(1, 64);
        for_each_chunk_mut(&mut out, per, per.saturating_mul(plane), |i, chunk| {
            for (j, o) in chunk.iter_mut().enumerate() {
                let p = i * per + j;
                *o = f(&x[p * plane..(p + 1) * plane]);
            }
        });
    }
    Ok((out, out_shape))
}

fn global_real<R: Real>(x: &Tensor, kind: Global) -> Result<Tensor> {
    let xs = x.as_slice::<R>()?;
    let (v, shape) = match kind {
        Global::Avg => global_planes(xs, x.shape(), R::c(0.0), |p| {
            // Eight partial sums for speed and accuracy.
            let mut acc = [R::c(0.0); 8];
            let chunks = p.chunks_exact(8);
            let rest = chunks.remainder();
            for c in chunks {
                for k in 0..8 {
                    acc[k] = acc[k] + c[k];
                }
            }
            let s = acc.iter().copied().sum::<R>() + rest.iter().copied().sum::<R>();
            s / R::c(p.len() as f64)
        })?,
        Global::Lp(pw) => {
            let pw = R::c(pw);
            global_planes(xs, x.shape(), R::c(0.0), |p| {
                let s: R = p.iter().map(|v| v.abs().powf(pw)).sum();
                s.powf(R::c(1.0) / pw)
            })?
        }
        Global::Max => bail!("internal: GlobalMaxPool is not a float reduction"),
    };
    Tensor::new(shape, v)
}

fn global_pool(kind: Global) -> impl Fn(&Inputs) -> Result<Vec<Value>> + Send + Sync {
    move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let y = match kind {
            Global::Max => {
                ensure!(
                    x.dtype().is_numeric(),
                    "GlobalMaxPool expects a numeric tensor, got {}",
                    x.dtype()
                );
                dispatch_number!(x.dtype(), T => {
                    let (v, shape) = global_planes(x.as_slice::<T>()?, x.shape(), T::zero(), plane_max::<T>)?;
                    Tensor::new(shape, v)
                })?
            }
            _ => with_real(
                x,
                |t| global_real::<f32>(t, kind),
                |t| global_real::<f64>(t, kind),
            )?,
        };
        Ok(vec![Value::Tensor(y)])
    }
}

fn plane_max<T: Number>(p: &[T]) -> T {
    let mut it = p.iter().copied();
    let first = it.next().unwrap_or_else(T::zero);
    it.fold(first, |m, v| if v > m { v } else { m })
}

fn global_average_pool(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(global_pool(Global::Avg)))
}

fn global_max_pool(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(global_pool(Global::Max)))
}

fn global_lp_pool(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(global_pool(Global::Lp(lp_p(n)?))))
}

// ---------------------------------------------------------------- MaxUnpool

fn max_unpool(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let kernel_shape = n.require("kernel_shape", attr_usizes(n, "kernel_shape", 1))?;
    let k = kernel_shape.len();
    let strides = attr_usizes(n, "strides", 1)?.unwrap_or_else(|| vec![1; k]);
    let pads = attr_usizes(n, "pads", 0)?.unwrap_or_else(|| vec![0; 2 * k]);
    ensure!(
        strides.len() == k && pads.len() == 2 * k,
        "strides/pads do not match kernel_shape"
    );
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let idx = inputs.tensor(1)?.to_i64_vec()?;
        let (nn, c, sp) = nc_spatial(x.shape(), 3, "MaxUnpool")?;
        ensure!(
            sp.len() == k,
            "kernel_shape {:?} does not match input shape {:?}",
            kernel_shape,
            x.shape()
        );
        ensure!(
            idx.len() == x.len(),
            "indices have {} elements, X has {}",
            idx.len(),
            x.len()
        );
        let mut inferred = vec![nn, c];
        for d in 0..k {
            let v = (sp[d].saturating_sub(1) as i128) * strides[d] as i128
                + kernel_shape[d] as i128
                - pads[d] as i128
                - pads[d + k] as i128;
            ensure!(
                v >= 0 && v <= usize::MAX as i128,
                "MaxUnpool output size {} is invalid",
                v
            );
            inferred.push(v as usize);
        }
        let out_shape: Vec<usize> = match inputs.opt_tensor(2)? {
            Some(s) => {
                let s = s.to_i64_vec()?;
                ensure!(
                    s.len() == x.rank(),
                    "output_shape {:?} must have rank {}",
                    s,
                    x.rank()
                );
                s.iter()
                    .map(|&v| to_usize(v, "output_shape"))
                    .collect::<Result<_>>()?
            }
            None => inferred.clone(),
        };
        let total = numel(&inferred)?;
        let y = dispatch_number!(x.dtype(), T => {
            // Scatter into the inferred shape, then place it at the origin of the output
            // (as the reference does when output_shape is given).
            let xs = x.as_slice::<T>()?;
            let mut out = vec![T::default(); total];
            for (&i, &v) in idx.iter().zip(xs) {
                ensure!(i >= 0 && (i as u64) < total as u64, "index {} is out of range for output of {} elements", i, total);
                out[i as usize] = v;
            }
            if out_shape == inferred {
                Tensor::new(out_shape.clone(), out)
            } else {
                Tensor::new(out_shape.clone(), place_at_origin(&out, &inferred, &out_shape)?)
            }
        })?;
        Ok(vec![Value::Tensor(y)])
    }))
}

/// Copy `src` (of `from` shape) into a zero tensor of shape `to`, aligned at the origin.
fn place_at_origin<T: Copy + Default>(src: &[T], from: &[usize], to: &[usize]) -> Result<Vec<T>> {
    let mut out = vec![T::default(); numel(to)?];
    let r = from.len();
    if r == 0 || src.is_empty() || out.is_empty() {
        return Ok(out);
    }
    let common: Vec<usize> = from.iter().zip(to).map(|(&a, &b)| a.min(b)).collect();
    let row = common[r - 1];
    let rows: usize = common[..r - 1].iter().product();
    let (fs, ts) = (
        crate::ops::util::strides(from),
        crate::ops::util::strides(to),
    );
    for ri in 0..rows {
        let (mut rem, mut fo, mut to_off) = (ri, 0, 0);
        for d in (0..r - 1).rev() {
            let i = rem % common[d];
            rem /= common[d];
            fo += i * fs[d];
            to_off += i * ts[d];
        }
        out[to_off..to_off + row].copy_from_slice(&src[fo..fo + row]);
    }
    Ok(out)
}

// ---------------------------------------------------------------- MaxRoiPool

fn max_roi_pool(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let pooled = n.require("pooled_shape", attr_usizes(n, "pooled_shape", 1))?;
    ensure!(
        pooled.len() == 2,
        "pooled_shape must have 2 values, got {:?}",
        pooled
    );
    let (ph_n, pw_n) = (pooled[0], pooled[1]);
    let scale = n.attr_float("spatial_scale", 1.0)?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let rois = inputs.tensor(1)?;
        ensure!(
            x.rank() == 4,
            "MaxRoiPool expects a 4-D input, got {:?}",
            x.shape()
        );
        ensure!(
            rois.rank() == 2 && rois.shape()[1] == 5,
            "rois must be [num_rois, 5], got {:?}",
            rois.shape()
        );
        let [nb, c, h, w] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
        let r = rois.to_f64_vec()?;
        let num = rois.shape()[0];
        let out_shape = vec![num, c, ph_n, pw_n];
        let y = with_real(
            x,
            |t| roi_pool_real::<f32>(t, &r, num, [nb, c, h, w], ph_n, pw_n, scale, &out_shape),
            |t| roi_pool_real::<f64>(t, &r, num, [nb, c, h, w], ph_n, pw_n, scale, &out_shape),
        )?;
        Ok(vec![Value::Tensor(y)])
    }))
}

#[allow(clippy::too_many_arguments)]
fn roi_pool_real<R: Real>(
    x: &Tensor,
    rois: &[f64],
    num: usize,
    [nb, c, h, w]: [usize; 4],
    ph_n: usize,
    pw_n: usize,
    scale: f32,
    out_shape: &[usize],
) -> Result<Tensor> {
    let xs = x.as_slice::<R>()?;
    let mut out = vec![R::c(0.0); numel(out_shape)?];
    let plane = h * w;
    for i in 0..num {
        let roi = &rois[i * 5..i * 5 + 5];
        let b = roi[0];
        ensure!(
            b >= 0.0 && (b as usize) < nb,
            "roi batch index {} is out of range",
            b
        );
        let b = b as usize;
        // Scaled in single precision like the reference kernels; clamped to the image
        // before converting to indices.
        let sw = (roi[1] as f32 * scale).round() as f64;
        let sh = (roi[2] as f32 * scale).round() as f64;
        let ew = (roi[3] as f32 * scale).round() as f64;
        let eh = (roi[4] as f32 * scale).round() as f64;
        let rh = (eh - sh + 1.0).max(1.0);
        let rw = (ew - sw + 1.0).max(1.0);
        let bh = rh / ph_n as f64;
        let bw = rw / pw_n as f64;
        let clamp = |v: f64, hi: usize| -> usize {
            if v.is_nan() {
                0
            } else {
                v.clamp(0.0, hi as f64) as usize
            }
        };
        for ch in 0..c {
            let xp = &xs[(b * c + ch) * plane..(b * c + ch + 1) * plane];
            let op = (i * c + ch) * ph_n * pw_n;
            for ph in 0..ph_n {
                let hs = clamp((ph as f64 * bh).floor() + sh, h);
                let he = clamp(((ph + 1) as f64 * bh).ceil() + sh, h);
                for pw in 0..pw_n {
                    let ws = clamp((pw as f64 * bw).floor() + sw, w);
                    let we = clamp(((pw + 1) as f64 * bw).ceil() + sw, w);
                    let mut m: Option<R> = None;
                    for yy in hs..he {
                        for &v in &xp[yy * w + ws..yy * w + we] {
                            if m.is_none_or(|m| v > m) {
                                m = Some(v);
                            }
                        }
                    }
                    out[op + ph * pw_n + pw] = m.unwrap_or(R::c(0.0));
                }
            }
        }
    }
    Tensor::new(out_shape.to_vec(), out)
}

pub fn register(r: &mut crate::Registry) {
    r.add("MaxPool", max_pool);
    r.add("AveragePool", average_pool);
    r.add("LpPool", lp_pool);
    r.add("GlobalAveragePool", global_average_pool);
    r.add("GlobalMaxPool", global_max_pool);
    r.add("GlobalLpPool", global_lp_pool);
    r.add("MaxUnpool", max_unpool);
    r.add("MaxRoiPool", max_roi_pool);
}
