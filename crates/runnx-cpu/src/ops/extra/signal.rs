//! DFT, STFT, window functions and MelWeightMatrix.

use super::fft::{Fft, C64};
use super::{dtype_from_code, scalar_f64, scalar_i64, tensor_from_f64, to_usize};
use crate::par::for_each_chunk_mut;
use crate::Registry;
use runnx_ir::tensor::checked_len;
use runnx_ir::{bail, ensure, kernel, DType, Kernel, NodeCtx, Result, Tensor, Value};
use std::f64::consts::PI;

pub fn register(r: &mut Registry) {
    r.add("DFT", dft);
    r.add("STFT", stft);
    r.add("HannWindow", hann_window);
    r.add("HammingWindow", hamming_window);
    r.add("BlackmanWindow", blackman_window);
    r.add("MelWeightMatrix", mel_weight_matrix);
}

/// Largest transform length accepted (keeps plans and buffers allocatable).
const MAX_FFT: usize = 1 << 30;

/// Reads a float tensor (any float type) as f64 values.
fn float_values(t: &Tensor, what: &str) -> Result<Vec<f64>> {
    ensure!(
        t.dtype().is_float(),
        "{what} must be a float tensor, got {}",
        t.dtype()
    );
    t.to_f64_vec()
}

/// What one batch of 1-D transforms does.
#[derive(Clone, Copy)]
struct Transform {
    /// Transform length.
    n: usize,
    inverse: bool,
    /// Forward: keep n/2+1 bins. Inverse: the input is a half spectrum, the output real.
    onesided: bool,
}

impl Transform {
    fn out_len(&self) -> usize {
        if self.onesided && !self.inverse {
            self.n / 2 + 1
        } else {
            self.n
        }
    }

    fn out_channels(&self) -> usize {
        if self.onesided && self.inverse {
            1
        } else {
            2
        }
    }

    /// Transform one line: `line` holds the input samples (padded/truncated by the
    /// caller to at most `n`), `out` receives `out_len * out_channels` values.
    fn run(&self, fft: &Fft, line: &mut [C64], out: &mut [f64]) {
        let n = self.n;
        if self.inverse && self.onesided {
            // Build the Hermitian spectrum from the first n/2+1 bins.
            let half = n / 2 + 1;
            for k in half..n {
                line[k] = line[n - k].conj();
            }
        }
        if self.inverse {
            fft.inverse(line);
        } else {
            fft.forward(line);
        }
        let scale = if self.inverse && n > 0 {
            1.0 / n as f64
        } else {
            1.0
        };
        let ch = self.out_channels();
        for (k, o) in out.chunks_exact_mut(ch).enumerate() {
            let v = line[k];
            o[0] = v.re * scale;
            if ch == 2 {
                o[1] = v.im * scale;
            }
        }
    }
}

/// Apply `tr` along `axis` of `x` (values `xs`, shape `shape`, last dim 1 or 2).
/// Returns the output values and shape.
fn transform_axis(
    xs: &[f64],
    shape: &[usize],
    axis: usize,
    tr: Transform,
) -> Result<(Vec<f64>, Vec<usize>)> {
    let rank = shape.len();
    ensure!(
        rank >= 2,
        "input must have rank >= 2, got shape {:?}",
        shape
    );
    let c = shape[rank - 1];
    ensure!(
        c == 1 || c == 2,
        "the last dimension must be 1 (real) or 2 (complex), got {}",
        c
    );
    ensure!(
        axis < rank - 1,
        "axis {} is out of range for rank {} (the last axis holds real/imaginary)",
        axis,
        rank
    );
    ensure!(tr.n <= MAX_FFT, "dft_length {} is too large", tr.n);
    let outer: usize = shape[..axis].iter().product();
    let len_in = shape[axis];
    let inner: usize = shape[axis + 1..rank - 1].iter().product();
    let out_len = tr.out_len();
    let cout = tr.out_channels();
    let mut out_shape = shape.to_vec();
    out_shape[axis] = out_len;
    out_shape[rank - 1] = cout;
    let total = checked_len(&out_shape)?;
    let line_out = out_len * cout;
    // Samples read per line: the first n (or n/2+1 for a half spectrum).
    let take = if tr.inverse && tr.onesided {
        (tr.n / 2 + 1).min(len_in)
    } else {
        tr.n.min(len_in)
    };
    let fft = Fft::new(tr.n);
    // Line-major scratch: lines (outer, inner), each `line_out` values.
    let mut lines = vec![0f64; total];
    let cost = tr.n.max(1) * (usize::BITS - tr.n.leading_zeros()) as usize * 8;
    if line_out > 0 {
        for_each_chunk_mut(&mut lines, line_out, cost, |li, out| {
            let o = li / inner.max(1);
            let i = li % inner.max(1);
            let mut buf = vec![C64::ZERO; tr.n];
            for (k, b) in buf.iter_mut().take(take).enumerate() {
                let base = ((o * len_in + k) * inner + i) * c;
                let re = xs[base];
                let im = if c == 2 { xs[base + 1] } else { 0.0 };
                *b = C64::new(re, im);
            }
            tr.run(&fft, &mut buf, out);
        });
    }
    // Scatter lines into the output layout.
    let mut out = vec![0f64; total];
    if inner == 1 {
        out = lines;
    } else {
        for o in 0..outer {
            for i in 0..inner {
                let src = &lines[(o * inner + i) * line_out..][..line_out];
                for k in 0..out_len {
                    let dst = ((o * out_len + k) * inner + i) * cout;
                    out[dst..dst + cout].copy_from_slice(&src[k * cout..(k + 1) * cout]);
                }
            }
        }
    }
    Ok((out, out_shape))
}

fn dft(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let inverse = n.attr_int("inverse", 0)? != 0;
    let onesided = n.attr_int("onesided", 0)? != 0;
    let opset = n.opset;
    let axis_attr = n.attr_int("axis", 1)?;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let xs = float_values(x, "input")?;
        let shape = x.shape();
        let rank = shape.len() as i64;
        let axis = if opset >= 20 {
            match inputs.opt_tensor(2)? {
                Some(t) => scalar_i64(t, "axis")?,
                None => -2,
            }
        } else {
            axis_attr
        };
        let axis = if axis < 0 { axis + rank } else { axis };
        ensure!(
            axis >= 0 && axis < rank - 1,
            "axis {} is out of range for input of shape {:?}",
            axis,
            shape
        );
        let axis = axis as usize;
        let len_in = shape[axis];
        let n_fft = match inputs.opt_tensor(1)? {
            Some(t) => {
                let v = scalar_i64(t, "dft_length")?;
                ensure!(v > 0, "dft_length must be positive, got {}", v);
                to_usize(v, "dft_length")?
            }
            None if inverse && onesided => 2 * len_in.saturating_sub(1),
            None => len_in,
        };
        ensure!(
            n_fft > 0,
            "the transform length must be positive (input of shape {:?})",
            shape
        );
        let tr = Transform {
            n: n_fft,
            inverse,
            onesided,
        };
        let (out, out_shape) = transform_axis(&xs, shape, axis, tr)?;
        Ok(vec![Value::Tensor(tensor_from_f64(
            x.dtype(),
            out_shape,
            &out,
        )?)])
    }))
}

fn stft(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let onesided = n.attr_int("onesided", 1)? != 0;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let xs = float_values(x, "signal")?;
        let shape = x.shape();
        ensure!(
            shape.len() == 3,
            "signal must be [batch, length, 1 or 2], got {:?}",
            shape
        );
        let (batch, len, c) = (shape[0], shape[1], shape[2]);
        ensure!(
            c == 1 || c == 2,
            "signal's last dimension must be 1 or 2, got {}",
            c
        );
        let step = scalar_i64(inputs.tensor(1)?, "frame_step")?;
        ensure!(step > 0, "frame_step must be positive, got {}", step);
        let step = step as usize;
        let window = match inputs.opt_tensor(2)? {
            Some(w) => {
                ensure!(
                    w.rank() == 1,
                    "window must be 1-D, got shape {:?}",
                    w.shape()
                );
                Some(float_values(w, "window")?)
            }
            None => None,
        };
        let frame_length = match inputs.opt_tensor(3)? {
            Some(t) => {
                let v = scalar_i64(t, "frame_length")?;
                ensure!(v > 0, "frame_length must be positive, got {}", v);
                v as usize
            }
            None => match &window {
                Some(w) => w.len(),
                None => len,
            },
        };
        if let Some(w) = &window {
            ensure!(
                w.len() == frame_length,
                "window length {} does not match frame_length {}",
                w.len(),
                frame_length
            );
        }
        ensure!(frame_length > 0, "frame_length must be positive");
        ensure!(
            frame_length <= MAX_FFT,
            "frame_length {} is too large",
            frame_length
        );
        ensure!(
            len >= frame_length,
            "signal length {} is shorter than frame_length {}",
            len,
            frame_length
        );
        let frames = 1 + (len - frame_length) / step;
        let tr = Transform {
            n: frame_length,
            inverse: false,
            onesided,
        };
        let bins = tr.out_len();
        let out_shape = vec![batch, frames, bins, 2];
        let total = checked_len(&out_shape)?;
        let mut out = vec![0f64; total];
        let fft = Fft::new(frame_length);
        let line = bins * 2;
        let cost = frame_length * (usize::BITS - frame_length.leading_zeros()) as usize * 8;
        for_each_chunk_mut(&mut out, line, cost, |li, o| {
            let b = li / frames;
            let f = li % frames;
            let mut buf = vec![C64::ZERO; frame_length];
            for (k, v) in buf.iter_mut().enumerate() {
                let base = (b * len + f * step + k) * c;
                let w = window.as_ref().map_or(1.0, |w| w[k]);
                let im = if c == 2 { xs[base + 1] } else { 0.0 };
                *v = C64::new(xs[base] * w, im * w);
            }
            tr.run(&fft, &mut buf, o);
        });
        Ok(vec![Value::Tensor(tensor_from_f64(
            x.dtype(),
            out_shape,
            &out,
        )?)])
    }))
}

/// A window builder: size -> values (f64), given whether it is periodic.
fn window_op(n: &NodeCtx, f: fn(f64, f64) -> f64) -> Result<Box<dyn Kernel>> {
    let periodic = n.attr_int("periodic", 1)? != 0;
    let dtype = dtype_from_code(n.attr_int("output_datatype", 1)?)?;
    ensure!(
        dtype.is_numeric(),
        "output_datatype must be numeric, got {}",
        dtype
    );
    Ok(kernel(move |inputs| {
        let size = scalar_i64(inputs.tensor(0)?, "size")?;
        ensure!(size >= 0, "window size must be >= 0, got {}", size);
        let size = size as usize;
        ensure!(size <= MAX_FFT, "window size {} is too large", size);
        let denom = if periodic {
            size
        } else {
            size.saturating_sub(1)
        };
        let v: Vec<f64> = (0..size)
            .map(|i| {
                if denom == 0 {
                    1.0
                } else {
                    f(i as f64, denom as f64)
                }
            })
            .collect();
        Ok(vec![Value::Tensor(tensor_from_f64(dtype, vec![size], &v)?)])
    }))
}

fn hann_window(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    window_op(n, |i, d| 0.5 - 0.5 * (2.0 * PI * i / d).cos())
}

fn hamming_window(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    window_op(n, |i, d| {
        let a0 = 25.0 / 46.0;
        a0 - (1.0 - a0) * (2.0 * PI * i / d).cos()
    })
}

fn blackman_window(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    window_op(n, |i, d| {
        0.42 - 0.5 * (2.0 * PI * i / d).cos() + 0.08 * (4.0 * PI * i / d).cos()
    })
}

fn mel_weight_matrix(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let dtype = dtype_from_code(n.attr_int("output_datatype", 1)?)?;
    ensure!(
        dtype.is_numeric(),
        "output_datatype must be numeric, got {}",
        dtype
    );
    Ok(kernel(move |inputs| {
        let mel_bins = scalar_i64(inputs.tensor(0)?, "num_mel_bins")?;
        let dft_length = scalar_i64(inputs.tensor(1)?, "dft_length")?;
        let sample_rate = scalar_i64(inputs.tensor(2)?, "sample_rate")?;
        let lower_t = inputs.tensor(3)?;
        let upper_t = inputs.tensor(4)?;
        let lower = scalar_f64(lower_t, "lower_edge_hertz")?;
        let upper = scalar_f64(upper_t, "upper_edge_hertz")?;
        ensure!(
            mel_bins > 0,
            "num_mel_bins must be positive, got {}",
            mel_bins
        );
        ensure!(
            dft_length > 0,
            "dft_length must be positive, got {}",
            dft_length
        );
        ensure!(
            sample_rate > 0,
            "sample_rate must be positive, got {}",
            sample_rate
        );
        ensure!(
            lower >= 0.0 && upper >= lower,
            "need 0 <= lower_edge_hertz <= upper_edge_hertz, got {} and {}",
            lower,
            upper
        );
        ensure!(
            dft_length <= MAX_FFT as i64 && mel_bins <= MAX_FFT as i64,
            "sizes are too large"
        );
        let mel_bins = mel_bins as usize;
        let spec_bins = dft_length as usize / 2 + 1;
        // Mel edges in the precision of the edge inputs (as the reference does).
        let single = lower_t.dtype() != DType::F64;
        let round = |v: f64| if single { v as f32 as f64 } else { v };
        let low_mel = round(2595.0 * round((1.0 + lower / 700.0).log10()));
        let high_mel = round(2595.0 * round((1.0 + upper / 700.0).log10()));
        let mel_step = round((high_mel - low_mel) / (mel_bins + 2) as f64);
        let bins: Vec<i64> = (0..mel_bins + 2)
            .map(|i| {
                let mel = i as f64 * mel_step + low_mel;
                let hz = 700.0 * (10f64.powf(mel / 2595.0) - 1.0);
                (((dft_length + 1) as f64 * hz) / sample_rate as f64).floor() as i64
            })
            .collect();
        let mut out = vec![0f64; checked_len(&[spec_bins, mel_bins])?];
        let idx = |j: i64, what: &str| -> Result<usize> {
            match usize::try_from(j) {
                Ok(j) if j < spec_bins => Ok(j),
                _ => bail!("{what} frequency bin {} is outside [0, {})", j, spec_bins),
            }
        };
        for i in 0..mel_bins {
            let (lo, center, hi) = (bins[i], bins[i + 1], bins[i + 2]);
            let low_to_center = center - lo;
            if low_to_center == 0 {
                out[idx(center, "center")? * mel_bins + i] = 1.0;
            } else {
                for j in lo..=center {
                    out[idx(j, "lower")? * mel_bins + i] = (j - lo) as f64 / low_to_center as f64;
                }
            }
            let center_to_high = hi - center;
            if center_to_high > 0 {
                for j in center..hi {
                    out[idx(j, "upper")? * mel_bins + i] = (hi - j) as f64 / center_to_high as f64;
                }
            }
        }
        Ok(vec![Value::Tensor(tensor_from_f64(
            dtype,
            vec![spec_bins, mel_bins],
            &out,
        )?)])
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{node, run};
    use super::*;
    use runnx_ir::Attribute;

    #[test]
    fn rfft_and_irfft_round_trip() {
        let x: Vec<f32> = (0..10).map(|i| (i as f32 * 0.7).sin()).collect();
        let t = Tensor::new(vec![1, 10, 1], x.clone()).unwrap();
        let nd = node("DFT", "", 3, vec![("onesided", Attribute::Int(1))]);
        let y = run(
            dft,
            &nd,
            20,
            vec![Some(t), None, Some(Tensor::scalar(1i64))],
        )
        .unwrap();
        assert_eq!(y[0].shape(), &[1, 6, 2]);
        let nd = node(
            "DFT",
            "",
            3,
            vec![
                ("onesided", Attribute::Int(1)),
                ("inverse", Attribute::Int(1)),
            ],
        );
        let z = run(
            dft,
            &nd,
            20,
            vec![Some(y[0].clone()), None, Some(Tensor::scalar(1i64))],
        )
        .unwrap();
        assert_eq!(z[0].shape(), &[1, 10, 1]);
        for (a, b) in z[0].as_slice::<f32>().unwrap().iter().zip(&x) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn bad_axis_is_an_error() {
        let t = Tensor::new(vec![2, 1], vec![1f32, 2.0]).unwrap();
        let nd = node("DFT", "", 1, vec![("axis", Attribute::Int(1))]);
        assert!(run(dft, &nd, 17, vec![Some(t)]).is_err());
    }
}
