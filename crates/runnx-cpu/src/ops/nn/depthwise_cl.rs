//! Depthwise convolution with channels innermost, for small feature maps.
//!
//! On a 14x14 or 7x7 map a channel's row is shorter than one AVX-512 vector, and the
//! planar kernel (`conv.rs`, `depthwise_2d`) spends its time on per-row copies. Here
//! the image is transposed to `[pixel][channel]`, each output pixel is a sum of taps
//! that are each one contiguous run of channels (weights transposed to
//! `[tap][channel]`), and the result is transposed back with the activation applied.

use super::conv::Geom;
use super::simd;
use crate::gemm::Activation;
use runnx_ir::{buffers, Result};

/// Output maps of at most this many pixels take this path. Measured on one
/// depthwise 3x3 node: 960 channels at 7x7 ran 0.22 -> 0.13 ms, but 576 channels at
/// 14x14 ran no faster (the two transposes cost what the row copies did).
pub(crate) const MAX_PIXELS: usize = 64;

/// One image: `x` is `[C, H, W]`, `w` is `[C, kh, kw]`, `y` is `[C, OH, OW]`
/// (one filter per channel, 2-D geometry `g`).
pub(crate) fn depthwise_channels_last(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    c: usize,
    g: &Geom,
    y: &mut [f32],
    act: Activation,
) -> Result<()> {
    let (ih, iw) = (g.input[0], g.input[1]);
    let (oh, ow) = (g.output[0], g.output[1]);
    let (kh, kw) = (g.kernel[0], g.kernel[1]);
    let (is, os, ks) = (ih * iw, oh * ow, kh * kw);
    let mut xt = buffers::take_dirty(is * c, 0f32)?;
    simd::transpose(&x[..c * is], c, is, &mut xt);
    let mut wt = buffers::take_dirty(ks * c, 0f32)?;
    simd::transpose(&w[..c * ks], c, ks, &mut wt);
    let mut bt = buffers::take(c, 0f32)?;
    if let Some(b) = bias {
        bt.copy_from_slice(&b[..c]);
    }
    let mut yt = buffers::take_dirty(os * c, 0f32)?;
    crate::par::for_each_chunk_mut(&mut yt, ow * c, ow * c * ks, |oy, row| {
        // (offset into xt, offset into wt) of each tap inside the image.
        let mut taps = Vec::with_capacity(ks);
        for (ox, out) in row.chunks_exact_mut(c).enumerate() {
            taps.clear();
            for a in 0..kh {
                let iy = (oy * g.strides[0] + a * g.dil[0]) as isize - g.pad[0];
                if iy < 0 || iy >= ih as isize {
                    continue;
                }
                for b in 0..kw {
                    let ix = (ox * g.strides[1] + b * g.dil[1]) as isize - g.pad[1];
                    if ix >= 0 && ix < iw as isize {
                        taps.push(((iy as usize * iw + ix as usize) * c, (a * kw + b) * c));
                    }
                }
            }
            simd::depthwise_pixel(out, &bt, &taps, &xt, &wt);
        }
    });
    simd::transpose(&yt, os, c, &mut y[..c * os]);
    for channel in y[..c * os].chunks_exact_mut(os) {
        act.apply(channel);
    }
    buffers::give(xt);
    buffers::give(wt);
    buffers::give(bt);
    buffers::give(yt);
    Ok(())
}
