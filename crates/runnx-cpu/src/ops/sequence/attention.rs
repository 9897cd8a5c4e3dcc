//! Scaled dot-product attention: Attention (opset 23/24) and FlexAttention
//! (ai.onnx.preview, without modifier subgraphs).
//!
//! Each (batch, query head) pair is independent and runs on its own thread when
//! the work is large enough: scores = Q K^T * scale, softcap, additive bias
//! (mask, causal, padding), softmax, then scores V. Computation is in f32.

use super::common::{f32_data, from_f32, gemm_nn, gemm_nt, swap_middle};
use runnx_ir::{
    bail, ensure, kernel, DType, Error, Inputs, Kernel, NodeCtx, Result, Tensor, Value,
};

/// An additive bias broadcast over (batch, query head, query position, key position).
struct Bias {
    data: Vec<f32>,
    /// Element strides for (b, h, i, j); 0 along broadcast dimensions.
    strides: [usize; 4],
    /// Key positions the mask covers; positions beyond are masked out.
    len: usize,
}

/// Everything one attention evaluation needs, in (B, H, S, D) layouts.
struct Problem<'a> {
    batch: usize,
    q_heads: usize,
    kv_heads: usize,
    l: usize,
    t: usize,
    dk: usize,
    dv: usize,
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    scale: f32,
    softcap: f32,
    /// Causal masking with this many past positions (upper-left alignment shifted by it).
    causal_past: Option<usize>,
    bias: Option<Bias>,
    /// Valid key positions per batch entry.
    nonpad: Option<Vec<usize>>,
    /// Which intermediate scores to return (qk_matmul_output_mode), if any.
    save: Option<i64>,
}

fn softmax_row(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f32;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// Query rows `i0..i0 + rows` of one (batch, query head): writes `out` (rows x Dv)
/// using `sc` (rows x T) as scratch, and the requested scores into `save`.
fn head_rows(
    p: &Problem,
    b: usize,
    hq: usize,
    i0: usize,
    out: &mut [f32],
    sc: &mut [f32],
    mut save: Option<&mut [f32]>,
) {
    let (l, t, dk, dv) = (p.l, p.t, p.dk, p.dv);
    let rows = out.len().checked_div(dv).unwrap_or(sc.len() / t.max(1));
    let hk = hq / (p.q_heads / p.kv_heads);
    let q = &p.q[((b * p.q_heads + hq) * l + i0) * dk..][..rows * dk];
    let k = &p.k[(b * p.kv_heads + hk) * t * dk..][..t * dk];
    let v = &p.v[(b * p.kv_heads + hk) * t * dv..][..t * dv];
    let mut keep = |stage: i64, sc: &[f32]| {
        if p.save == Some(stage) {
            if let Some(s) = save.as_deref_mut() {
                s.copy_from_slice(sc);
            }
        }
    };
    gemm_nt(rows, t, dk, q, dk, k, dk, sc, t, false);
    for s in sc.iter_mut() {
        *s *= p.scale;
    }
    keep(0, sc);
    if p.softcap > 0.0 {
        let c = p.softcap;
        for s in sc.iter_mut() {
            *s = c * (*s / c).tanh();
        }
    }
    keep(1, sc);
    let valid = p.nonpad.as_ref().map_or(t, |n| n[b]);
    for r in 0..rows {
        let i = i0 + r;
        let row = &mut sc[r * t..(r + 1) * t];
        if let Some(bias) = &p.bias {
            let base = b * bias.strides[0] + hq * bias.strides[1] + i * bias.strides[2];
            for (j, s) in row.iter_mut().enumerate() {
                if j < bias.len {
                    *s += bias.data[base + j * bias.strides[3]];
                } else {
                    *s = f32::NEG_INFINITY;
                }
            }
        }
        if let Some(past) = p.causal_past {
            for s in row.iter_mut().skip(i + past + 1) {
                *s = f32::NEG_INFINITY;
            }
        }
        for s in row.iter_mut().skip(valid) {
            *s = f32::NEG_INFINITY;
        }
    }
    keep(2, sc);
    if t > 0 {
        for row in sc.chunks_exact_mut(t) {
            softmax_row(row);
        }
    }
    keep(3, sc);
    gemm_nn(rows, dv, t, sc, t, v, dv, out, dv, false);
}

/// Rows of queries processed together: a divisor of `l` so that blocks never
/// straddle heads, small enough to bound the score scratch.
fn row_block(l: usize) -> usize {
    if l <= 64 {
        return l.max(1);
    }
    (1..=64).rev().find(|d| l.is_multiple_of(*d)).unwrap_or(1)
}

/// Returns the output (B, Hq, L, Dv) and, when asked, the saved scores (B, Hq, L, T).
fn attend(p: &Problem) -> Result<(Vec<f32>, Option<Vec<f32>>)> {
    let (l, t, dk, dv) = (p.l, p.t, p.dk, p.dv);
    ensure!(
        p.kv_heads > 0 && p.q_heads.is_multiple_of(p.kv_heads),
        "q_num_heads {} must be a multiple of kv_num_heads {}",
        p.q_heads,
        p.kv_heads
    );
    let heads = p.batch * p.q_heads;
    let too_large = || Error::invalid("attention is too large");
    let out_len = heads
        .checked_mul(l)
        .and_then(|x| x.checked_mul(dv))
        .ok_or_else(too_large)?;
    if p.save.is_none() {
        // Stream blocks of query rows; scratch is one block of scores per task.
        let blk = row_block(l);
        let blocks_per_head = l / blk;
        let mut out = vec![0f32; out_len];
        if dv == 0 {
            return Ok((out, None));
        }
        let cost = blk * t * (dk + dv + 8);
        crate::par::for_each_chunk_mut(&mut out, blk * dv, cost, |idx, chunk| {
            let (h, rb) = (idx / blocks_per_head, idx % blocks_per_head);
            let mut sc = vec![0f32; blk * t];
            head_rows(
                p,
                h / p.q_heads,
                h % p.q_heads,
                rb * blk,
                chunk,
                &mut sc,
                None,
            );
        });
        return Ok((out, None));
    }
    // The scores are an output: one chunk per head holds [out | scratch | saved].
    let per = l * dv + 2 * l * t;
    let mut buf = vec![0f32; heads.checked_mul(per).ok_or_else(too_large)?];
    let cost = l * t * (dk + dv + 8);
    crate::par::for_each_chunk_mut(&mut buf, per.max(1), cost, |idx, chunk| {
        let (out, rest) = chunk.split_at_mut(l * dv);
        let (sc, save) = rest.split_at_mut(l * t);
        head_rows(p, idx / p.q_heads, idx % p.q_heads, 0, out, sc, Some(save));
    });
    let mut out = Vec::with_capacity(out_len);
    let mut qk = Vec::with_capacity(heads * l * t);
    if per > 0 {
        for chunk in buf.chunks_exact(per) {
            out.extend_from_slice(&chunk[..l * dv]);
            qk.extend_from_slice(&chunk[l * dv + l * t..]);
        }
    }
    Ok((out, Some(qk)))
}

struct AttnCfg {
    q_heads: Option<usize>,
    kv_heads: Option<usize>,
    scale: Option<f32>,
    softcap: f32,
    is_causal: bool,
    qk_mode: i64,
    want_qk: bool,
}

fn heads_attr(n: &NodeCtx, name: &str) -> Result<Option<usize>> {
    match n.attr_int_opt(name)? {
        None => Ok(None),
        Some(v) if v > 0 => Ok(Some(v as usize)),
        Some(v) => bail!("attribute '{}' must be positive, got {}", name, v),
    }
}

pub fn attention(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let qk_mode = n.attr_int("qk_matmul_output_mode", 0)?;
    ensure!(
        (0..=3).contains(&qk_mode),
        "qk_matmul_output_mode must be 0..3, got {}",
        qk_mode
    );
    let cfg = AttnCfg {
        q_heads: heads_attr(n, "q_num_heads")?,
        kv_heads: heads_attr(n, "kv_num_heads")?,
        scale: n.attr_float_opt("scale")?,
        softcap: n.attr_float("softcap", 0.0)?,
        is_causal: n.attr_int("is_causal", 0)? != 0,
        qk_mode,
        want_qk: n.node.outputs.get(3).is_some_and(|s| !s.is_empty()),
    };
    ensure!(
        n.has_input(4) == n.has_input(5),
        "past_key and past_value must be given together"
    );
    Ok(kernel(move |inputs: &Inputs| run_attention(&cfg, inputs)))
}

/// A rank-3 (B, S, H*D) tensor as (B, H, S, D), or a rank-4 one as is.
fn to_bhsd(t: &Tensor, heads: Option<usize>, name: &str) -> Result<(Vec<f32>, [usize; 4])> {
    let v = f32_data(t)?;
    match *t.shape() {
        [b, s, hd] => {
            let Some(h) = heads else {
                bail!("3-D inputs need the q_num_heads and kv_num_heads attributes")
            };
            ensure!(
                hd.is_multiple_of(h),
                "{} hidden size {} is not divisible by {} heads",
                name,
                hd,
                h
            );
            let d = hd / h;
            Ok((swap_middle(&v, b, s, h, d), [b, h, s, d]))
        }
        [b, h, s, d] => Ok((v.into_owned(), [b, h, s, d])),
        _ => bail!("{} must be rank 3 or 4, got shape {:?}", name, t.shape()),
    }
}

/// Concatenate past (B, H, P, D) and new (B, H, S, D) along the sequence axis.
fn concat_seq(past: &[f32], new: &[f32], bh: usize, p: usize, s: usize, d: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(bh * (p + s) * d);
    for i in 0..bh {
        out.extend_from_slice(&past[i * p * d..(i + 1) * p * d]);
        out.extend_from_slice(&new[i * s * d..(i + 1) * s * d]);
    }
    out
}

fn mask_bias(m: &Tensor, dims: [usize; 3], t: usize) -> Result<Bias> {
    let shape = m.shape();
    ensure!(
        (2..=4).contains(&shape.len()),
        "attn_mask must have rank 2 to 4, got shape {:?}",
        shape
    );
    let data: Vec<f32> = if m.dtype() == DType::Bool {
        m.as_slice::<bool>()?
            .iter()
            .map(|&b| if b { 0.0 } else { f32::NEG_INFINITY })
            .collect()
    } else {
        f32_data(m)?.into_owned()
    };
    let rank = shape.len();
    let len = shape[rank - 1];
    ensure!(
        len <= t,
        "attn_mask covers {} key positions, more than the {} there are",
        len,
        t
    );
    let mut strides = [0usize; 4];
    strides[3] = 1;
    let mut acc = len;
    // dims: target (B, H, L) for the aligned axes 0..3.
    for r in (0..rank - 1).rev() {
        let axis = 4 - rank + r;
        let md = shape[r];
        let want = dims[axis];
        if md == want && md != 1 {
            strides[axis] = acc;
        } else {
            ensure!(
                md == 1,
                "attn_mask shape {:?} does not broadcast to {:?}",
                shape,
                [dims[0], dims[1], dims[2], t]
            );
        }
        acc *= md;
    }
    Ok(Bias { data, strides, len })
}

fn run_attention(cfg: &AttnCfg, inputs: &Inputs) -> Result<Vec<Value>> {
    let (qt, kt, vt) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
    let rank = qt.rank();
    ensure!(
        kt.rank() == rank && vt.rank() == rank,
        "Q, K and V must have the same rank"
    );
    for t in [qt, kt, vt] {
        ensure!(
            t.dtype().is_float(),
            "attention needs float inputs, got {}",
            t.dtype()
        );
    }
    let (q, [b, hq, l, dk]) = to_bhsd(qt, cfg.q_heads, "Q")?;
    let (k, [kb, hkv, s, kd]) = to_bhsd(kt, cfg.kv_heads, "K")?;
    let (v, [vb, vh, vs, dv]) = to_bhsd(vt, cfg.kv_heads, "V")?;
    ensure!(kb == b && vb == b, "Q, K and V batch sizes differ");
    ensure!(
        vh == hkv && vs == s,
        "K and V must share heads and sequence length"
    );
    ensure!(kd == dk, "Q and K head sizes differ: {} vs {}", dk, kd);
    ensure!(
        hkv > 0 && hq.is_multiple_of(hkv),
        "q heads {} must be a multiple of kv heads {}",
        hq,
        hkv
    );

    let past_k = inputs.opt_tensor(4)?;
    let past_v = inputs.opt_tensor(5)?;
    let (k, v, past) = match (past_k, past_v) {
        (Some(pk), Some(pv)) => {
            let ps = pk.shape();
            ensure!(
                ps.len() == 4 && ps[0] == b && ps[1] == hkv && ps[3] == dk,
                "past_key shape {:?} does not fit",
                ps
            );
            let p = ps[2];
            ensure!(
                pv.shape() == [b, hkv, p, dv],
                "past_value shape {:?} does not fit",
                pv.shape()
            );
            let k2 = concat_seq(&f32_data(pk)?, &k, b * hkv, p, s, dk);
            let v2 = concat_seq(&f32_data(pv)?, &v, b * hkv, p, s, dv);
            (k2, v2, Some(p))
        }
        (None, None) => (k, v, None),
        _ => bail!("past_key and past_value must be given together"),
    };
    let t = s + past.unwrap_or(0);

    let bias = match inputs.opt_tensor(3)? {
        Some(m) => Some(mask_bias(m, [b, hq, l], t)?),
        None => None,
    };
    let nonpad = match inputs.opt_tensor(6)? {
        Some(np) => {
            ensure!(
                np.shape() == [b],
                "nonpad_kv_seqlen must have shape [{}], got {:?}",
                b,
                np.shape()
            );
            let v = np.to_i64_vec()?;
            Some(
                v.into_iter()
                    .map(|x| {
                        ensure!(
                            x >= 0 && x as u64 <= t as u64,
                            "nonpad_kv_seqlen {} out of range 0..={}",
                            x,
                            t
                        );
                        Ok(x as usize)
                    })
                    .collect::<Result<Vec<_>>>()?,
            )
        }
        None => None,
    };
    let scale = cfg.scale.unwrap_or(1.0 / (dk as f32).sqrt());
    let prob = Problem {
        batch: b,
        q_heads: hq,
        kv_heads: hkv,
        l,
        t,
        dk,
        dv,
        q: &q,
        k: &k,
        v: &v,
        scale,
        softcap: cfg.softcap,
        causal_past: cfg.is_causal.then_some(past.unwrap_or(0)),
        bias,
        nonpad,
        save: cfg.want_qk.then_some(cfg.qk_mode),
    };
    let (out, qk) = attend(&prob)?;
    let y = if rank == 3 {
        from_f32(
            qt.dtype(),
            vec![b, l, hq * dv],
            swap_middle(&out, b, hq, l, dv),
        )?
    } else {
        from_f32(qt.dtype(), vec![b, hq, l, dv], out)?
    };
    let mut outs = vec![Value::Tensor(y)];
    outs.push(Value::Tensor(from_f32(kt.dtype(), vec![b, hkv, t, dk], k)?));
    outs.push(Value::Tensor(from_f32(vt.dtype(), vec![b, hkv, t, dv], v)?));
    if let Some(qk) = qk {
        outs.push(Value::Tensor(from_f32(qt.dtype(), vec![b, hq, l, t], qk)?));
    }
    Ok(outs)
}

pub fn flex_attention(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    if n.attr_graph_opt("score_mod")?.is_some() || n.attr_graph_opt("prob_mod")?.is_some() {
        return Err(Error::Unsupported(
            "FlexAttention with score_mod/prob_mod subgraphs".into(),
        ));
    }
    let scale = n.attr_float_opt("scale")?;
    Ok(kernel(move |inputs: &Inputs| {
        let (qt, kt, vt) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        let (&[b, hq, l, dk], &[kb, hkv, s, kd], &[vb, vh, vs, dv]) =
            (qt.shape(), kt.shape(), vt.shape())
        else {
            bail!("FlexAttention needs rank-4 Q, K and V");
        };
        ensure!(
            kb == b && vb == b && vh == hkv && vs == s && kd == dk,
            "Q, K and V shapes do not fit together"
        );
        let (q, k, v) = (f32_data(qt)?, f32_data(kt)?, f32_data(vt)?);
        let prob = Problem {
            batch: b,
            q_heads: hq,
            kv_heads: hkv,
            l,
            t: s,
            dk,
            dv,
            q: &q,
            k: &k,
            v: &v,
            scale: scale.unwrap_or(1.0 / (dk as f32).sqrt()),
            softcap: 0.0,
            causal_past: None,
            bias: None,
            nonpad: None,
            save: None,
        };
        let (out, _) = attend(&prob)?;
        Ok(vec![Value::Tensor(from_f32(
            qt.dtype(),
            vec![b, hq, l, dv],
            out,
        )?)])
    }))
}
