//! GridSample (any spatial rank) and AffineGrid (2-D and 3-D).

use super::common::{from_f64_rounded, numel, to_usize};
use crate::par::for_each_chunk_mut;
use runnx_ir::dtype::Number;
use runnx_ir::{
    bail, dispatch_float, dispatch_number, ensure, kernel, Inputs, Kernel, NodeCtx, Result, Tensor,
    Value,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Interp {
    Nearest,
    Linear,
    Cubic,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Padding {
    Zeros,
    Border,
    Reflection,
}

/// Reflect `x` into `[lo, hi]` by bouncing off the borders.
fn reflect(x: f64, lo: f64, hi: f64) -> f64 {
    let rng = hi - lo;
    if rng <= 0.0 || !x.is_finite() {
        return lo;
    }
    if x < lo {
        let dx = lo - x;
        let n = (dx / rng).floor();
        let r = dx - n * rng;
        if n as i64 % 2 == 0 {
            lo + r
        } else {
            hi - r
        }
    } else if x > hi {
        let dx = x - hi;
        let n = (dx / rng).floor();
        let r = dx - n * rng;
        if n as i64 % 2 == 0 {
            hi - r
        } else {
            lo + r
        }
    } else {
        x
    }
}

fn cubic_coeffs(t: f64) -> [f64; 4] {
    let a = -0.75;
    let t = t.abs();
    let w = |d: f64| -> f64 {
        let d = d.abs();
        if d <= 1.0 {
            ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0
        } else if d < 2.0 {
            ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a
        } else {
            0.0
        }
    };
    [w(t + 1.0), w(t), w(1.0 - t), w(2.0 - t)]
}

struct Sampler {
    interp: Interp,
    padding: Padding,
    align: bool,
}

impl Sampler {
    /// Input index for integer position `i` along a dimension of `len`, or None (zero).
    #[inline]
    fn pixel(&self, i: i64, len: usize, lo: f64, hi: f64) -> Option<usize> {
        let last = len as i64 - 1;
        match self.padding {
            Padding::Zeros => (i >= 0 && i <= last).then_some(i as usize),
            Padding::Border => Some(i.clamp(0, last) as usize),
            Padding::Reflection => Some((reflect(i as f64, lo, hi) as i64).clamp(0, last) as usize),
        }
    }

    /// Taps (input index or None, weight) along one dimension for normalised coordinate `g`.
    fn taps(&self, g: f64, len: usize, out: &mut Vec<(Option<usize>, f64)>) {
        out.clear();
        let lf = len as f64;
        let mut x = if self.align {
            (g + 1.0) / 2.0 * (lf - 1.0)
        } else {
            ((g + 1.0) * lf - 1.0) / 2.0
        };
        // The reference computes coordinates in single precision.
        x = x as f32 as f64;
        if !x.is_finite() {
            x = -2.0;
        }
        if self.interp == Interp::Nearest {
            x = super::common::round_half_even(x);
        }
        let (lo, hi) = if self.align {
            (0.0, lf - 1.0)
        } else {
            (-0.5, lf - 0.5)
        };
        if x < lo || x > hi {
            match self.padding {
                Padding::Border => x = x.clamp(0.0, lf - 1.0),
                Padding::Reflection => x = reflect(x, lo, hi),
                Padding::Zeros => {}
            }
        }
        // Keep far-away coordinates in integer range; they read padding anyway.
        let x = x.clamp(-1e9, 1e9);
        match self.interp {
            Interp::Nearest => out.push((self.pixel(x as i64, len, lo, hi), 1.0)),
            Interp::Linear => {
                let x0 = x.floor();
                let t = x - x0;
                let x0 = x0 as i64;
                out.push((self.pixel(x0, len, lo, hi), 1.0 - t));
                out.push((self.pixel(x0 + 1, len, lo, hi), t));
            }
            Interp::Cubic => {
                let x0 = x.floor();
                let c = cubic_coeffs(x - x0);
                let x0 = x0 as i64;
                for (k, &w) in c.iter().enumerate() {
                    out.push((self.pixel(x0 - 1 + k as i64, len, lo, hi), w));
                }
            }
        }
    }
}

fn grid_sample(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let interp = match n
        .attr_str("mode", if n.opset >= 20 { "linear" } else { "bilinear" })?
        .as_str()
    {
        "bilinear" | "linear" => Interp::Linear,
        "nearest" => Interp::Nearest,
        "bicubic" | "cubic" => Interp::Cubic,
        other => bail!("unknown GridSample mode '{}'", other),
    };
    let padding = match n.attr_str("padding_mode", "zeros")?.as_str() {
        "zeros" => Padding::Zeros,
        "border" => Padding::Border,
        "reflection" => Padding::Reflection,
        other => bail!("unknown padding_mode '{}'", other),
    };
    let align = n.attr_int("align_corners", 0)? != 0;
    let s = Sampler {
        interp,
        padding,
        align,
    };
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let grid = inputs.tensor(1)?;
        let xs = x.shape();
        let gs = grid.shape();
        ensure!(
            xs.len() >= 3,
            "GridSample expects X of rank >= 3, got {:?}",
            xs
        );
        let r = xs.len() - 2;
        ensure!(
            gs.len() == r + 2 && gs[0] == xs[0] && gs[r + 1] == r,
            "grid shape {:?} does not match X shape {:?}",
            gs,
            xs
        );
        let (nb, c) = (xs[0], xs[1]);
        let in_dims = &xs[2..];
        let out_dims = &gs[1..r + 1];
        let mut out_shape = vec![nb, c];
        out_shape.extend_from_slice(out_dims);
        let g = grid.to_f64_vec()?;
        let y = dispatch_number!(x.dtype(), T => {
            ensure!(x.dtype().is_numeric(), "GridSample expects a numeric X");
            let xv = x.as_slice::<T>()?;
            let out = sample::<T>(&s, xv, &g, nb, c, in_dims, out_dims)?;
            Tensor::new(out_shape.clone(), out)
        })?;
        Ok(vec![Value::Tensor(y)])
    }))
}

fn sample<T: Number>(
    s: &Sampler,
    x: &[T],
    grid: &[f64],
    nb: usize,
    c: usize,
    in_dims: &[usize],
    out_dims: &[usize],
) -> Result<Vec<T>> {
    let r = in_dims.len();
    let in_plane = numel(in_dims)?;
    let out_plane = numel(out_dims)?;
    let total = numel(&[nb, c, out_plane])?;
    let mut out = vec![T::zero(); total];
    if total == 0 || in_plane == 0 {
        return Ok(out);
    }
    let strides = crate::ops::util::strides(in_dims);
    let taps_per: usize = match s.interp {
        Interp::Nearest => 1,
        Interp::Linear => 2,
        Interp::Cubic => 4,
    };
    let corners = taps_per.checked_pow(r as u32).unwrap_or(usize::MAX);
    // One chunk per (n, c) plane: each recomputes its grid taps (cheap next to the gather).
    for_each_chunk_mut(
        &mut out,
        out_plane,
        out_plane.saturating_mul(corners),
        |pi, chunk| {
            let b = pi / c;
            let xp = &x[pi * in_plane..(pi + 1) * in_plane];
            let gp = &grid[b * out_plane * r..(b + 1) * out_plane * r];
            let mut taps: Vec<Vec<(Option<usize>, f64)>> = vec![Vec::with_capacity(4); r];
            let mut odo = vec![0usize; r];
            for (o, y) in chunk.iter_mut().enumerate() {
                let gv = &gp[o * r..(o + 1) * r];
                for (d, t) in taps.iter_mut().enumerate() {
                    // The grid's last axis lists coordinates innermost dimension first.
                    s.taps(gv[r - 1 - d], in_dims[d], t);
                }
                let mut acc = 0.0f64;
                odo.iter_mut().for_each(|v| *v = 0);
                'corners: loop {
                    let mut w = 1.0;
                    let mut off = Some(0usize);
                    for d in 0..r {
                        let (i, wd) = taps[d][odo[d]];
                        w *= wd;
                        off = match (off, i) {
                            (Some(a), Some(i)) => Some(a + i * strides[d]),
                            _ => None,
                        };
                    }
                    if let Some(off) = off {
                        acc += w * xp[off].to_f64();
                    }
                    for d in (0..r).rev() {
                        odo[d] += 1;
                        if odo[d] < taps[d].len() {
                            continue 'corners;
                        }
                        odo[d] = 0;
                    }
                    break;
                }
                *y = from_f64_rounded::<T>(acc);
            }
        },
    );
    Ok(out)
}

fn affine_grid(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let align = n.attr_int("align_corners", 0)? != 0;
    Ok(kernel(move |inputs: &Inputs| {
        let theta = inputs.tensor(0)?;
        let size = inputs.tensor(1)?.to_i64_vec()?;
        let size: Vec<usize> = size
            .iter()
            .map(|&v| to_usize(v, "size"))
            .collect::<Result<_>>()?;
        ensure!(
            size.len() == 4 || size.len() == 5,
            "AffineGrid size must have 4 or 5 values, got {:?}",
            size
        );
        let r = size.len() - 2;
        let nb = size[0];
        ensure!(
            theta.shape() == [nb, r, r + 1],
            "theta shape {:?} does not match size {:?} (expected [{}, {}, {}])",
            theta.shape(),
            size,
            nb,
            r,
            r + 1
        );
        let th = theta.to_f64_vec()?;
        let dims = &size[2..];
        // Base coordinates per dimension, in [-1, 1].
        let lin = |len: usize| -> Vec<f64> {
            (0..len)
                .map(|i| {
                    if align {
                        if len <= 1 {
                            0.0
                        } else {
                            -1.0 + 2.0 * i as f64 / (len - 1) as f64
                        }
                    } else {
                        -1.0 + (2.0 * i as f64 + 1.0) / len as f64
                    }
                })
                .collect()
        };
        let bases: Vec<Vec<f64>> = dims.iter().map(|&l| lin(l)).collect();
        let plane = numel(dims)?;
        let mut out_shape = vec![nb];
        out_shape.extend_from_slice(dims);
        out_shape.push(r);
        let mut out = vec![0.0f64; numel(&out_shape)?];
        let strides = crate::ops::util::strides(dims);
        for b in 0..nb {
            let t = &th[b * r * (r + 1)..(b + 1) * r * (r + 1)];
            for p in 0..plane {
                // Homogeneous point (x, y[, z], 1): innermost dimension first.
                let mut pt = [0.0f64; 4];
                for d in 0..r {
                    let i = (p / strides[d]) % dims[d];
                    pt[r - 1 - d] = bases[d][i];
                }
                pt[r] = 1.0;
                let o = &mut out[(b * plane + p) * r..(b * plane + p + 1) * r];
                for (row, v) in o.iter_mut().enumerate() {
                    *v = (0..=r).map(|k| t[row * (r + 1) + k] * pt[k]).sum();
                }
            }
        }
        let y = dispatch_float!(theta.dtype(), T => Tensor::new(out_shape.clone(), out.iter().map(|&v| T::from_f64(v)).collect::<Vec<T>>()))?;
        Ok(vec![Value::Tensor(y)])
    }))
}

pub fn register(r: &mut crate::Registry) {
    r.add("GridSample", grid_sample);
    r.add("AffineGrid", affine_grid);
}
