//! Detection ops: RoiAlign and NonMaxSuppression.

use super::common::{numel, to_usize, with_real, Real};
use crate::par::for_each_chunk_mut;
use runnx_ir::{bail, ensure, kernel, Inputs, Kernel, NodeCtx, Result, Tensor, Value};

// ---------------------------------------------------------------- RoiAlign

#[derive(Clone, Copy)]
struct RoiAlignAttrs {
    max: bool,
    half_pixel: bool,
    out_h: usize,
    out_w: usize,
    sampling_ratio: i64,
    spatial_scale: f64,
}

fn roi_align(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let max = match n.attr_str("mode", "avg")?.as_str() {
        "avg" => false,
        "max" => true,
        other => bail!("unknown RoiAlign mode '{}'", other),
    };
    let default_ctm = if n.opset >= 16 {
        "half_pixel"
    } else {
        "output_half_pixel"
    };
    let half_pixel = match n
        .attr_str("coordinate_transformation_mode", default_ctm)?
        .as_str()
    {
        "half_pixel" => true,
        "output_half_pixel" => false,
        other => bail!("unknown coordinate_transformation_mode '{}'", other),
    };
    let out_h = to_usize(n.attr_int("output_height", 1)?, "output_height")?;
    let out_w = to_usize(n.attr_int("output_width", 1)?, "output_width")?;
    let sampling_ratio = n.attr_int("sampling_ratio", 0)?;
    ensure!(
        sampling_ratio >= 0,
        "sampling_ratio must be >= 0, got {}",
        sampling_ratio
    );
    let a = RoiAlignAttrs {
        max,
        half_pixel,
        out_h,
        out_w,
        sampling_ratio,
        spatial_scale: n.attr_float("spatial_scale", 1.0)? as f64,
    };
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let rois = inputs.tensor(1)?;
        let bi = inputs.tensor(2)?.to_i64_vec()?;
        ensure!(
            x.rank() == 4,
            "RoiAlign expects a 4-D X, got {:?}",
            x.shape()
        );
        ensure!(
            rois.rank() == 2 && rois.shape()[1] == 4,
            "rois must be [num_rois, 4], got {:?}",
            rois.shape()
        );
        let num = rois.shape()[0];
        ensure!(
            bi.len() == num,
            "batch_indices has {} values, rois {}",
            bi.len(),
            num
        );
        for &b in &bi {
            ensure!(
                b >= 0 && (b as u64) < x.shape()[0] as u64,
                "batch index {} is out of range",
                b
            );
        }
        let r = rois.to_f64_vec()?;
        let y = with_real(
            x,
            |t| roi_align_real::<f32>(&a, t, &r, &bi),
            |t| roi_align_real::<f64>(&a, t, &r, &bi),
        )?;
        Ok(vec![Value::Tensor(y)])
    }))
}

fn roi_align_real<R: Real>(
    a: &RoiAlignAttrs,
    x: &Tensor,
    rois: &[f64],
    bi: &[i64],
) -> Result<Tensor> {
    let xs = x.as_slice::<R>()?;
    let [_, c, h, w] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
    let num = bi.len();
    let (ph_n, pw_n) = (a.out_h, a.out_w);
    let out_shape = vec![num, c, ph_n, pw_n];
    let mut out = vec![R::c(0.0); numel(&out_shape)?];
    let per_roi = c * ph_n * pw_n;
    if per_roi == 0 || h == 0 || w == 0 {
        return Tensor::new(out_shape, out);
    }
    let plane = h * w;
    // Per roi: start, bin size and sampling grid; checked before the parallel loop.
    let mut geo = Vec::with_capacity(num);
    for n in 0..num {
        let roi = &rois[n * 4..n * 4 + 4];
        let off = if a.half_pixel { 0.5 } else { 0.0 };
        let sw = roi[0] * a.spatial_scale - off;
        let sh = roi[1] * a.spatial_scale - off;
        let ew = roi[2] * a.spatial_scale - off;
        let eh = roi[3] * a.spatial_scale - off;
        let (mut rw, mut rh) = (ew - sw, eh - sh);
        if !a.half_pixel {
            rw = rw.max(1.0);
            rh = rh.max(1.0);
        }
        let bh = rh / ph_n as f64;
        let bw = rw / pw_n as f64;
        let grid = |v: f64| -> Result<usize> {
            if a.sampling_ratio > 0 {
                return Ok(a.sampling_ratio as usize);
            }
            let g = v.ceil();
            ensure!(
                g.is_nan() || g <= (1u64 << 20) as f64,
                "RoiAlign roi {} is too large",
                n
            );
            Ok(if g > 0.0 { g as usize } else { 0 })
        };
        let (gh, gw) = (grid(bh)?, grid(bw)?);
        let samples = [ph_n, pw_n, gh, gw]
            .iter()
            .try_fold(1usize, |acc, &v| acc.checked_mul(v));
        ensure!(
            samples.is_some_and(|s| s <= 1 << 26),
            "RoiAlign sampling grid of roi {} is too large",
            n
        );
        geo.push((sh, sw, bh, bw, gh, gw));
    }
    for_each_chunk_mut(&mut out, per_roi, per_roi.saturating_mul(16), |n, chunk| {
        let b = bi[n] as usize;
        let (sh, sw, bh, bw, gh, gw) = geo[n];
        let count = (gh * gw).max(1) as f64;
        // Bilinear taps per sample point, shared by all channels.
        let mut pre: Vec<([usize; 4], [f64; 4])> = Vec::with_capacity(ph_n * pw_n * gh * gw);
        for ph in 0..ph_n {
            for pw in 0..pw_n {
                for iy in 0..gh {
                    let yy = sh + ph as f64 * bh + (iy as f64 + 0.5) * bh / gh as f64;
                    for ix in 0..gw {
                        let xx = sw + pw as f64 * bw + (ix as f64 + 0.5) * bw / gw as f64;
                        pre.push(bilinear_taps(yy, xx, h, w));
                    }
                }
            }
        }
        let k = gh * gw;
        for ch in 0..c {
            let xp = &xs[(b * c + ch) * plane..(b * c + ch + 1) * plane];
            for (bin, o) in chunk[ch * ph_n * pw_n..(ch + 1) * ph_n * pw_n]
                .iter_mut()
                .enumerate()
            {
                let taps = &pre[bin * k..(bin + 1) * k];
                let v = if a.max {
                    let mut m: Option<f64> = None;
                    for (p, wt) in taps {
                        let val = (0..4)
                            .map(|i| wt[i] * xp[p[i]].f64())
                            .fold(f64::NEG_INFINITY, f64::max);
                        m = Some(m.map_or(val, |m| m.max(val)));
                    }
                    m.unwrap_or(0.0)
                } else {
                    let s: f64 = taps
                        .iter()
                        .map(|(p, wt)| (0..4).map(|i| wt[i] * xp[p[i]].f64()).sum::<f64>())
                        .sum();
                    s / count
                };
                *o = R::c(v);
            }
        }
    });
    Tensor::new(out_shape, out)
}

fn bilinear_taps(y: f64, x: f64, h: usize, w: usize) -> ([usize; 4], [f64; 4]) {
    if y < -1.0 || y > h as f64 || x < -1.0 || x > w as f64 || !y.is_finite() || !x.is_finite() {
        return ([0; 4], [0.0; 4]);
    }
    let (mut y, mut x) = (y.max(0.0), x.max(0.0));
    let (mut yl, mut xl) = (y as usize, x as usize);
    let (yh, xh);
    if yl >= h - 1 {
        yl = h - 1;
        yh = h - 1;
        y = yl as f64;
    } else {
        yh = yl + 1;
    }
    if xl >= w - 1 {
        xl = w - 1;
        xh = w - 1;
        x = xl as f64;
    } else {
        xh = xl + 1;
    }
    let (ly, lx) = (y - yl as f64, x - xl as f64);
    let (hy, hx) = (1.0 - ly, 1.0 - lx);
    (
        [yl * w + xl, yl * w + xh, yh * w + xl, yh * w + xh],
        [hy * hx, hy * lx, ly * hx, ly * lx],
    )
}

// ---------------------------------------------------------------- NonMaxSuppression

fn nms(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let center = n.attr_int("center_point_box", 0)? != 0;
    Ok(kernel(move |inputs: &Inputs| {
        let boxes = inputs.tensor(0)?;
        let scores = inputs.tensor(1)?;
        ensure!(
            boxes.rank() == 3 && boxes.shape()[2] == 4,
            "boxes must be [batches, boxes, 4], got {:?}",
            boxes.shape()
        );
        ensure!(
            scores.rank() == 3,
            "scores must be [batches, classes, boxes], got {:?}",
            scores.shape()
        );
        let (nb, nbox) = (boxes.shape()[0], boxes.shape()[1]);
        let ncls = scores.shape()[1];
        ensure!(
            scores.shape()[0] == nb && scores.shape()[2] == nbox,
            "scores shape {:?} does not match boxes shape {:?}",
            scores.shape(),
            boxes.shape()
        );
        let max_out = match inputs.opt_tensor(2)? {
            Some(t) if !t.is_empty() => t.to_i64_vec()?[0].max(0) as u64,
            _ => 0,
        };
        let iou_th = match inputs.opt_tensor(3)? {
            Some(t) if !t.is_empty() => t.to_f64_vec()?[0],
            _ => 0.0,
        };
        ensure!(
            (0.0..=1.0).contains(&iou_th),
            "iou_threshold must be in [0, 1], got {}",
            iou_th
        );
        let score_th = match inputs.opt_tensor(4)? {
            Some(t) if !t.is_empty() => Some(t.to_f64_vec()?[0]),
            _ => None,
        };
        let bx = boxes.to_f64_vec()?;
        let sc = scores.to_f64_vec()?;
        // Boxes as (y1, x1, y2, x2) with y1 <= y2, x1 <= x2.
        let corners: Vec<[f64; 4]> = bx
            .chunks_exact(4)
            .map(|b| {
                if center {
                    let (xc, yc, w, h) = (b[0], b[1], b[2], b[3]);
                    [yc - h / 2.0, xc - w / 2.0, yc + h / 2.0, xc + w / 2.0]
                } else {
                    [
                        b[0].min(b[2]),
                        b[1].min(b[3]),
                        b[0].max(b[2]),
                        b[1].max(b[3]),
                    ]
                }
            })
            .collect();
        let suppress = |a: &[f64; 4], b: &[f64; 4]| -> bool {
            let ih = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
            let iw = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
            let inter = ih * iw;
            if inter <= 0.0 {
                return false;
            }
            let aa = (a[2] - a[0]) * (a[3] - a[1]);
            let ab = (b[2] - b[0]) * (b[3] - b[1]);
            let uni = aa + ab - inter;
            if aa <= 0.0 || ab <= 0.0 || uni <= 0.0 {
                return false;
            }
            inter / uni > iou_th
        };
        let mut selected: Vec<i64> = Vec::new();
        for b in 0..nb {
            let bb = &corners[b * nbox..(b + 1) * nbox];
            for cl in 0..ncls {
                let s = &sc[(b * ncls + cl) * nbox..(b * ncls + cl + 1) * nbox];
                let mut cand: Vec<usize> = (0..nbox)
                    .filter(|&i| score_th.is_none_or(|t| s[i] > t))
                    .collect();
                // Highest score first; ties keep the lower index first.
                cand.sort_by(|&i, &j| s[j].total_cmp(&s[i]).then(i.cmp(&j)));
                let mut kept: Vec<usize> = Vec::new();
                for i in cand {
                    if kept.len() as u64 >= max_out {
                        break;
                    }
                    if kept.iter().all(|&k| !suppress(&bb[k], &bb[i])) {
                        kept.push(i);
                    }
                }
                for k in kept {
                    selected.extend_from_slice(&[b as i64, cl as i64, k as i64]);
                }
            }
        }
        let rows = selected.len() / 3;
        Ok(vec![Value::Tensor(Tensor::new(vec![rows, 3], selected)?)])
    }))
}

pub fn register(r: &mut crate::Registry) {
    r.add("RoiAlign", roi_align);
    r.add("NonMaxSuppression", nms);
}
