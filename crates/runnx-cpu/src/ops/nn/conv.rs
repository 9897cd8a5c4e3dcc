//! Conv, ConvTranspose and the fused `runnx.FusedConv`.
//!
//! Conv runs per (image, group) as one GEMM: `Y_g[M/g x out] = W_g[M/g x C/g*K] * col`,
//! where `col` is the im2col matrix (skipped for 1x1 stride-1 unpadded kernels, where
//! it is the input itself). Depthwise convs (one input channel per group) take a
//! direct path. Bias and activation run in the GEMM epilogue.

use super::common::*;
use super::{depthwise_cl, simd};
use crate::gemm::{self, Activation, Bias, Epilogue, MatRef};
use runnx_ir::{ensure, kernel, Inputs, Kernel, NodeCtx, Result, Tensor, Value};

/// Conv / ConvTranspose attributes, parsed once.
#[derive(Clone, Debug, Default)]
pub struct ConvParams {
    pub auto_pad: String,
    pub dilations: Option<Vec<i64>>,
    pub group: i64,
    pub kernel_shape: Option<Vec<i64>>,
    pub pads: Option<Vec<i64>>,
    pub strides: Option<Vec<i64>>,
    /// ConvTranspose only.
    pub output_padding: Option<Vec<i64>>,
    /// ConvTranspose only.
    pub output_shape: Option<Vec<i64>>,
}

impl ConvParams {
    pub fn from_node(n: &NodeCtx) -> Result<ConvParams> {
        let auto_pad = n.attr_str("auto_pad", "NOTSET")?;
        ensure!(
            matches!(
                auto_pad.as_str(),
                "NOTSET" | "VALID" | "SAME_UPPER" | "SAME_LOWER"
            ),
            "unknown auto_pad '{}'",
            auto_pad
        );
        let group = n.attr_int("group", 1)?;
        ensure!(group >= 1, "group must be positive, got {}", group);
        Ok(ConvParams {
            auto_pad,
            dilations: n.attr_ints_opt("dilations")?,
            group,
            kernel_shape: n.attr_ints_opt("kernel_shape")?,
            pads: n.attr_ints_opt("pads")?,
            strides: n.attr_ints_opt("strides")?,
            output_padding: n.attr_ints_opt("output_padding")?,
            output_shape: n.attr_ints_opt("output_shape")?,
        })
    }
}

/// The geometry of one convolution, all spatial dimensions.
#[derive(Clone, Debug)]
pub(crate) struct Geom {
    pub input: Vec<usize>,
    pub kernel: Vec<usize>,
    pub output: Vec<usize>,
    pub strides: Vec<usize>,
    pub dil: Vec<usize>,
    /// Padding before each dimension (may be negative for ConvTranspose).
    pub pad: Vec<isize>,
}

impl Geom {
    pub fn kernel_size(&self) -> usize {
        self.kernel.iter().product()
    }
    pub fn out_size(&self) -> usize {
        self.output.iter().product()
    }
    pub fn in_size(&self) -> usize {
        self.input.iter().product()
    }
    /// Whether the kernel is 1x1.. with unit strides and no padding.
    pub fn is_pointwise(&self) -> bool {
        self.kernel.iter().all(|&k| k == 1)
            && self.strides.iter().all(|&s| s == 1)
            && self.pad.iter().all(|&p| p == 0)
    }
    /// The same geometry with 1-D promoted to 2-D (a unit leading dimension).
    pub(crate) fn promoted(&self) -> Geom {
        if self.input.len() != 1 {
            return self.clone();
        }
        let pre = |v: &Vec<usize>| vec![1, v[0]];
        Geom {
            input: pre(&self.input),
            kernel: pre(&self.kernel),
            output: pre(&self.output),
            strides: pre(&self.strides),
            dil: pre(&self.dil),
            pad: vec![0, self.pad[0]],
        }
    }
}

fn per_dim(v: &Option<Vec<i64>>, nd: usize, default: i64, what: &str) -> Result<Vec<usize>> {
    match v {
        None => Ok(vec![default as usize; nd]),
        Some(v) => {
            ensure!(
                v.len() == nd,
                "{} has {} values, expected {}",
                what,
                v.len(),
                nd
            );
            v.iter()
                .map(|&x| {
                    ensure!(
                        (1..1 << 24).contains(&x),
                        "{} value {} is out of range",
                        what,
                        x
                    );
                    Ok(x as usize)
                })
                .collect()
        }
    }
}

fn kernel_dims(p: &ConvParams, w_shape: &[usize], nd: usize) -> Result<Vec<usize>> {
    ensure!(
        w_shape.len() == nd + 2,
        "weights have rank {}, expected {}",
        w_shape.len(),
        nd + 2
    );
    let k = w_shape[2..].to_vec();
    if let Some(ks) = &p.kernel_shape {
        ensure!(
            ks.len() == nd,
            "kernel_shape has {} values, expected {}",
            ks.len(),
            nd
        );
        for (a, &b) in ks.iter().zip(&k) {
            ensure!(
                *a == b as i64,
                "kernel_shape {:?} does not match weights {:?}",
                ks,
                w_shape
            );
        }
    }
    Ok(k)
}

/// Conv geometry: `input` spatial dims, weights shape `[M, C/g, k...]`.
pub(crate) fn conv_geom(p: &ConvParams, input: &[usize], w_shape: &[usize]) -> Result<Geom> {
    let nd = input.len();
    ensure!(nd >= 1, "convolution needs at least one spatial dimension");
    let kernel = kernel_dims(p, w_shape, nd)?;
    let strides = per_dim(&p.strides, nd, 1, "strides")?;
    let dil = per_dim(&p.dilations, nd, 1, "dilations")?;
    let mut pad = vec![0isize; nd];
    let mut output = vec![0usize; nd];
    for d in 0..nd {
        let ek = (kernel[d].max(1) - 1) * dil[d] + 1;
        let (pb, pe) = match p.auto_pad.as_str() {
            "VALID" => (0, 0),
            "SAME_UPPER" | "SAME_LOWER" => {
                let out = input[d].div_ceil(strides[d]);
                let total = ((out.max(1) - 1) * strides[d] + ek).saturating_sub(input[d]) as isize;
                if p.auto_pad == "SAME_UPPER" {
                    (total / 2, total - total / 2)
                } else {
                    (total - total / 2, total / 2)
                }
            }
            _ => match &p.pads {
                None => (0, 0),
                Some(v) => {
                    ensure!(
                        v.len() == 2 * nd,
                        "pads has {} values, expected {}",
                        v.len(),
                        2 * nd
                    );
                    ensure!(
                        v.iter().all(|&x| (0..1 << 24).contains(&x)),
                        "pads {:?} are out of range",
                        v
                    );
                    (v[d] as isize, v[d + nd] as isize)
                }
            },
        };
        let padded = input[d] as isize + pb + pe;
        ensure!(
            padded >= ek as isize,
            "kernel extent {} is larger than the padded input {} (dimension {})",
            ek,
            padded,
            d
        );
        output[d] = (padded as usize - ek) / strides[d] + 1;
        pad[d] = pb;
    }
    Ok(Geom {
        input: input.to_vec(),
        kernel,
        output,
        strides,
        dil,
        pad,
    })
}

/// ConvTranspose geometry: `input` spatial dims, weights `[C, M/g, k...]`.
pub(crate) fn convt_geom(p: &ConvParams, input: &[usize], w_shape: &[usize]) -> Result<Geom> {
    let nd = input.len();
    ensure!(nd >= 1, "convolution needs at least one spatial dimension");
    let kernel = kernel_dims(p, w_shape, nd)?;
    let strides = per_dim(&p.strides, nd, 1, "strides")?;
    let dil = per_dim(&p.dilations, nd, 1, "dilations")?;
    let out_pad: Vec<i64> = match &p.output_padding {
        None => vec![0; nd],
        Some(v) => {
            ensure!(
                v.len() == nd || v.len() == 2 * nd,
                "output_padding has {} values",
                v.len()
            );
            ensure!(
                v.iter().all(|&x| (0..1 << 24).contains(&x)),
                "output_padding {:?} out of range",
                v
            );
            v[..nd].to_vec()
        }
    };
    let out_shape: Option<Vec<i64>> = match &p.output_shape {
        None => None,
        Some(v) => {
            ensure!(
                v.len() >= nd,
                "output_shape has {} values, expected {}",
                v.len(),
                nd
            );
            let v = v[v.len() - nd..].to_vec();
            ensure!(
                v.iter().all(|&x| (0..1 << 24).contains(&x)),
                "output_shape {:?} out of range",
                v
            );
            Some(v)
        }
    };
    let same = matches!(p.auto_pad.as_str(), "SAME_UPPER" | "SAME_LOWER");
    let mut pad = vec![0isize; nd];
    let mut output = vec![0usize; nd];
    for d in 0..nd {
        let ek = ((kernel[d].max(1) - 1) * dil[d] + 1) as i64;
        let natural = strides[d] as i64 * (input[d] as i64 - 1) + out_pad[d] + ek;
        if out_shape.is_none() && !same {
            // Explicit (or zero) pads.
            let (pb, pe) = match (&p.pads, p.auto_pad.as_str()) {
                (Some(v), "NOTSET") => {
                    ensure!(
                        v.len() == 2 * nd,
                        "pads has {} values, expected {}",
                        v.len(),
                        2 * nd
                    );
                    ensure!(
                        v.iter().all(|&x| (0..1 << 24).contains(&x)),
                        "pads {:?} out of range",
                        v
                    );
                    (v[d], v[d + nd])
                }
                _ => (0, 0),
            };
            let o = natural - pb - pe;
            ensure!(o >= 0, "ConvTranspose output dimension {} is negative", d);
            output[d] = o as usize;
            pad[d] = pb as isize;
        } else {
            // Pads follow from the output shape (given, or input*stride for SAME).
            let o = match &out_shape {
                Some(s) => s[d],
                None => input[d] as i64 * strides[d] as i64,
            };
            let total = natural - o;
            let pb = if p.auto_pad == "SAME_UPPER" {
                total.div_euclid(2)
            } else {
                total - total.div_euclid(2)
            };
            output[d] = o as usize;
            pad[d] = pb as isize;
        }
    }
    Ok(Geom {
        input: input.to_vec(),
        kernel,
        output,
        strides,
        dil,
        pad,
    })
}

/// Range of output positions `o` along one dimension for which
/// `o*stride + off` lies in `0..len`.
#[inline]
fn valid_range(out: usize, stride: usize, off: isize, len: usize) -> (usize, usize) {
    let lo = if off >= 0 {
        0
    } else {
        ((-off) as usize).div_ceil(stride)
    };
    let last = len as isize - 1 - off;
    if last < 0 {
        return (0, 0);
    }
    let hi = (last as usize / stride + 1).min(out);
    (lo.min(hi), hi)
}

/// im2col for one group: `x` is `[cg, in...]`, `col` becomes `[cg*K, out]`.
#[inline(always)]
pub(crate) fn im2col<T: Copy + Default>(x: &[T], cg: usize, g: &Geom, col: &mut [T]) {
    let nd = g.input.len();
    let ks = g.kernel_size();
    let os = g.out_size();
    let is = g.in_size();
    let inner = g.output[nd - 1];
    let outer = os.checked_div(inner).unwrap_or(0);
    let in_strides = crate::ops::util::strides(&g.input);
    let mut kidx = vec![0usize; nd];
    let mut oidx = vec![0usize; nd];
    for c in 0..cg {
        let xc = &x[c * is..(c + 1) * is];
        for kf in 0..ks {
            unravel(kf, &g.kernel, &mut kidx);
            let row = &mut col[(c * ks + kf) * os..(c * ks + kf + 1) * os];
            let off_last = (kidx[nd - 1] * g.dil[nd - 1]) as isize - g.pad[nd - 1];
            let (lo, hi) = valid_range(inner, g.strides[nd - 1], off_last, g.input[nd - 1]);
            let s = g.strides[nd - 1];
            for o in 0..outer {
                let dst = &mut row[o * inner..(o + 1) * inner];
                unravel(o, &g.output[..nd - 1], &mut oidx[..nd - 1]);
                let mut base = 0isize;
                let mut ok = true;
                for d in 0..nd - 1 {
                    let i = (oidx[d] * g.strides[d] + kidx[d] * g.dil[d]) as isize - g.pad[d];
                    if i < 0 || i >= g.input[d] as isize {
                        ok = false;
                        break;
                    }
                    base += i * in_strides[d] as isize;
                }
                if !ok || lo >= hi {
                    dst.fill(T::default());
                    continue;
                }
                dst[..lo].fill(T::default());
                dst[hi..].fill(T::default());
                let start = (base + lo as isize * s as isize + off_last) as usize;
                if s == 1 {
                    dst[lo..hi].copy_from_slice(&xc[start..start + (hi - lo)]);
                } else if s == 2 {
                    // Pairs, so that the compiler can vectorise the even-element gather.
                    let n = hi - lo;
                    let pairs = &xc[start..start + 2 * (n - 1)];
                    for (v, p) in dst[lo..hi - 1].iter_mut().zip(pairs.chunks_exact(2)) {
                        *v = p[0];
                    }
                    dst[hi - 1] = xc[start + 2 * (n - 1)];
                } else {
                    for (j, v) in dst[lo..hi].iter_mut().enumerate() {
                        *v = xc[start + j * s];
                    }
                }
            }
        }
    }
}

/// col2im for one group: adds `col` (`[mg*K, in]`) into `y` (`[mg, out...]`).
fn col2im(col: &[f32], mg: usize, g: &Geom, y: &mut [f32]) {
    // Here `g.input` is the ConvTranspose input (the "columns"), `g.output` the image.
    let nd = g.input.len();
    let ks = g.kernel_size();
    let is = g.in_size();
    let os = g.out_size();
    let inner = g.input[nd - 1];
    let outer = is.checked_div(inner).unwrap_or(0);
    let out_strides = crate::ops::util::strides(&g.output);
    let mut kidx = vec![0usize; nd];
    let mut iidx = vec![0usize; nd];
    let s = g.strides[nd - 1];
    for m in 0..mg {
        let ym = &mut y[m * os..(m + 1) * os];
        for kf in 0..ks {
            unravel(kf, &g.kernel, &mut kidx);
            let row = &col[(m * ks + kf) * is..(m * ks + kf + 1) * is];
            let off_last = (kidx[nd - 1] * g.dil[nd - 1]) as isize - g.pad[nd - 1];
            let (lo, hi) = valid_range(inner, s, off_last, g.output[nd - 1]);
            if lo >= hi {
                continue;
            }
            for o in 0..outer {
                unravel(o, &g.input[..nd - 1], &mut iidx[..nd - 1]);
                let mut base = 0isize;
                let mut ok = true;
                for d in 0..nd - 1 {
                    let i = (iidx[d] * g.strides[d] + kidx[d] * g.dil[d]) as isize - g.pad[d];
                    if i < 0 || i >= g.output[d] as isize {
                        ok = false;
                        break;
                    }
                    base += i * out_strides[d] as isize;
                }
                if !ok {
                    continue;
                }
                let src = &row[o * inner + lo..o * inner + hi];
                let start = (base + lo as isize * s as isize + off_last) as usize;
                for (j, &v) in src.iter().enumerate() {
                    ym[start + j * s] += v;
                }
            }
        }
    }
}

thread_local! {
    /// Depthwise scratch and the geometry its zero padding was laid out for.
    static DW_SCRATCH: std::cell::RefCell<(Vec<f32>, [isize; 12])> = const { std::cell::RefCell::new((Vec::new(), [0; 12])) };
}

/// Direct 2-D convolution of one channel (depthwise): `x` `[H, W]`, `w` `[kh, kw]`,
/// `y` `[OH, OW]` filled with `act(bias + sum)`.
///
/// The channel is first copied into a zero-padded buffer split into
/// `stride_h x stride_w` phase planes (`plane[qr][qc][r][t] = padded[r*sh + qr][t*sw + qc]`),
/// each `plen` wide. Then every kernel tap reads one contiguous run of a plane for the
/// whole output (computed `plen` wide, the extra columns discarded), so each tap is
/// one long vectorised update whatever the strides and the image size.
fn depthwise_2d(x: &[f32], w: &[f32], bias: f32, g: &Geom, y: &mut [f32], act: Activation) {
    crate::scratch::with(&DW_SCRATCH, |(buf, key)| {
        // Every channel of a geometry writes the same interior cells, so the padding
        // stays zero between channels and calls: clear only when the geometry changes.
        let k: [isize; 12] = [
            g.input[0] as isize,
            g.input[1] as isize,
            g.kernel[0] as isize,
            g.kernel[1] as isize,
            g.strides[0] as isize,
            g.strides[1] as isize,
            g.dil[0] as isize,
            g.dil[1] as isize,
            g.pad[0],
            g.pad[1],
            g.output[0] as isize,
            g.output[1] as isize,
        ];
        if *key != k {
            buf.clear();
            *key = k;
        }
        depthwise_2d_with(x, w, bias, g, y, act, buf)
    })
}

fn depthwise_2d_with(
    x: &[f32],
    w: &[f32],
    bias: f32,
    g: &Geom,
    y: &mut [f32],
    act: Activation,
    buf: &mut Vec<f32>,
) {
    let (ih, iw) = (g.input[0], g.input[1]);
    let (kh, kw) = (g.kernel[0], g.kernel[1]);
    let (oh, ow) = (g.output[0], g.output[1]);
    let (sh, sw) = (g.strides[0], g.strides[1]);
    let (dh, dw) = (g.dil[0], g.dil[1]);
    let (pt, pl) = (g.pad[0], g.pad[1]);
    // Padded extent actually read.
    let ph = (oh - 1) * sh + (kh - 1) * dh + 1;
    let pw = (ow - 1) * sw + (kw - 1) * dw + 1;
    let plen = pw.div_ceil(sw);
    let prow = ph.div_ceil(sh) + 1; // one spare row: the discarded columns read past the end
    let plane = prow * plen;
    let out_len = oh * plen;
    buf.resize(sh * sw * plane + out_len, 0.0);
    let (planes, out) = buf.split_at_mut(sh * sw * plane);
    // Padded columns c with 0 <= c - pl < iw.
    let c_lo = pl.max(0) as usize;
    let c_hi = ((iw as isize + pl).max(0) as usize).min(pw);
    for r in 0..ph {
        let sr = r as isize - pt;
        if sr < 0 || sr >= ih as isize {
            continue;
        }
        let src = &x[sr as usize * iw..(sr as usize + 1) * iw];
        let (qr, rr) = (r % sh, r / sh);
        if sw == 1 {
            if c_lo < c_hi {
                let d = &mut planes[qr * plane + rr * plen..][..plen];
                let s0 = (c_lo as isize - pl) as usize;
                d[c_lo..c_hi].copy_from_slice(&src[s0..s0 + (c_hi - c_lo)]);
            }
            continue;
        }
        let row_planes = &mut planes[qr * sw * plane..(qr + 1) * sw * plane];
        if sw == 2 && c_lo < c_hi {
            // Deinterleave the row into its two column phases (vectorised).
            let (p0, p1) = row_planes.split_at_mut(plane);
            let s0 = (c_lo as isize - pl) as usize;
            let src = &src[s0..s0 + (c_hi - c_lo)];
            let t0 = c_lo / 2;
            let (first, second) = if c_lo.is_multiple_of(2) {
                (
                    &mut p0[rr * plen + t0..(rr + 1) * plen],
                    &mut p1[rr * plen + t0..(rr + 1) * plen],
                )
            } else {
                (
                    &mut p1[rr * plen + t0..(rr + 1) * plen],
                    &mut p0[rr * plen + t0 + 1..(rr + 1) * plen],
                )
            };
            simd::deinterleave2(src, first, second);
            continue;
        }
        for c in c_lo..c_hi {
            let v = src[(c as isize - pl) as usize];
            row_planes[(c % sw) * plane + rr * plen + c / sw] = v;
        }
    }
    let tap = |t: usize| {
        let (a, b) = (t / kw, t % kw);
        let (dr, dc) = (a * dh, b * dw);
        let start = ((dr % sh) * sw + dc % sw) * plane + (dr / sh) * plen + dc / sw;
        (start, w[t])
    };
    if kh * kw == 9 {
        let taps: [(usize, f32); 9] = std::array::from_fn(tap);
        let wv: [f32; 9] = std::array::from_fn(|t| taps[t].1);
        if ow >= 16 {
            // Wide rows: straight into the output, row by row.
            for (r, yrow) in y.chunks_exact_mut(ow).take(oh).enumerate() {
                let s: [&[f32]; 9] = std::array::from_fn(|t| &planes[taps[t].0 + r * plen..][..ow]);
                simd::taps9(yrow, &s, &wv, bias);
                act.apply(yrow);
            }
            return;
        }
        let s: [&[f32]; 9] = std::array::from_fn(|t| &planes[taps[t].0..taps[t].0 + out_len]);
        simd::taps9(out, &s, &wv, bias);
    } else {
        out.fill(bias);
        for t in 0..kh * kw {
            let (start, wv) = tap(t);
            simd::axpy(out, &planes[start..start + out_len], wv);
        }
    }
    for (r, yrow) in y.chunks_exact_mut(ow).take(oh).enumerate() {
        yrow.copy_from_slice(&out[r * plen..r * plen + ow]);
        act.apply(yrow);
    }
}

/// f32 convolution with fused bias and activation. `x` is `[N, C, in...]`, `w` is
/// `[M, C/group, k...]`, `bias` has `M` values. Returns the output shape and data.
pub fn conv_f32(
    x: &[f32],
    x_shape: &[usize],
    w: &[f32],
    w_shape: &[usize],
    bias: Option<&[f32]>,
    p: &ConvParams,
    act: Activation,
) -> Result<(Vec<usize>, Vec<f32>)> {
    ensure!(
        x_shape.len() >= 3,
        "Conv input must have rank 3 or more, got {:?}",
        x_shape
    );
    ensure!(
        w_shape.len() == x_shape.len(),
        "Conv weights {:?} do not match input {:?}",
        w_shape,
        x_shape
    );
    let (n, c) = (x_shape[0], x_shape[1]);
    let m = w_shape[0];
    let group = p.group as usize;
    ensure!(
        c.is_multiple_of(group) && m.is_multiple_of(group) && w_shape[1] * group == c,
        "Conv channels do not match: input {:?}, weights {:?}, group {}",
        x_shape,
        w_shape,
        group
    );
    if let Some(b) = bias {
        ensure!(
            b.len() == m,
            "Conv bias has {} values, expected {}",
            b.len(),
            m
        );
    }
    ensure!(
        x.len() == checked_len(x_shape)? && w.len() == checked_len(w_shape)?,
        "Conv data size mismatch"
    );
    let geom = conv_geom(p, &x_shape[2..], w_shape)?;
    let mut out_shape = vec![n, m];
    out_shape.extend_from_slice(&geom.output);
    let out_len = checked_len(&out_shape)?;
    // Every path below writes all of y (the GEMM with beta 0 does not read it).
    let mut y = runnx_ir::buffers::take_dirty(out_len, 0f32)?;
    if out_len == 0 {
        return Ok((out_shape, y));
    }
    let (cg, mg) = (c / group, m / group);
    let g2 = geom.promoted();
    let ks = geom.kernel_size();
    let is = geom.in_size();
    let os = geom.out_size();

    // Depthwise on a small map with enough channels to fill vectors: channels-last.
    let small_map = c >= 16 && os <= depthwise_cl::MAX_PIXELS;
    if cg == 1 && mg == 1 && g2.input.len() == 2 && small_map && g2.kernel.iter().all(|&k| k > 0) {
        for (xi, yi) in x.chunks_exact(c * is).zip(y.chunks_exact_mut(c * os)) {
            depthwise_cl::depthwise_channels_last(xi, w, bias, c, &g2, yi, act)?;
        }
        return Ok((out_shape, y));
    }
    // Depthwise (one input channel per group): direct, parallel over channels.
    if cg == 1 && g2.input.len() == 2 && g2.kernel.iter().all(|&k| k > 0) {
        let cost = ks * os;
        crate::par::for_each_chunk_mut(&mut y, os, cost, |idx, ych| {
            let (img, oc) = (idx / m, idx % m);
            let ic = oc / mg;
            let xc = &x[(img * c + ic) * is..(img * c + ic + 1) * is];
            let wc = &w[oc * ks..(oc + 1) * ks];
            let b = bias.map_or(0.0, |b| b[oc]);
            depthwise_2d(xc, wc, b, &g2, ych, act);
        });
        return Ok((out_shape, y));
    }

    let pointwise = geom.is_pointwise();
    let kdim = cg * ks;
    crate::scratch::with(&COL_SCRATCH, |col| -> Result<()> {
        if !pointwise && col.len() < kdim * os {
            // im2col writes every element, so stale contents never leak through.
            col.resize(kdim * os, 0.0);
        }
        conv_groups(
            x,
            w,
            bias,
            act,
            &mut y,
            &mut col[..],
            n,
            c,
            m,
            group,
            &g2,
            pointwise,
        )
    })?;
    Ok((out_shape, y))
}

thread_local! {
    static COL_SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The GEMM path of [`conv_f32`]: per image and group, im2col (unless pointwise) and GEMM.
#[allow(clippy::too_many_arguments)]
fn conv_groups(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    col: &mut [f32],
    n: usize,
    c: usize,
    m: usize,
    group: usize,
    g2: &Geom,
    pointwise: bool,
) -> Result<()> {
    let (cg, mg) = (c / group, m / group);
    let (ks, is, os) = (g2.kernel_size(), g2.in_size(), g2.out_size());
    let kdim = cg * ks;
    for img in 0..n {
        for gi in 0..group {
            let xg = &x[(img * c + gi * cg) * is..(img * c + (gi + 1) * cg) * is];
            let wg = &w[gi * mg * kdim..(gi + 1) * mg * kdim];
            let yg = &mut y[(img * m + gi * mg) * os..(img * m + (gi + 1) * mg) * os];
            let bmat = if pointwise {
                MatRef::row_major(xg, os)
            } else {
                let col = &mut col[..kdim * os];
                simd::im2col_f32(xg, cg, g2, col);
                MatRef::row_major(col, os)
            };
            let ep = Epilogue {
                bias: bias.map_or(Bias::None, |b| Bias::Row(&b[gi * mg..(gi + 1) * mg])),
                act,
            };
            gemm::sgemm(
                mg,
                os,
                kdim,
                1.0,
                MatRef::row_major(wg, kdim),
                bmat,
                0.0,
                yg,
                os,
                &ep,
            )?;
        }
    }
    Ok(())
}

/// f32 transposed convolution. `x` is `[N, C, in...]`, `w` is `[C, M/group, k...]`.
pub fn conv_transpose_f32(
    x: &[f32],
    x_shape: &[usize],
    w: &[f32],
    w_shape: &[usize],
    bias: Option<&[f32]>,
    p: &ConvParams,
    act: Activation,
) -> Result<(Vec<usize>, Vec<f32>)> {
    ensure!(
        x_shape.len() >= 3,
        "ConvTranspose input must have rank 3 or more, got {:?}",
        x_shape
    );
    ensure!(
        w_shape.len() == x_shape.len(),
        "ConvTranspose weights {:?} do not match input {:?}",
        w_shape,
        x_shape
    );
    let (n, c) = (x_shape[0], x_shape[1]);
    let group = p.group as usize;
    ensure!(
        w_shape[0] == c && c.is_multiple_of(group),
        "ConvTranspose channels do not match: input {:?}, weights {:?}, group {}",
        x_shape,
        w_shape,
        group
    );
    let mg = w_shape[1];
    let m = mg * group;
    let cg = c / group;
    if let Some(b) = bias {
        ensure!(
            b.len() == m,
            "ConvTranspose bias has {} values, expected {}",
            b.len(),
            m
        );
    }
    ensure!(
        x.len() == checked_len(x_shape)? && w.len() == checked_len(w_shape)?,
        "ConvTranspose data size mismatch"
    );
    let geom = convt_geom(p, &x_shape[2..], w_shape)?;
    let mut out_shape = vec![n, m];
    out_shape.extend_from_slice(&geom.output);
    let out_len = checked_len(&out_shape)?;
    let mut y = runnx_ir::buffers::take(out_len, 0f32)?;
    if out_len == 0 {
        return Ok((out_shape, y));
    }
    let g2 = geom.promoted();
    let ks = geom.kernel_size();
    let is = geom.in_size();
    let os = geom.out_size();
    let rows = mg * ks;
    let mut col = vec![0f32; rows * is];
    for img in 0..n {
        for gi in 0..group {
            let xg = &x[(img * c + gi * cg) * is..(img * c + (gi + 1) * cg) * is];
            let wg = &w[gi * cg * rows..(gi + 1) * cg * rows];
            // col[mg*K x in] = W_g^T (W_g is [cg x mg*K]) * X_g [cg x in]
            gemm::sgemm(
                rows,
                is,
                cg,
                1.0,
                MatRef::transposed(wg, rows),
                MatRef::row_major(xg, is),
                0.0,
                &mut col,
                is,
                &Epilogue::NONE,
            )?;
            let yg = &mut y[(img * m + gi * mg) * os..(img * m + (gi + 1) * mg) * os];
            col2im(&col, mg, &g2, yg);
            for (oc, ych) in yg.chunks_mut(os.max(1)).enumerate() {
                if let Some(b) = bias {
                    let v = b[gi * mg + oc];
                    ych.iter_mut().for_each(|x| *x += v);
                }
                act.apply(ych);
            }
        }
    }
    Ok((out_shape, y))
}

type ConvFn = fn(
    &[f32],
    &[usize],
    &[f32],
    &[usize],
    Option<&[f32]>,
    &ConvParams,
    Activation,
) -> Result<(Vec<usize>, Vec<f32>)>;

fn conv_kernel(p: ConvParams, act: Activation, f: ConvFn, name: &'static str) -> Box<dyn Kernel> {
    kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let w = inputs.tensor(1)?;
        let b = inputs.opt_tensor(2)?;
        let dt = x.dtype();
        ensure!(dt.is_float(), "{} expects float tensors, got {}", name, dt);
        ensure!(
            w.dtype() == dt,
            "{} weights are {}, input is {}",
            name,
            w.dtype(),
            dt
        );
        let (xs, ws) = (as_f32(x)?, as_f32(w)?);
        let bs = match b {
            Some(b) => Some(as_f32(b)?),
            None => None,
        };
        let bias = match &bs {
            Some(b) => Some(b.as_slice::<f32>()?),
            None => None,
        };
        let (shape, y) = f(
            xs.as_slice::<f32>()?,
            x.shape(),
            ws.as_slice::<f32>()?,
            w.shape(),
            bias,
            &p,
            act,
        )?;
        let out = Tensor::new(shape, y)?;
        Ok(vec![Value::Tensor(from_f32(out, dt)?)])
    })
}

pub(crate) fn build_conv(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(conv_kernel(
        ConvParams::from_node(n)?,
        Activation::None,
        conv_f32,
        "Conv",
    ))
}

pub(crate) fn build_conv_transpose(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(conv_kernel(
        ConvParams::from_node(n)?,
        Activation::None,
        conv_transpose_f32,
        "ConvTranspose",
    ))
}

/// `runnx.FusedConv`: Conv attributes plus `activation` (an ONNX activation op name)
/// and `activation_params` (its alpha/beta or min/max).
pub(crate) fn build_fused_conv(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(conv_kernel(
        ConvParams::from_node(n)?,
        fused_activation(n)?,
        conv_f32,
        "FusedConv",
    ))
}

/// The `activation` / `activation_params` attributes of a fused node.
pub(crate) fn fused_activation(n: &NodeCtx) -> Result<Activation> {
    let name = n.attr_str("activation", "")?;
    let params = n.attr_floats("activation_params", Vec::new())?;
    Activation::from_name(&name, &params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    }

    /// Direct N-D convolution, straight from the definition.
    fn naive_conv(
        x: &[f32],
        xs: &[usize],
        w: &[f32],
        ws: &[usize],
        b: Option<&[f32]>,
        g: &Geom,
        group: usize,
    ) -> Vec<f32> {
        let (n, c, m) = (xs[0], xs[1], ws[0]);
        let (cg, mg) = (c / group, m / group);
        let nd = g.input.len();
        let (os, is, ks) = (g.out_size(), g.in_size(), g.kernel_size());
        let mut y = vec![0f32; n * m * os];
        let mut oi = vec![0; nd];
        let mut ki = vec![0; nd];
        for img in 0..n {
            for oc in 0..m {
                let gi = oc / mg;
                for o in 0..os {
                    unravel(o, &g.output, &mut oi);
                    let mut s = b.map_or(0.0, |b| b[oc]);
                    for cl in 0..cg {
                        let ic = gi * cg + cl;
                        for kf in 0..ks {
                            unravel(kf, &g.kernel, &mut ki);
                            let mut off = 0usize;
                            let mut ok = true;
                            for d in 0..nd {
                                let p =
                                    (oi[d] * g.strides[d] + ki[d] * g.dil[d]) as isize - g.pad[d];
                                if p < 0 || p >= g.input[d] as isize {
                                    ok = false;
                                    break;
                                }
                                off = off * g.input[d] + p as usize;
                            }
                            if ok {
                                s += x[(img * c + ic) * is + off] * w[(oc * cg + cl) * ks + kf];
                            }
                        }
                    }
                    y[(img * m + oc) * os + o] = s;
                }
            }
        }
        y
    }

    #[test]
    fn conv_matches_naive() {
        // (input spatial, kernel, strides, dilations, pads begin+end, C, M, group)
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            Vec<usize>,
            Vec<usize>,
            Vec<i64>,
            Vec<i64>,
            Vec<i64>,
            usize,
            usize,
            i64,
        )> = vec![
            (vec![9], vec![3], vec![1], vec![1], vec![1, 1], 3, 4, 1),
            (vec![11], vec![3], vec![2], vec![2], vec![0, 2], 4, 4, 4),
            (
                vec![7, 8],
                vec![3, 3],
                vec![1, 1],
                vec![1, 1],
                vec![1, 1, 1, 1],
                3,
                5,
                1,
            ),
            (
                vec![7, 8],
                vec![1, 1],
                vec![1, 1],
                vec![1, 1],
                vec![0, 0, 0, 0],
                6,
                5,
                1,
            ),
            (
                vec![7, 8],
                vec![1, 1],
                vec![2, 2],
                vec![1, 1],
                vec![0, 0, 0, 0],
                6,
                4,
                2,
            ),
            (
                vec![9, 10],
                vec![3, 3],
                vec![2, 1],
                vec![1, 2],
                vec![1, 0, 2, 1],
                4,
                6,
                2,
            ),
            (
                vec![10, 9],
                vec![3, 3],
                vec![1, 1],
                vec![1, 1],
                vec![1, 1, 1, 1],
                6,
                6,
                6,
            ),
            // Depthwise on small maps with many channels: the channels-last path
            // (strides, dilation, asymmetric pads, a channel count off the vector width).
            (
                vec![7, 7],
                vec![3, 3],
                vec![1, 1],
                vec![1, 1],
                vec![1, 1, 1, 1],
                32,
                32,
                32,
            ),
            (
                vec![13, 12],
                vec![3, 3],
                vec![2, 2],
                vec![1, 1],
                vec![1, 0, 1, 1],
                24,
                24,
                24,
            ),
            (
                vec![9, 9],
                vec![5, 5],
                vec![1, 1],
                vec![2, 2],
                vec![2, 2, 2, 2],
                16,
                16,
                16,
            ),
            (
                vec![6, 8],
                vec![3, 2],
                vec![2, 1],
                vec![1, 1],
                vec![0, 1, 2, 0],
                17,
                17,
                17,
            ),
            (vec![20], vec![3], vec![1], vec![1], vec![1, 1], 18, 18, 18),
            (
                vec![10, 9],
                vec![3, 3],
                vec![2, 2],
                vec![1, 1],
                vec![1, 1, 1, 1],
                4,
                8,
                4,
            ),
            (
                vec![10, 9],
                vec![5, 3],
                vec![2, 3],
                vec![2, 1],
                vec![2, 0, 1, 1],
                3,
                6,
                3,
            ),
            (
                vec![5, 40],
                vec![3, 3],
                vec![1, 1],
                vec![1, 1],
                vec![1, 1, 1, 1],
                3,
                3,
                3,
            ),
            (
                vec![6, 41],
                vec![3, 3],
                vec![2, 2],
                vec![1, 1],
                vec![1, 1, 1, 1],
                3,
                3,
                3,
            ),
            (
                vec![6, 41],
                vec![3, 3],
                vec![2, 2],
                vec![1, 1],
                vec![0, 0, 1, 1],
                2,
                2,
                2,
            ),
            (
                vec![5, 6, 7],
                vec![3, 2, 3],
                vec![1, 2, 1],
                vec![1, 1, 2],
                vec![1, 0, 1, 1, 1, 0],
                2,
                3,
                1,
            ),
            (
                vec![5, 6, 7],
                vec![3, 3, 3],
                vec![1, 1, 1],
                vec![1, 1, 1],
                vec![1, 1, 1, 1, 1, 1],
                4,
                4,
                4,
            ),
        ];
        let mut seed = 42u64;
        for (inp, k, s, d, pads, c, m, group) in cases {
            let mut xs = vec![2, c];
            xs.extend(&inp);
            let mut ws = vec![m, c / group as usize];
            ws.extend(&k);
            let x: Vec<f32> = (0..xs.iter().product::<usize>())
                .map(|_| lcg(&mut seed))
                .collect();
            let w: Vec<f32> = (0..ws.iter().product::<usize>())
                .map(|_| lcg(&mut seed))
                .collect();
            let b: Vec<f32> = (0..m).map(|_| lcg(&mut seed)).collect();
            let p = ConvParams {
                auto_pad: "NOTSET".into(),
                dilations: Some(d),
                group,
                kernel_shape: None,
                pads: Some(pads),
                strides: Some(s),
                output_padding: None,
                output_shape: None,
            };
            let g = conv_geom(&p, &inp, &ws).unwrap();
            let want = naive_conv(&x, &xs, &w, &ws, Some(&b), &g, group as usize);
            let (shape, got) = conv_f32(&x, &xs, &w, &ws, Some(&b), &p, Activation::None).unwrap();
            assert_eq!(shape[2..], g.output[..]);
            for (i, (a, e)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (a - e).abs() < 1e-4,
                    "case {:?} k {:?} at {}: {} vs {}",
                    xs,
                    ws,
                    i,
                    a,
                    e
                );
            }
            let (_, relu) = conv_f32(&x, &xs, &w, &ws, Some(&b), &p, Activation::Relu).unwrap();
            for (a, e) in relu.iter().zip(&want) {
                assert!((a - e.max(0.0)).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn conv_rejects_bad_shapes() {
        let p = ConvParams {
            group: 1,
            auto_pad: "NOTSET".into(),
            ..Default::default()
        };
        let x = vec![0f32; 2 * 3 * 4];
        let w = vec![0f32; 5 * 2 * 9];
        let big = vec![0f32; 5 * 2 * 16];
        assert!(conv_f32(
            &x,
            &[1, 2, 3, 4],
            &big,
            &[5, 2, 4, 4],
            None,
            &p,
            Activation::None
        )
        .is_err());
        assert!(conv_f32(
            &x,
            &[1, 2, 3, 4],
            &w,
            &[5, 2, 3, 3],
            None,
            &p,
            Activation::None
        )
        .is_ok());
        assert!(conv_f32(
            &x,
            &[1, 2, 3, 4],
            &w,
            &[5, 3, 3, 2],
            None,
            &p,
            Activation::None
        )
        .is_err());
        let p5 = ConvParams { group: 5, ..p };
        assert!(conv_f32(
            &x,
            &[1, 2, 3, 4],
            &w,
            &[5, 2, 3, 3],
            None,
            &p5,
            Activation::None
        )
        .is_err());
    }
}
