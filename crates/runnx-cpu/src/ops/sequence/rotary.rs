//! RotaryEmbedding (opset 23): rotate the first `rotary_embedding_dim` features of
//! each head by position-dependent angles given as cos/sin caches.

use super::common::{f32_data, from_f32};
use runnx_ir::{bail, ensure, kernel, Inputs, Kernel, NodeCtx, Result, Value};

pub fn rotary_embedding(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let interleaved = n.attr_int("interleaved", 0)? != 0;
    let rot_dim = n.attr_int("rotary_embedding_dim", 0)?;
    ensure!(
        rot_dim >= 0,
        "rotary_embedding_dim must be >= 0, got {}",
        rot_dim
    );
    let num_heads = n.attr_int("num_heads", 0)?;
    ensure!(num_heads >= 0, "num_heads must be >= 0, got {}", num_heads);
    let (rot_dim, num_heads) = (rot_dim as usize, num_heads as usize);
    Ok(kernel(move |inputs: &Inputs| {
        let xt = inputs.tensor(0)?;
        let (cos_t, sin_t) = (inputs.tensor(1)?, inputs.tensor(2)?);
        ensure!(
            xt.dtype().is_float(),
            "RotaryEmbedding needs a float input, got {}",
            xt.dtype()
        );
        // Row offset of (b, s, h) and the dimensions, for both layouts.
        let (b, s, h, d, four) = match *xt.shape() {
            [b, h, s, d] => (b, s, h, d, true),
            [b, s, hd] => {
                ensure!(num_heads > 0, "3-D input needs the num_heads attribute");
                ensure!(
                    hd.is_multiple_of(num_heads),
                    "hidden size {} is not divisible by {} heads",
                    hd,
                    num_heads
                );
                (b, s, num_heads, hd / num_heads, false)
            }
            _ => bail!("input must be rank 3 or 4, got shape {:?}", xt.shape()),
        };
        let rd = if rot_dim == 0 { d } else { rot_dim };
        ensure!(
            rd <= d && rd.is_multiple_of(2),
            "rotary_embedding_dim {} must be even and <= head size {}",
            rd,
            d
        );
        let half = rd / 2;
        let cos = f32_data(cos_t)?;
        let sin = f32_data(sin_t)?;
        ensure!(
            cos_t.shape() == sin_t.shape(),
            "cos_cache {:?} and sin_cache {:?} differ",
            cos_t.shape(),
            sin_t.shape()
        );
        // Cache row index for each (b, s).
        let rows: Vec<usize> = match inputs.opt_tensor(3)? {
            Some(pos) => {
                ensure!(
                    pos.shape() == [b, s],
                    "position_ids must have shape [{}, {}], got {:?}",
                    b,
                    s,
                    pos.shape()
                );
                let cs = cos_t.shape();
                ensure!(
                    cs.len() == 2 && cs[1] == half,
                    "cos_cache must have shape [max_pos, {}], got {:?}",
                    half,
                    cs
                );
                pos.to_i64_vec()?
                    .into_iter()
                    .map(|p| {
                        ensure!(
                            p >= 0 && (p as u64) < cs[0] as u64,
                            "position id {} out of range 0..{}",
                            p,
                            cs[0]
                        );
                        Ok(p as usize)
                    })
                    .collect::<Result<_>>()?
            }
            None => {
                ensure!(
                    cos_t.shape() == [b, s, half],
                    "cos_cache must have shape [{}, {}, {}], got {:?}",
                    b,
                    s,
                    half,
                    cos_t.shape()
                );
                (0..b * s).collect()
            }
        };
        let x = f32_data(xt)?;
        let mut out = x.to_vec();
        for bi in 0..b {
            for si in 0..s {
                let r = rows[bi * s + si];
                let (c, sn) = (
                    &cos[r * half..(r + 1) * half],
                    &sin[r * half..(r + 1) * half],
                );
                for hi in 0..h {
                    let off = if four {
                        ((bi * h + hi) * s + si) * d
                    } else {
                        ((bi * s + si) * h + hi) * d
                    };
                    let src = &x[off..off + rd];
                    let dst = &mut out[off..off + rd];
                    for i in 0..half {
                        let (i1, i2) = if interleaved {
                            (2 * i, 2 * i + 1)
                        } else {
                            (i, i + half)
                        };
                        let (x1, x2) = (src[i1], src[i2]);
                        dst[i1] = c[i] * x1 - sn[i] * x2;
                        dst[i2] = sn[i] * x1 + c[i] * x2;
                    }
                }
            }
        }
        Ok(vec![Value::Tensor(from_f32(
            xt.dtype(),
            xt.shape().to_vec(),
            out,
        )?)])
    }))
}
