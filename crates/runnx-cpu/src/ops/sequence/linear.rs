//! LinearAttention and CausalConvWithState (opset 27): the recurrent building
//! blocks of linear-attention models (Gated DeltaNet, Mamba).

use super::common::{axpy, f32_data, from_f32};
use runnx_ir::{bail, ensure, kernel, DType, Error, Inputs, Kernel, NodeCtx, Result, Value};

#[derive(Clone, Copy)]
struct LinCfg {
    q_heads: usize,
    kv_heads: usize,
    scale: f32,
    gating: bool,
    delta: bool,
}

pub fn linear_attention(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let q_heads = n.require("q_num_heads", n.attr_int_opt("q_num_heads"))?;
    let kv_heads = n.require("kv_num_heads", n.attr_int_opt("kv_num_heads"))?;
    ensure!(
        q_heads > 0 && kv_heads > 0 && q_heads % kv_heads == 0,
        "q_num_heads ({}) must be a positive multiple of kv_num_heads ({})",
        q_heads,
        kv_heads
    );
    let rule = n.attr_str("update_rule", "gated_delta")?;
    let (gating, delta) = match rule.as_str() {
        "linear" => (false, false),
        "gated" => (true, false),
        "delta" => (false, true),
        "gated_delta" => (true, true),
        other => bail!("unknown update_rule '{}'", other),
    };
    ensure!(
        n.has_input(4) == gating,
        "update_rule '{}' {} the decay input",
        rule,
        if gating { "requires" } else { "forbids" }
    );
    ensure!(
        n.has_input(5) == delta,
        "update_rule '{}' {} the beta input",
        rule,
        if delta { "requires" } else { "forbids" }
    );
    let cfg = LinCfg {
        q_heads: q_heads as usize,
        kv_heads: kv_heads as usize,
        scale: n.attr_float("scale", 0.0)?,
        gating,
        delta,
    };
    Ok(kernel(move |inputs: &Inputs| run_linear(cfg, inputs)))
}

fn run_linear(cfg: LinCfg, inputs: &Inputs) -> Result<Vec<Value>> {
    let (qt, kt, vt) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
    let (hq, hk) = (cfg.q_heads, cfg.kv_heads);
    let (&[b, t, qd], &[kb, kt_len, kd], &[vb, vt_len, vd]) = (qt.shape(), kt.shape(), vt.shape())
    else {
        bail!("query, key and value must be rank 3 (B, T, H*D)");
    };
    ensure!(
        kb == b && vb == b && kt_len == t && vt_len == t,
        "query, key and value batch/time dimensions differ"
    );
    ensure!(
        qd.is_multiple_of(hq) && vd.is_multiple_of(hk),
        "hidden sizes are not divisible by the head counts"
    );
    let dk = qd / hq;
    let dv = vd / hk;
    ensure!(
        kd == hk * dk,
        "key hidden size {} must be kv_num_heads * d_k = {}",
        kd,
        hk * dk
    );
    let group = hq / hk;
    let q = f32_data(qt)?;
    let k = f32_data(kt)?;
    let v = f32_data(vt)?;

    // Decay: per head (stride 1 along d_k = 0) or per key dimension.
    let decay = match inputs.opt_tensor(4)? {
        Some(g) if cfg.gating => {
            let s = g.shape();
            ensure!(
                s.len() == 3 && s[0] == b && s[1] == t,
                "decay must have shape (B, T, *), got {:?}",
                s
            );
            let per_dim = if s[2] == hk {
                false
            } else if s[2] == hk * dk {
                true
            } else {
                bail!(
                    "decay last dimension {} must be {} or {}",
                    s[2],
                    hk,
                    hk * dk
                )
            };
            Some((f32_data(g)?.into_owned(), per_dim))
        }
        None if !cfg.gating => None,
        _ => bail!("decay input does not match the update rule"),
    };
    let beta = match inputs.opt_tensor(5)? {
        Some(be) if cfg.delta => {
            let s = be.shape();
            ensure!(
                s.len() == 3 && s[0] == b && s[1] == t && (s[2] == hk || s[2] == 1),
                "beta must have shape (B, T, {} or 1), got {:?}",
                hk,
                s
            );
            Some((f32_data(be)?.into_owned(), s[2]))
        }
        None if !cfg.delta => None,
        _ => bail!("beta input does not match the update rule"),
    };
    let state_len = dk * dv;
    let (state_dtype, mut init) = match inputs.opt_tensor(3)? {
        Some(ps) => {
            ensure!(
                ps.shape() == [b, hk, dk, dv],
                "past_state must have shape {:?}, got {:?}",
                [b, hk, dk, dv],
                ps.shape()
            );
            (ps.dtype(), f32_data(ps)?.into_owned())
        }
        None => (qt.dtype(), vec![0f32; b * hk * state_len]),
    };
    let scale = if cfg.scale == 0.0 {
        1.0 / (dk as f32).sqrt()
    } else {
        cfg.scale
    };

    // One chunk per (batch, kv head): its state, then the outputs of its query heads.
    let out_len = group * t * dv;
    let per = state_len + out_len;
    let mut buf = vec![
        0f32;
        (b * hk)
            .checked_mul(per)
            .ok_or_else(|| Error::invalid("state too large"))?
    ];
    for (i, chunk) in buf.chunks_exact_mut(per.max(1)).enumerate() {
        chunk[..state_len].copy_from_slice(&init[i * state_len..(i + 1) * state_len]);
    }
    let cost = t * state_len * (group + 3);
    crate::par::for_each_chunk_mut(&mut buf, per.max(1), cost, |idx, chunk| {
        let (bi, h) = (idx / hk, idx % hk);
        let (state, out) = chunk.split_at_mut(state_len);
        let mut vt_buf = vec![0f32; dv];
        for ti in 0..t {
            let row = bi * t + ti;
            let kvec = &k[row * hk * dk + h * dk..][..dk];
            let vvec = &v[row * hk * dv + h * dv..][..dv];
            if let Some((g, per_dim)) = &decay {
                for d in 0..dk {
                    let gv = if *per_dim {
                        g[row * hk * dk + h * dk + d]
                    } else {
                        g[row * hk + h]
                    };
                    let f = gv.exp();
                    for s in &mut state[d * dv..(d + 1) * dv] {
                        *s *= f;
                    }
                }
            }
            vt_buf.copy_from_slice(vvec);
            if let Some((be, bl)) = &beta {
                let bv = be[row * bl + if *bl == 1 { 0 } else { h }];
                // retrieved = S^T k
                let mut retrieved = vec![0f32; dv];
                for d in 0..dk {
                    axpy(kvec[d], &state[d * dv..(d + 1) * dv], &mut retrieved);
                }
                for m in 0..dv {
                    vt_buf[m] = bv * (vt_buf[m] - retrieved[m]);
                }
            }
            for d in 0..dk {
                axpy(kvec[d], &vt_buf, &mut state[d * dv..(d + 1) * dv]);
            }
            for gi in 0..group {
                let hqi = h * group + gi;
                let qvec = &q[row * hq * dk + hqi * dk..][..dk];
                let o = &mut out[(gi * t + ti) * dv..][..dv];
                o.fill(0.0);
                for d in 0..dk {
                    axpy(qvec[d] * scale, &state[d * dv..(d + 1) * dv], o);
                }
            }
        }
    });
    // Scatter to (B, T, Hq*dv) and (B, Hkv, dk, dv).
    let mut output = vec![0f32; b * t * hq * dv];
    for (idx, chunk) in buf.chunks_exact(per.max(1)).enumerate().take(b * hk) {
        let (bi, h) = (idx / hk, idx % hk);
        init[idx * state_len..(idx + 1) * state_len].copy_from_slice(&chunk[..state_len]);
        for gi in 0..group {
            let hqi = h * group + gi;
            for ti in 0..t {
                let src = &chunk[state_len + (gi * t + ti) * dv..][..dv];
                let dst = ((bi * t + ti) * hq + hqi) * dv;
                output[dst..dst + dv].copy_from_slice(src);
            }
        }
    }
    Ok(vec![
        Value::Tensor(from_f32(qt.dtype(), vec![b, t, hq * dv], output)?),
        Value::Tensor(from_f32(state_dtype, vec![b, hk, dk, dv], init)?),
    ])
}

pub fn causal_conv_with_state(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let act = n.attr_str("activation", "none")?;
    let silu = match act.as_str() {
        "none" => false,
        "silu" | "swish" => true,
        other => bail!("unsupported activation '{}'", other),
    };
    Ok(kernel(move |inputs: &Inputs| {
        let (xt, wt) = (inputs.tensor(0)?, inputs.tensor(1)?);
        let dtype = xt.dtype();
        ensure!(
            dtype.is_float(),
            "CausalConvWithState needs a float input, got {}",
            dtype
        );
        let &[b, c, l] = xt.shape() else {
            bail!("input must be rank 3 (B, C, L), got {:?}", xt.shape())
        };
        let &[wc, one, k] = wt.shape() else {
            bail!("weight must be rank 3 (C, 1, K), got {:?}", wt.shape())
        };
        ensure!(
            wc == c && one == 1 && k >= 1,
            "weight shape {:?} does not fit {} channels",
            wt.shape(),
            c
        );
        let x = f32_data(xt)?;
        let w = f32_data(wt)?;
        let bias = match inputs.opt_tensor(2)? {
            Some(bt) => {
                ensure!(
                    bt.shape() == [c],
                    "bias must have shape [{}], got {:?}",
                    c,
                    bt.shape()
                );
                Some(f32_data(bt)?.into_owned())
            }
            None => None,
        };
        let ks = k - 1;
        let past = match inputs.opt_tensor(3)? {
            Some(pt) => {
                ensure!(
                    pt.shape() == [b, c, ks],
                    "past_state must have shape {:?}, got {:?}",
                    [b, c, ks],
                    pt.shape()
                );
                Some(f32_data(pt)?.into_owned())
            }
            None => None,
        };
        let round = |v: f32| match dtype {
            DType::F16 => half::f16::from_f32(v).to_f32(),
            DType::BF16 => half::bf16::from_f32(v).to_f32(),
            _ => v,
        };
        let plen = l + ks;
        let mut out = vec![0f32; b * c * l];
        let mut present = vec![0f32; b * c * ks];
        let mut padded = vec![0f32; plen];
        for bc in 0..b * c {
            let ch = bc % c;
            match &past {
                Some(p) => padded[..ks].copy_from_slice(&p[bc * ks..(bc + 1) * ks]),
                None => padded[..ks].fill(0.0),
            }
            padded[ks..].copy_from_slice(&x[bc * l..(bc + 1) * l]);
            let wk = &w[ch * k..(ch + 1) * k];
            let b0 = bias.as_ref().map_or(0.0, |bv| bv[ch]);
            for (i, o) in out[bc * l..(bc + 1) * l].iter_mut().enumerate() {
                let mut acc = b0;
                for (j, &wv) in wk.iter().enumerate() {
                    acc += wv * padded[i + j];
                }
                *o = if silu {
                    let y = round(acc);
                    y / (1.0 + (-y).exp())
                } else {
                    acc
                };
            }
            present[bc * ks..(bc + 1) * ks].copy_from_slice(&padded[plen - ks..]);
        }
        Ok(vec![
            Value::Tensor(from_f32(dtype, vec![b, c, l], out)?),
            Value::Tensor(from_f32(dtype, vec![b, c, ks], present)?),
        ])
    }))
}
