//! DeformConv (2-D): bilinear im2col at offset positions (times the mask), then GEMM.

use super::common::*;
use super::conv::{conv_geom, ConvParams};
use crate::gemm::{self, Activation, Bias, Epilogue, MatRef};
use runnx_ir::{ensure, kernel, Inputs, Kernel, NodeCtx, Result, Tensor, Value};

/// Bilinear sample of an `h x w` image at `(y, x)`, zero outside.
#[inline]
fn bilinear(img: &[f32], h: usize, w: usize, y: f32, x: f32) -> f32 {
    if !(y > -1.0 && y < h as f32 && x > -1.0 && x < w as f32) {
        return 0.0;
    }
    let (y0, x0) = (y.floor(), x.floor());
    let (ly, lx) = (y - y0, x - x0);
    let (y0, x0) = (y0 as isize, x0 as isize);
    let at = |yy: isize, xx: isize| -> f32 {
        if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < w {
            img[yy as usize * w + xx as usize]
        } else {
            0.0
        }
    };
    (1.0 - ly) * (1.0 - lx) * at(y0, x0)
        + (1.0 - ly) * lx * at(y0, x0 + 1)
        + ly * (1.0 - lx) * at(y0 + 1, x0)
        + ly * lx * at(y0 + 1, x0 + 1)
}

pub(crate) fn build_deform_conv(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let p = ConvParams::from_node(n)?;
    let offset_group = n.attr_int("offset_group", 1)?;
    ensure!(
        offset_group >= 1,
        "offset_group must be positive, got {}",
        offset_group
    );
    let og = offset_group as usize;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let w = inputs.tensor(1)?;
        let off = inputs.tensor(2)?;
        let dt = x.dtype();
        ensure!(
            dt.is_float(),
            "DeformConv expects float tensors, got {}",
            dt
        );
        let (xf, wf, of) = (as_f32(x)?, as_f32(w)?, as_f32(off)?);
        let bf = match inputs.opt_tensor(3)? {
            Some(b) => Some(as_f32(b)?),
            None => None,
        };
        let mf = match inputs.opt_tensor(4)? {
            Some(m) => Some(as_f32(m)?),
            None => None,
        };
        let (xs, ws, os_) = (x.shape(), w.shape(), off.shape());
        ensure!(
            xs.len() == 4 && ws.len() == 4,
            "DeformConv supports 2-D inputs, got {:?} and {:?}",
            xs,
            ws
        );
        let (nb, c, ih, iw) = (xs[0], xs[1], xs[2], xs[3]);
        let (m, kh, kw) = (ws[0], ws[2], ws[3]);
        let group = p.group as usize;
        ensure!(
            ws[1] * group == c && m.is_multiple_of(group) && c.is_multiple_of(og),
            "DeformConv channels do not match: X {:?}, W {:?}, group {}, offset_group {}",
            xs,
            ws,
            group,
            og
        );
        let geom = conv_geom(&p, &xs[2..], ws)?;
        let (oh, ow) = (geom.output[0], geom.output[1]);
        let ks = kh * kw;
        ensure!(
            os_ == [nb, og * ks * 2, oh, ow],
            "offset shape {:?} does not match [{}, {}, {}, {}]",
            os_,
            nb,
            og * ks * 2,
            oh,
            ow
        );
        let ohw = oh * ow;
        if let Some(mt) = &mf {
            ensure!(
                mt.shape() == [nb, og * ks, oh, ow],
                "mask shape {:?} is wrong",
                mt.shape()
            );
        }
        let bias = match &bf {
            Some(b) => {
                ensure!(b.len() == m, "bias has {} values, expected {}", b.len(), m);
                Some(b.as_slice::<f32>()?)
            }
            None => None,
        };
        let (xv, wv, ov) = (
            xf.as_slice::<f32>()?,
            wf.as_slice::<f32>()?,
            of.as_slice::<f32>()?,
        );
        let mv = match &mf {
            Some(t) => Some(t.as_slice::<f32>()?),
            None => None,
        };
        let (cg, mg) = (c / group, m / group);
        let cpo = c / og;
        let kdim = cg * ks;
        let mut y = vec![0f32; checked_len(&[nb, m, oh, ow])?];
        let mut col = vec![0f32; kdim * ohw];
        let (sh, sw) = (geom.strides[0], geom.strides[1]);
        let (dh, dw) = (geom.dil[0], geom.dil[1]);
        let (ph, pw) = (geom.pad[0], geom.pad[1]);
        for img in 0..nb {
            for gi in 0..group {
                for cl in 0..cg {
                    let ch = gi * cg + cl;
                    let og_i = ch / cpo;
                    let xc = &xv[(img * c + ch) * ih * iw..(img * c + ch + 1) * ih * iw];
                    for a in 0..kh {
                        for b in 0..kw {
                            let kf = a * kw + b;
                            let row = &mut col[(cl * ks + kf) * ohw..(cl * ks + kf + 1) * ohw];
                            let obase = ((img * og + og_i) * ks + kf) * 2;
                            let offy = &ov[obase * ohw..(obase + 1) * ohw];
                            let offx = &ov[(obase + 1) * ohw..(obase + 2) * ohw];
                            let mrow =
                                mv.map(|mv| &mv[((img * og + og_i) * ks + kf) * ohw..][..ohw]);
                            for i in 0..oh {
                                for j in 0..ow {
                                    let o = i * ow + j;
                                    let py = (i * sh + a * dh) as f32 - ph as f32 + offy[o];
                                    let px = (j * sw + b * dw) as f32 - pw as f32 + offx[o];
                                    let v = bilinear(xc, ih, iw, py, px);
                                    row[o] = mrow.map_or(v, |mr| v * mr[o]);
                                }
                            }
                        }
                    }
                }
                let wg = &wv[gi * mg * kdim..(gi + 1) * mg * kdim];
                let yg = &mut y[(img * m + gi * mg) * ohw..(img * m + (gi + 1) * mg) * ohw];
                let ep = Epilogue {
                    bias: bias.map_or(Bias::None, |b| Bias::Row(&b[gi * mg..(gi + 1) * mg])),
                    act: Activation::None,
                };
                gemm::sgemm(
                    mg,
                    ohw,
                    kdim,
                    1.0,
                    MatRef::row_major(wg, kdim),
                    MatRef::row_major(&col, ohw),
                    0.0,
                    yg,
                    ohw,
                    &ep,
                )?;
            }
        }
        let t = Tensor::new(vec![nb, m, oh, ow], y)?;
        Ok(vec![Value::Tensor(from_f32(t, dt)?)])
    }))
}
