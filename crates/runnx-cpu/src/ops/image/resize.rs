//! Resize and Upsample: one separable interpolation framework.
//!
//! Each resized axis gets a plan: for every output position, the input positions it
//! reads (clamped to the input) and their weights, or a flag that it lies outside
//! the crop (tf_crop_and_resize). Nearest mode gathers elements directly in the input
//! type; linear and cubic apply the plans one axis at a time in f32 (f64 for f64 and
//! integer inputs).

use super::common::{from_f64_rounded, numel, to_usize, Real};
use crate::ops::util::axes as norm_axes;
use crate::par::for_each_chunk_mut;
use runnx_ir::dtype::Number;
use runnx_ir::{
    bail, dispatch_number, ensure, kernel, DType, Error, Inputs, Kernel, NodeCtx, Result, Tensor,
    Value,
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Nearest,
    Linear,
    Cubic,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Coord {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    TfCropAndResize,
    /// Opsets 11-12 only.
    TfHalfPixelForNn,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NearestMode {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
    /// Opset < 11: floor when upsampling, ceil when downsampling.
    Simple,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum AspectPolicy {
    Stretch,
    NotLarger,
    NotSmaller,
}

/// Where the output size comes from.
#[derive(Clone, Debug)]
enum ScalesFrom {
    /// Resize-11+: inputs roi (1), scales (2), sizes (3).
    Inputs11,
    /// Resize-10 / Upsample-9: scales is input 1.
    Input1,
    /// Upsample-7: the `scales` attribute.
    Attr(Vec<f32>),
}

#[derive(Clone, Debug)]
struct ResizeAttrs {
    mode: Mode,
    coord: Coord,
    nearest: NearestMode,
    cubic_a: f64,
    exclude_outside: bool,
    extrapolation: f64,
    antialias: bool,
    axes: Option<Vec<i64>>,
    policy: AspectPolicy,
    from: ScalesFrom,
}

fn parse_mode(s: &str) -> Result<Mode> {
    Ok(match s {
        "nearest" => Mode::Nearest,
        "linear" | "bilinear" | "trilinear" => Mode::Linear,
        "cubic" | "bicubic" => Mode::Cubic,
        other => bail!("unknown resize mode '{}'", other),
    })
}

fn resize(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let mode = parse_mode(&n.attr_str("mode", "nearest")?)?;
    let a = if n.opset < 11 {
        ensure!(mode != Mode::Cubic, "cubic mode needs Resize-11 or newer");
        ResizeAttrs {
            mode,
            coord: Coord::Asymmetric,
            nearest: NearestMode::Simple,
            cubic_a: -0.75,
            exclude_outside: false,
            extrapolation: 0.0,
            antialias: false,
            axes: None,
            policy: AspectPolicy::Stretch,
            from: ScalesFrom::Input1,
        }
    } else {
        let coord = match n
            .attr_str("coordinate_transformation_mode", "half_pixel")?
            .as_str()
        {
            "half_pixel" => Coord::HalfPixel,
            "half_pixel_symmetric" => Coord::HalfPixelSymmetric,
            "pytorch_half_pixel" => Coord::PytorchHalfPixel,
            "align_corners" => Coord::AlignCorners,
            "asymmetric" => Coord::Asymmetric,
            "tf_crop_and_resize" => Coord::TfCropAndResize,
            "tf_half_pixel_for_nn" => Coord::TfHalfPixelForNn,
            other => bail!("unknown coordinate_transformation_mode '{}'", other),
        };
        let nearest = match n.attr_str("nearest_mode", "round_prefer_floor")?.as_str() {
            "round_prefer_floor" => NearestMode::RoundPreferFloor,
            "round_prefer_ceil" => NearestMode::RoundPreferCeil,
            "floor" => NearestMode::Floor,
            "ceil" => NearestMode::Ceil,
            other => bail!("unknown nearest_mode '{}'", other),
        };
        let policy = match n.attr_str("keep_aspect_ratio_policy", "stretch")?.as_str() {
            "stretch" => AspectPolicy::Stretch,
            "not_larger" => AspectPolicy::NotLarger,
            "not_smaller" => AspectPolicy::NotSmaller,
            other => bail!("unknown keep_aspect_ratio_policy '{}'", other),
        };
        ResizeAttrs {
            mode,
            coord,
            nearest,
            cubic_a: n.attr_float("cubic_coeff_a", -0.75)? as f64,
            exclude_outside: n.attr_int("exclude_outside", 0)? != 0,
            extrapolation: n.attr_float("extrapolation_value", 0.0)? as f64,
            antialias: n.attr_int("antialias", 0)? != 0 && mode != Mode::Nearest,
            axes: n.attr_ints_opt("axes")?,
            policy,
            from: ScalesFrom::Inputs11,
        }
    };
    Ok(kernel(move |inputs: &Inputs| {
        Ok(vec![Value::Tensor(run_resize(&a, inputs)?)])
    }))
}

fn upsample(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let mode = parse_mode(&n.attr_str("mode", "nearest")?)?;
    ensure!(
        mode != Mode::Cubic,
        "Upsample supports nearest and linear modes only"
    );
    let from = match n.attr_floats_opt("scales")? {
        Some(s) => ScalesFrom::Attr(s),
        None => ScalesFrom::Input1,
    };
    let a = ResizeAttrs {
        mode,
        coord: Coord::Asymmetric,
        nearest: NearestMode::Simple,
        cubic_a: -0.75,
        exclude_outside: false,
        extrapolation: 0.0,
        antialias: false,
        axes: None,
        policy: AspectPolicy::Stretch,
        from,
    };
    Ok(kernel(move |inputs: &Inputs| {
        Ok(vec![Value::Tensor(run_resize(&a, inputs)?)])
    }))
}

/// One resized axis: per output position `n` (input index, weight) pairs, or extrapolation.
struct AxisPlan {
    axis: usize,
    out: usize,
    /// Taps per output position.
    n: usize,
    idx: Vec<usize>,
    w: Vec<f64>,
    extrapolate: Vec<bool>,
}

fn cubic(d: f64, a: f64) -> f64 {
    let d = d.abs();
    if d <= 1.0 {
        ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0
    } else if d < 2.0 {
        ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a
    } else {
        0.0
    }
}

/// Taps of a kernel of support `support` scaled by `s` (antialiasing).
fn taps_for(support: f64, s: f64) -> Result<usize> {
    let start = (-support / s).floor() + 1.0;
    let n = 2.0 - 2.0 * start;
    ensure!(
        n >= 1.0 && n <= (1 << 20) as f64,
        "resize scale {} is too small",
        s
    );
    Ok(n as usize)
}

fn plan_axis(
    a: &ResizeAttrs,
    axis: usize,
    len: usize,
    out: usize,
    scale: f64,
    roi: (f64, f64),
) -> Result<AxisPlan> {
    ensure!(
        len > 0 || out == 0,
        "cannot resize an empty axis {} to {}",
        axis,
        out
    );
    ensure!(
        scale > 0.0 && scale.is_finite(),
        "resize scale must be positive, got {}",
        scale
    );
    let lf = len as f64;
    let of = out as f64;
    let width = scale * lf;
    // Taps per position and the offset of the first tap from `base`.
    let aa_scale = if a.antialias { scale.min(1.0) } else { 1.0 };
    let n: usize = match a.mode {
        Mode::Nearest => 1,
        Mode::Linear => taps_for(1.0, aa_scale)?,
        Mode::Cubic => taps_for(2.0, aa_scale)?,
    };
    let first = 1 - (n as i64) / 2;
    let cap = out
        .checked_mul(n)
        .ok_or_else(|| Error::invalid("resize output too large"))?;
    let mut plan = AxisPlan {
        axis,
        out,
        n,
        idx: Vec::with_capacity(cap),
        w: Vec::with_capacity(cap),
        extrapolate: vec![false; out],
    };
    let last = len.saturating_sub(1) as i64;
    for y in 0..out {
        let yf = y as f64;
        let x = match a.coord {
            Coord::HalfPixel => (yf + 0.5) / scale - 0.5,
            Coord::HalfPixelSymmetric => {
                let adjustment = of / width;
                let center = lf / 2.0;
                center * (1.0 - adjustment) + (yf + 0.5) / scale - 0.5
            }
            Coord::PytorchHalfPixel => {
                if width != 1.0 {
                    (yf + 0.5) / scale - 0.5
                } else {
                    -0.5
                }
            }
            // Like the reference, the scaled (not rounded) output length.
            Coord::AlignCorners => {
                if width != 1.0 {
                    yf * (lf - 1.0) / (width - 1.0)
                } else {
                    0.0
                }
            }
            Coord::Asymmetric => yf / scale,
            Coord::TfHalfPixelForNn => (yf + 0.5) / scale,
            Coord::TfCropAndResize => {
                let x = if width != 1.0 {
                    roi.0 * (lf - 1.0) + yf * (roi.1 - roi.0) * (lf - 1.0) / (width - 1.0)
                } else {
                    0.5 * (roi.0 + roi.1) * (lf - 1.0)
                };
                if x < 0.0 || x > lf - 1.0 {
                    plan.extrapolate[y] = true;
                }
                x
            }
        };
        // Far-away coordinates only read the edge; keep them in integer range.
        let x = if x.is_finite() {
            x.clamp(-1e12, 1e12)
        } else {
            0.0
        };
        if a.mode == Mode::Nearest {
            let fl = x.floor();
            let r = x - fl;
            let up = if r == 0.0 {
                false
            } else {
                match a.nearest {
                    NearestMode::RoundPreferFloor => r > 0.5,
                    NearestMode::RoundPreferCeil => r >= 0.5,
                    NearestMode::Floor => false,
                    NearestMode::Ceil => true,
                    NearestMode::Simple => scale < 1.0,
                }
            };
            let i = fl as i64 + up as i64;
            plan.idx.push(i.clamp(0, last) as usize);
            plan.w.push(1.0);
            continue;
        }
        // `base` is the input position left of x (x itself counts as right of it).
        let fl = x.floor();
        let base = if x == fl { fl - 1.0 } else { fl };
        let ratio = x - base;
        let base = base as i64;
        let row = plan.w.len();
        let mut sum = 0.0;
        for k in 0..n as i64 {
            let i = first + k;
            let d = (i as f64 - ratio) * aa_scale;
            let mut w = match a.mode {
                Mode::Linear => (1.0 - d.abs()).max(0.0),
                _ => cubic(d, a.cubic_a),
            };
            let pos = base + i;
            if a.exclude_outside && (pos < 0 || pos > last) {
                w = 0.0;
            }
            sum += w;
            plan.idx.push(pos.clamp(0, last) as usize);
            plan.w.push(w);
        }
        if (a.antialias || a.exclude_outside) && sum != 0.0 {
            for w in &mut plan.w[row..] {
                *w /= sum;
            }
        }
    }
    Ok(plan)
}

fn read_f64(t: &Tensor) -> Result<Vec<f64>> {
    ensure!(
        t.dtype().is_numeric(),
        "expected a numeric tensor, got {}",
        t.dtype()
    );
    t.to_f64_vec()
}

fn run_resize(a: &ResizeAttrs, inputs: &Inputs) -> Result<Tensor> {
    let x = inputs.tensor(0)?;
    let shape = x.shape().to_vec();
    let r = shape.len();
    let axes: Vec<usize> = match &a.axes {
        Some(ax) => norm_axes(ax, r)?,
        None => (0..r).collect(),
    };
    let na = axes.len();
    // Scales or sizes over `axes`.
    let (mut scales, mut sizes): (Option<Vec<f64>>, Option<Vec<usize>>) = (None, None);
    let mut roi_in: Option<Vec<f64>> = None;
    match &a.from {
        ScalesFrom::Attr(s) => scales = Some(s.iter().map(|&v| v as f64).collect()),
        ScalesFrom::Input1 => scales = Some(read_f64(inputs.tensor(1)?)?),
        ScalesFrom::Inputs11 => {
            if let Some(t) = inputs.opt_tensor(1)? {
                if !t.is_empty() {
                    roi_in = Some(read_f64(t)?);
                }
            }
            if let Some(t) = inputs.opt_tensor(2)? {
                if !t.is_empty() {
                    scales = Some(read_f64(t)?);
                }
            }
            if let Some(t) = inputs.opt_tensor(3)? {
                if !t.is_empty() {
                    ensure!(scales.is_none(), "Resize takes scales or sizes, not both");
                    let s = t.to_i64_vec()?;
                    sizes = Some(
                        s.iter()
                            .map(|&v| to_usize(v, "sizes"))
                            .collect::<Result<_>>()?,
                    );
                }
            }
            ensure!(
                scales.is_some() || sizes.is_some(),
                "Resize needs scales or sizes"
            );
        }
    }
    // Per-dimension scale and output size.
    let mut scale_full = vec![1.0f64; r];
    let mut out_shape = shape.clone();
    if let Some(s) = &scales {
        ensure!(
            s.len() == na,
            "scales has {} values, expected {}",
            s.len(),
            na
        );
        for (&ax, &sc) in axes.iter().zip(s) {
            ensure!(
                sc > 0.0 && sc.is_finite(),
                "scales must be positive, got {}",
                sc
            );
            let o = (sc * shape[ax] as f64).floor();
            ensure!(o < 1e15, "resize output too large");
            scale_full[ax] = sc;
            out_shape[ax] = o as usize;
        }
    } else if let Some(sz) = &sizes {
        ensure!(
            sz.len() == na,
            "sizes has {} values, expected {}",
            sz.len(),
            na
        );
        let ratio = |i: usize| sz[i] as f64 / shape[axes[i]] as f64;
        match a.policy {
            AspectPolicy::Stretch => {
                for (i, &ax) in axes.iter().enumerate() {
                    out_shape[ax] = sz[i];
                    scale_full[ax] = ratio(i);
                }
            }
            AspectPolicy::NotLarger | AspectPolicy::NotSmaller => {
                let it = (0..na).map(ratio);
                let s = if a.policy == AspectPolicy::NotLarger {
                    it.fold(f64::INFINITY, f64::min)
                } else {
                    it.fold(f64::NEG_INFINITY, f64::max)
                };
                ensure!(
                    s.is_finite() && s > 0.0,
                    "invalid sizes {:?} for shape {:?}",
                    sz,
                    shape
                );
                for &ax in &axes {
                    scale_full[ax] = s;
                    let o = (s * shape[ax] as f64 + 0.5).floor();
                    ensure!(o < 1e15, "resize output too large");
                    out_shape[ax] = o as usize;
                }
            }
        }
    }
    numel(&out_shape)?;
    // Region of interest (tf_crop_and_resize only), over all dims.
    let mut roi = vec![(0.0f64, 1.0f64); r];
    if a.coord == Coord::TfCropAndResize {
        let v = roi_in.ok_or_else(|| Error::invalid("tf_crop_and_resize needs roi"))?;
        if v.len() == 2 * na {
            for (i, &ax) in axes.iter().enumerate() {
                roi[ax] = (v[i], v[na + i]);
            }
        } else if v.len() == 2 * r {
            for (d, slot) in roi.iter_mut().enumerate() {
                *slot = (v[d], v[r + d]);
            }
        } else {
            bail!("roi has {} values, expected {}", v.len(), 2 * na);
        }
    }
    // Plans for the axes that change.
    let mut plans = Vec::new();
    for &ax in &axes {
        let identity = (scale_full[ax] - 1.0).abs() < 1e-9
            && out_shape[ax] == shape[ax]
            && (a.coord != Coord::TfCropAndResize
                || (roi[ax].0.abs() < 1e-9 && (roi[ax].1 - 1.0).abs() < 1e-9));
        if identity {
            continue;
        }
        plans.push(plan_axis(
            a,
            ax,
            shape[ax],
            out_shape[ax],
            scale_full[ax],
            roi[ax],
        )?);
    }
    let ev = a.extrapolation;
    if a.mode == Mode::Nearest {
        return dispatch_number!(x.dtype(), T => gather::<T>(x.as_slice::<T>()?, &shape, &out_shape, &plans, T::from_f64(ev)));
    }
    match x.dtype() {
        DType::F32 => Tensor::new(
            out_shape.clone(),
            interpolate::<f32>(x.as_slice::<f32>()?.to_vec(), &shape, &plans, ev),
        ),
        DType::F16 | DType::BF16 => {
            let v = x.cast(DType::F32)?.into_vec::<f32>()?;
            Tensor::new(out_shape.clone(), interpolate::<f32>(v, &shape, &plans, ev))?
                .cast(x.dtype())
        }
        DType::String | DType::Bool => bail!("Resize does not support {} tensors", x.dtype()),
        dt => dispatch_number!(dt, T => {
            let v: Vec<f64> = x.as_slice::<T>()?.iter().map(|v| v.to_f64()).collect();
            let out = interpolate::<f64>(v, &shape, &plans, ev);
            Tensor::new(out_shape.clone(), out.into_iter().map(from_f64_rounded::<T>).collect::<Vec<T>>())
        }),
    }
}

/// Nearest: every output element copies one input element (or the extrapolation value).
fn gather<T: Number>(
    x: &[T],
    shape: &[usize],
    out_shape: &[usize],
    plans: &[AxisPlan],
    ev: T,
) -> Result<Tensor> {
    let r = shape.len();
    let total = numel(out_shape)?;
    if r == 0 {
        return Tensor::new(vec![], x.to_vec());
    }
    // Per-dimension maps from output index to input offset (None: extrapolate).
    let strides = crate::ops::util::strides(shape);
    let mut maps: Vec<Vec<Option<usize>>> = (0..r)
        .map(|d| (0..shape[d]).map(|i| Some(i * strides[d])).collect())
        .collect();
    for p in plans {
        maps[p.axis] = (0..p.out)
            .map(|j| {
                if p.extrapolate[j] {
                    None
                } else {
                    Some(p.idx[j] * strides[p.axis])
                }
            })
            .collect();
    }
    let mut out = vec![ev; total];
    let row = out_shape[r - 1];
    if total == 0 {
        return Tensor::new(out_shape.to_vec(), out);
    }
    let last = &maps[r - 1];
    for_each_chunk_mut(&mut out, row, row, |ri, chunk| {
        // Offset of this row from the outer indices.
        let mut rem = ri;
        let mut base = Some(0usize);
        for d in (0..r - 1).rev() {
            let i = rem % out_shape[d];
            rem /= out_shape[d];
            base = match (base, maps[d][i]) {
                (Some(b), Some(o)) => Some(b + o),
                _ => None,
            };
        }
        if let Some(b) = base {
            for (o, m) in chunk.iter_mut().zip(last) {
                if let Some(off) = m {
                    *o = x[b + off];
                }
            }
        }
    });
    Tensor::new(out_shape.to_vec(), out)
}

/// Linear and cubic: apply the plans one axis at a time.
fn interpolate<R: Real>(mut data: Vec<R>, shape: &[usize], plans: &[AxisPlan], ev: f64) -> Vec<R> {
    let mut dims = shape.to_vec();
    let ev = R::c(ev);
    for p in plans {
        let ax = p.axis;
        let outer: usize = dims[..ax].iter().product();
        let len = dims[ax];
        let inner: usize = dims[ax + 1..].iter().product();
        let n = p.n;
        let w: Vec<R> = p.w.iter().map(|&v| R::c(v)).collect();
        let mut dst = vec![R::c(0.0); outer * p.out * inner];
        let block = p.out * inner;
        if block > 0 && len > 0 {
            for_each_chunk_mut(&mut dst, block, block.saturating_mul(n), |b, chunk| {
                let src = &data[b * len * inner..(b + 1) * len * inner];
                for j in 0..p.out {
                    let row = &mut chunk[j * inner..(j + 1) * inner];
                    if p.extrapolate[j] {
                        row.fill(ev);
                        continue;
                    }
                    let idx = &p.idx[j * n..(j + 1) * n];
                    let ws = &w[j * n..(j + 1) * n];
                    if inner == 1 {
                        let mut s = R::c(0.0);
                        for (&i, &wk) in idx.iter().zip(ws) {
                            s = s + wk * src[i];
                        }
                        row[0] = s;
                    } else {
                        row.fill(R::c(0.0));
                        for (&i, &wk) in idx.iter().zip(ws) {
                            for (d, &v) in row.iter_mut().zip(&src[i * inner..(i + 1) * inner]) {
                                *d = *d + wk * v;
                            }
                        }
                    }
                }
            });
        }
        dims[ax] = p.out;
        data = dst;
    }
    data
}

pub fn register(r: &mut crate::Registry) {
    r.add("Resize", resize);
    r.add("Upsample", upsample);
}
