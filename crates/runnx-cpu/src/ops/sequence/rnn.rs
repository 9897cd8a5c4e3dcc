//! Recurrent networks: RNN, GRU and LSTM.
//!
//! All three share the driver: the input projection `X * W^T + biases` is one
//! product over all time steps; each step then adds `H_{t-1} * R^T` and applies
//! the cell. Computation is in f32 (f16/bf16/f64 inputs are converted).

use super::common::{f32_data, from_f32, par_gemm_nt};
use runnx_ir::{bail, ensure, kernel, Inputs, Kernel, NodeCtx, Result, Tensor, Value};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    Relu,
    Tanh,
    Sigmoid,
    Affine(f32, f32),
    LeakyRelu(f32),
    ThresholdedRelu(f32),
    ScaledTanh(f32, f32),
    HardSigmoid(f32, f32),
    Elu(f32),
    Softsign,
    Softplus,
}

impl Act {
    /// Parse a name, taking alpha/beta values from the lists in order for the
    /// functions that use them (defaults when the lists run out).
    fn parse(
        name: &str,
        alphas: &mut impl Iterator<Item = f32>,
        betas: &mut impl Iterator<Item = f32>,
    ) -> Result<Act> {
        let mut a = |d: f32| alphas.next().unwrap_or(d);
        Ok(match name.to_ascii_lowercase().as_str() {
            "relu" => Act::Relu,
            "tanh" => Act::Tanh,
            "sigmoid" => Act::Sigmoid,
            "affine" => Act::Affine(a(1.0), betas.next().unwrap_or(0.0)),
            "leakyrelu" => Act::LeakyRelu(a(0.01)),
            "thresholdedrelu" => Act::ThresholdedRelu(a(1.0)),
            "scaledtanh" => Act::ScaledTanh(a(1.0), betas.next().unwrap_or(1.0)),
            "hardsigmoid" => Act::HardSigmoid(a(0.2), betas.next().unwrap_or(0.5)),
            "elu" => Act::Elu(a(1.0)),
            "softsign" => Act::Softsign,
            "softplus" => Act::Softplus,
            other => bail!("unsupported activation function '{}'", other),
        })
    }

    #[inline]
    fn apply(self, x: f32) -> f32 {
        match self {
            Act::Relu => x.max(0.0),
            Act::Tanh => x.tanh(),
            Act::Sigmoid => sigmoid(x),
            Act::Affine(a, b) => a * x + b,
            Act::LeakyRelu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a * x
                }
            }
            Act::ThresholdedRelu(a) => {
                if x > a {
                    x
                } else {
                    0.0
                }
            }
            Act::ScaledTanh(a, b) => a * (b * x).tanh(),
            Act::HardSigmoid(a, b) => (a * x + b).clamp(0.0, 1.0),
            Act::Elu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a * (x.exp() - 1.0)
                }
            }
            Act::Softsign => x / (1.0 + x.abs()),
            Act::Softplus => {
                if x > 20.0 {
                    x
                } else {
                    x.exp().ln_1p()
                }
            }
        }
    }
}

#[inline]
fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Rnn,
    Gru,
    Lstm,
}

impl Kind {
    fn gates(self) -> usize {
        match self {
            Kind::Rnn => 1,
            Kind::Gru => 3,
            Kind::Lstm => 4,
        }
    }
    fn default_acts(self) -> &'static [&'static str] {
        match self {
            Kind::Rnn => &["Tanh"],
            Kind::Gru => &["Sigmoid", "Tanh"],
            Kind::Lstm => &["Sigmoid", "Tanh", "Tanh"],
        }
    }
}

struct Cfg {
    kind: Kind,
    hidden: Option<usize>,
    /// 1 or 2; `reverse` applies when there is one direction.
    dirs: usize,
    reverse: bool,
    /// Per direction: the cell's activations (f, g, h).
    acts: Vec<[Act; 3]>,
    clip: Option<f32>,
    batch_major: bool,
    linear_before_reset: bool,
    input_forget: bool,
}

fn build(n: &NodeCtx, kind: Kind) -> Result<Box<dyn Kernel>> {
    let direction = n.attr_str("direction", "forward")?;
    let (dirs, reverse) = match direction.as_str() {
        "forward" => (1, false),
        "reverse" => (1, true),
        "bidirectional" => (2, false),
        other => bail!("unknown direction '{}'", other),
    };
    let per = kind.default_acts().len();
    let names: Vec<String> = match n.attr_strings_opt("activations")? {
        Some(v) if v.len() == per * dirs => v,
        Some(v) if v.len() == per && dirs == 2 => v.iter().chain(v.iter()).cloned().collect(),
        Some(v) => bail!("expected {} activations, got {}", per * dirs, v.len()),
        None => (0..dirs)
            .flat_map(|_| kind.default_acts().iter().map(|s| s.to_string()))
            .collect(),
    };
    let alphas = n.attr_floats("activation_alpha", vec![])?;
    let betas = n.attr_floats("activation_beta", vec![])?;
    let (mut ai, mut bi) = (alphas.into_iter(), betas.into_iter());
    let mut acts = Vec::with_capacity(dirs);
    for d in 0..dirs {
        let mut a = [Act::Tanh; 3];
        for (g, slot) in a.iter_mut().enumerate().take(per) {
            *slot = Act::parse(&names[d * per + g], &mut ai, &mut bi)?;
        }
        acts.push(a);
    }
    let clip = match n.attr_float_opt("clip")? {
        Some(c) => {
            ensure!(c > 0.0, "clip must be positive, got {}", c);
            Some(c)
        }
        None => None,
    };
    let hidden = match n.attr_int_opt("hidden_size")? {
        Some(h) => Some(
            usize::try_from(h)
                .map_err(|_| runnx_ir::Error::invalid(format!("bad hidden_size {h}")))?,
        ),
        None => None,
    };
    let layout = n.attr_int("layout", 0)?;
    ensure!(
        layout == 0 || layout == 1,
        "layout must be 0 or 1, got {}",
        layout
    );
    let cfg = Cfg {
        kind,
        hidden,
        dirs,
        reverse,
        acts,
        clip,
        batch_major: layout == 1,
        linear_before_reset: n.attr_int("linear_before_reset", 0)? != 0,
        input_forget: n.attr_int("input_forget", 0)? != 0,
    };
    Ok(kernel(move |inputs: &Inputs| run(&cfg, inputs)))
}

pub fn rnn(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    build(n, Kind::Rnn)
}

pub fn gru(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    build(n, Kind::Gru)
}

pub fn lstm(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    build(n, Kind::Lstm)
}

fn check_shape(name: &str, t: &Tensor, want: &[usize]) -> Result<()> {
    ensure!(
        t.shape() == want,
        "{} must have shape {:?}, got {:?}",
        name,
        want,
        t.shape()
    );
    Ok(())
}

/// A state input ([D, B, H], or [B, D, H] batch-major) as [D][B*H].
fn state_input(
    t: Option<&Tensor>,
    name: &str,
    cfg: &Cfg,
    b: usize,
    h: usize,
) -> Result<Vec<Vec<f32>>> {
    let d = cfg.dirs;
    let Some(t) = t else {
        return Ok(vec![vec![0f32; b * h]; d]);
    };
    let want = if cfg.batch_major {
        [b, d, h]
    } else {
        [d, b, h]
    };
    check_shape(name, t, &want)?;
    let v = f32_data(t)?;
    let mut out = vec![vec![0f32; b * h]; d];
    for (di, o) in out.iter_mut().enumerate() {
        for bi in 0..b {
            let src = if cfg.batch_major {
                (bi * d + di) * h
            } else {
                (di * b + bi) * h
            };
            o[bi * h..(bi + 1) * h].copy_from_slice(&v[src..src + h]);
        }
    }
    Ok(out)
}

fn run(cfg: &Cfg, inputs: &Inputs) -> Result<Vec<Value>> {
    let kind = cfg.kind;
    let x = inputs.tensor(0)?;
    let w = inputs.tensor(1)?;
    let r = inputs.tensor(2)?;
    let dtype = x.dtype();
    ensure!(
        dtype.is_float(),
        "{:?} needs float inputs, got {}",
        kind,
        dtype
    );
    ensure!(x.rank() == 3, "X must be rank 3, got shape {:?}", x.shape());
    let (s_len, batch, isz) = if cfg.batch_major {
        (x.shape()[1], x.shape()[0], x.shape()[2])
    } else {
        (x.shape()[0], x.shape()[1], x.shape()[2])
    };
    ensure!(r.rank() == 3, "R must be rank 3, got shape {:?}", r.shape());
    let h = cfg.hidden.unwrap_or(r.shape()[2]);
    let g = kind.gates();
    let d = cfg.dirs;
    let gh = g * h;
    check_shape("W", w, &[d, gh, isz])?;
    check_shape("R", r, &[d, gh, h])?;
    for (i, t) in [(1, w), (2, r)] {
        ensure!(
            t.dtype() == dtype,
            "input {} must be {}, got {}",
            i,
            dtype,
            t.dtype()
        );
    }

    // X as [S][B][I].
    let xv = f32_data(x)?;
    let xs: Vec<f32> = if cfg.batch_major {
        let mut v = vec![0f32; xv.len()];
        for bi in 0..batch {
            for t in 0..s_len {
                let src = (bi * s_len + t) * isz;
                let dst = (t * batch + bi) * isz;
                v[dst..dst + isz].copy_from_slice(&xv[src..src + isz]);
            }
        }
        v
    } else {
        xv.into_owned()
    };
    let wv = f32_data(w)?;
    let rv = f32_data(r)?;
    let bias = match inputs.opt_tensor(3)? {
        Some(b) => {
            check_shape("B", b, &[d, 2 * gh])?;
            f32_data(b)?.into_owned()
        }
        None => vec![0f32; d * 2 * gh],
    };
    let lens: Vec<usize> = match inputs.opt_tensor(4)? {
        Some(t) => {
            check_shape("sequence_lens", t, &[batch])?;
            t.to_i64_vec()?
                .into_iter()
                .map(|l| {
                    ensure!(
                        l >= 0 && l as u64 <= s_len as u64,
                        "sequence length {} out of range 0..={}",
                        l,
                        s_len
                    );
                    Ok(l as usize)
                })
                .collect::<Result<_>>()?
        }
        None => vec![s_len; batch],
    };
    let h0 = state_input(inputs.opt_tensor(5)?, "initial_h", cfg, batch, h)?;
    let (c0, peep) = if kind == Kind::Lstm {
        let c0 = state_input(inputs.opt_tensor(6)?, "initial_c", cfg, batch, h)?;
        let p = match inputs.opt_tensor(7)? {
            Some(p) => {
                check_shape("P", p, &[d, 3 * h])?;
                f32_data(p)?.into_owned()
            }
            None => vec![0f32; d * 3 * h],
        };
        (c0, p)
    } else {
        (Vec::new(), Vec::new())
    };

    // Outputs in the [S, D, B, H] / [D, B, H] layouts; transposed at the end if batch-major.
    let mut y = vec![0f32; s_len * d * batch * h];
    let mut yh = vec![0f32; d * batch * h];
    let mut yc = vec![0f32; d * batch * h];

    let rows = s_len * batch;
    let mut xw = vec![0f32; rows * gh];
    let mut hr = vec![0f32; batch * gh];
    let mut rh = vec![0f32; batch * h];
    let mut gates = vec![0f32; gh];

    for di in 0..d {
        let reverse = cfg.reverse || di == 1;
        let [f, gact, hact] = cfg.acts[di];
        let wd = &wv[di * gh * isz..(di + 1) * gh * isz];
        let rd = &rv[di * gh * h..(di + 1) * gh * h];
        let wb = &bias[di * 2 * gh..di * 2 * gh + gh];
        let rb = &bias[di * 2 * gh + gh..(di + 1) * 2 * gh];
        let pd = if kind == Kind::Lstm {
            &peep[di * 3 * h..(di + 1) * 3 * h]
        } else {
            &[][..]
        };

        // Input projection for all steps, with the biases folded in (except the
        // GRU's recurrent hidden-gate bias under linear_before_reset).
        par_gemm_nt(rows, gh, isz, &xs, isz, wd, isz, &mut xw, gh, false);
        let mut fold = vec![0f32; gh];
        for j in 0..gh {
            let keep_rb = kind == Kind::Gru && cfg.linear_before_reset && j >= 2 * h;
            fold[j] = wb[j] + if keep_rb { 0.0 } else { rb[j] };
        }
        for row in xw.chunks_exact_mut(gh) {
            for (v, b) in row.iter_mut().zip(&fold) {
                *v += b;
            }
        }

        let mut hs = h0[di].clone();
        let mut cs = if kind == Kind::Lstm {
            c0[di].clone()
        } else {
            Vec::new()
        };
        let max_len = lens.iter().copied().max().unwrap_or(0);
        let clip = |v: f32| match cfg.clip {
            Some(c) => v.clamp(-c, c),
            None => v,
        };
        for step in 0..max_len {
            // Recurrent product for all batch rows (inactive rows are ignored).
            match kind {
                Kind::Gru if !cfg.linear_before_reset => {
                    par_gemm_nt(batch, 2 * h, h, &hs, h, rd, h, &mut hr, gh, false);
                }
                _ => par_gemm_nt(batch, gh, h, &hs, h, rd, h, &mut hr, gh, false),
            }
            for bi in 0..batch {
                let len = lens[bi];
                if step >= len {
                    continue;
                }
                let t = if reverse { len - 1 - step } else { step };
                let xrow = &xw[(t * batch + bi) * gh..(t * batch + bi + 1) * gh];
                let hrow = &hr[bi * gh..(bi + 1) * gh];
                let hprev = &mut hs[bi * h..(bi + 1) * h];
                match kind {
                    Kind::Rnn => {
                        for j in 0..h {
                            hprev[j] = f.apply(clip(xrow[j] + hrow[j]));
                        }
                    }
                    Kind::Lstm => {
                        let cprev = &mut cs[bi * h..(bi + 1) * h];
                        for j in 0..h {
                            let gi = xrow[j] + hrow[j];
                            let go = xrow[h + j] + hrow[h + j];
                            let gf = xrow[2 * h + j] + hrow[2 * h + j];
                            let gc = xrow[3 * h + j] + hrow[3 * h + j];
                            let c_old = cprev[j];
                            let i = f.apply(clip(gi + pd[j] * c_old));
                            let fg = if cfg.input_forget {
                                1.0 - i
                            } else {
                                f.apply(clip(gf + pd[2 * h + j] * c_old))
                            };
                            let cc = gact.apply(clip(gc));
                            let c_new = fg * c_old + i * cc;
                            let o = f.apply(clip(go + pd[h + j] * c_new));
                            cprev[j] = c_new;
                            hprev[j] = o * hact.apply(c_new);
                        }
                    }
                    Kind::Gru => {
                        for j in 0..2 * h {
                            gates[j] = f.apply(clip(xrow[j] + hrow[j]));
                        }
                        let (z, rgate) = gates.split_at(h);
                        if cfg.linear_before_reset {
                            for j in 0..h {
                                let hh = gact.apply(clip(
                                    xrow[2 * h + j] + rgate[j] * (hrow[2 * h + j] + rb[2 * h + j]),
                                ));
                                hprev[j] = (1.0 - z[j]) * hh + z[j] * hprev[j];
                            }
                        } else {
                            let rhrow = &mut rh[bi * h..(bi + 1) * h];
                            for j in 0..h {
                                rhrow[j] = rgate[j] * hprev[j];
                            }
                            for j in 0..h {
                                let dotv = super::common::dot(
                                    rhrow,
                                    &rd[(2 * h + j) * h..(2 * h + j + 1) * h],
                                );
                                let hh = gact.apply(clip(xrow[2 * h + j] + dotv));
                                hprev[j] = (1.0 - z[j]) * hh + z[j] * hprev[j];
                            }
                        }
                    }
                }
                let yo = ((t * d + di) * batch + bi) * h;
                y[yo..yo + h].copy_from_slice(hprev);
            }
        }
        yh[di * batch * h..(di + 1) * batch * h].copy_from_slice(&hs);
        if kind == Kind::Lstm {
            yc[di * batch * h..(di + 1) * batch * h].copy_from_slice(&cs);
        }
    }

    let (y, yshape, yh, yc, hshape) = if cfg.batch_major {
        // [S, D, B, H] -> [B, S, D, H]; [D, B, H] -> [B, D, H]
        let mut y2 = vec![0f32; y.len()];
        for t in 0..s_len {
            for di in 0..d {
                for bi in 0..batch {
                    let src = ((t * d + di) * batch + bi) * h;
                    let dst = ((bi * s_len + t) * d + di) * h;
                    y2[dst..dst + h].copy_from_slice(&y[src..src + h]);
                }
            }
        }
        let swap = |v: &[f32]| {
            let mut o = vec![0f32; v.len()];
            for di in 0..d {
                for bi in 0..batch {
                    let src = (di * batch + bi) * h;
                    let dst = (bi * d + di) * h;
                    o[dst..dst + h].copy_from_slice(&v[src..src + h]);
                }
            }
            o
        };
        (
            y2,
            vec![batch, s_len, d, h],
            swap(&yh),
            swap(&yc),
            vec![batch, d, h],
        )
    } else {
        (y, vec![s_len, d, batch, h], yh, yc, vec![d, batch, h])
    };
    let mut out = vec![
        Value::Tensor(from_f32(dtype, yshape, y)?),
        Value::Tensor(from_f32(dtype, hshape.clone(), yh)?),
    ];
    if kind == Kind::Lstm {
        out.push(Value::Tensor(from_f32(dtype, hshape, yc)?));
    }
    Ok(out)
}
