//! MatMul, Gemm and the fused `runnx.FusedMatMul` / `runnx.FusedGemm`.

use super::common::*;
use super::conv::fused_activation;
use crate::gemm::{self, Activation, Bias, Epilogue, MatRef};
use crate::ops::util::{broadcast_shapes, broadcast_strides};
use runnx_ir::dtype::Number;
use runnx_ir::{
    bail, dispatch_number, ensure, kernel, DType, Inputs, Kernel, NodeCtx, Result, Tensor, Value,
};

/// The shapes of a (batched, broadcast) matrix product.
pub(crate) struct MatMulShape {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    /// Broadcast batch dims of the output.
    pub batch: Vec<usize>,
    /// Per-batch element strides (in units of whole matrices) of A and B.
    pub a_bstrides: Vec<usize>,
    pub b_bstrides: Vec<usize>,
    pub out_shape: Vec<usize>,
}

impl MatMulShape {
    pub fn new(a: &[usize], b: &[usize]) -> Result<MatMulShape> {
        ensure!(
            !a.is_empty() && !b.is_empty(),
            "MatMul inputs must have rank 1 or more, got {:?} and {:?}",
            a,
            b
        );
        let a2: Vec<usize> = if a.len() == 1 {
            vec![1, a[0]]
        } else {
            a.to_vec()
        };
        let b2: Vec<usize> = if b.len() == 1 {
            vec![b[0], 1]
        } else {
            b.to_vec()
        };
        let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
        let (k2, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
        ensure!(k == k2, "MatMul inner dimensions differ: {:?} x {:?}", a, b);
        let ab = &a2[..a2.len() - 2];
        let bb = &b2[..b2.len() - 2];
        let batch = broadcast_shapes(&[ab, bb])?;
        let a_bstrides = broadcast_strides(ab, &batch);
        let b_bstrides = broadcast_strides(bb, &batch);
        let mut out_shape = batch.clone();
        if a.len() > 1 {
            out_shape.push(m);
        }
        if b.len() > 1 {
            out_shape.push(n);
        }
        checked_len(&out_shape)?;
        Ok(MatMulShape {
            m,
            n,
            k,
            batch,
            a_bstrides,
            b_bstrides,
            out_shape,
        })
    }

    pub fn batch_count(&self) -> usize {
        self.batch.iter().product()
    }

    /// Matrix indices of A and B for output batch `i`.
    pub fn operands(&self, i: usize) -> (usize, usize) {
        let (mut ai, mut bi, mut rem) = (0, 0, i);
        for d in (0..self.batch.len()).rev() {
            let idx = rem % self.batch[d];
            rem /= self.batch[d];
            ai += idx * self.a_bstrides[d];
            bi += idx * self.b_bstrides[d];
        }
        (ai, bi)
    }
}

/// f32 batched matmul with a fused column bias and activation.
pub fn matmul_f32(
    a: &[f32],
    a_shape: &[usize],
    b: &[f32],
    b_shape: &[usize],
    bias: Option<&[f32]>,
    act: Activation,
) -> Result<(Vec<usize>, Vec<f32>)> {
    let s = MatMulShape::new(a_shape, b_shape)?;
    let (m, n, k) = (s.m, s.n, s.k);
    ensure!(
        a.len() == checked_len(a_shape)? && b.len() == checked_len(b_shape)?,
        "MatMul data size mismatch"
    );
    let out_len = checked_len(&s.out_shape)?;
    // The GEMMs below write all of y with beta 0, never reading it.
    let mut y = runnx_ir::buffers::take_dirty(out_len, 0f32)?;
    if out_len == 0 {
        return Ok((s.out_shape, y));
    }
    let bias_vec;
    let bias: Option<&[f32]> = match bias {
        Some(v) if v.len() == n => Some(v),
        Some(v) if v.len() == 1 => {
            bias_vec = vec![v[0]; n];
            Some(&bias_vec)
        }
        Some(v) => bail!(
            "fused MatMul bias has {} values, expected {} or 1",
            v.len(),
            n
        ),
        None => None,
    };
    let ep = Epilogue {
        bias: bias.map_or(Bias::None, Bias::Col),
        act,
    };
    let batches = s.batch_count();
    // B shared by every batch and A's batches laid out contiguously: one tall GEMM.
    let b_shared = s.b_bstrides.iter().all(|&x| x == 0);
    let a_dense = s.a_bstrides == crate::ops::util::strides(&s.batch);
    if batches == 1 || (b_shared && a_dense) {
        gemm::sgemm(
            batches * m,
            n,
            k,
            1.0,
            MatRef::row_major(a, k),
            MatRef::row_major(b, n),
            0.0,
            &mut y,
            n,
            &ep,
        )?;
        return Ok((s.out_shape, y));
    }
    let (mk, kn, mn) = (m * k, k * n, m * n);
    let flops = m * n * k;
    let run = |bi: usize, yc: &mut [f32], threaded: bool| -> Result<()> {
        let (ai, bj) = s.operands(bi);
        let am = MatRef::row_major(&a[ai * mk..(ai + 1) * mk], k);
        let bm = MatRef::row_major(&b[bj * kn..(bj + 1) * kn], n);
        if threaded {
            gemm::sgemm(m, n, k, 1.0, am, bm, 0.0, yc, n, &ep)
        } else {
            gemm::sgemm_st(m, n, k, 1.0, am, bm, 0.0, yc, n, &ep)
        }
    };
    if flops < 1 << 22 {
        // Many small products: one thread per product.
        let err = std::sync::Mutex::new(None);
        crate::par::for_each_chunk_mut(&mut y, mn, flops, |bi, yc| {
            if let Err(e) = run(bi, yc, false) {
                if let Ok(mut g) = err.lock() {
                    *g = Some(e);
                }
            }
        });
        if let Some(e) = err.into_inner().ok().flatten() {
            return Err(e);
        }
    } else {
        for (bi, yc) in y.chunks_mut(mn).enumerate() {
            run(bi, yc, true)?;
        }
    }
    Ok((s.out_shape, y))
}

/// Any-type matmul (f64 accumulation for floats, wrapping for integers).
fn matmul_generic<T: Number>(a: &[T], b: &[T], s: &MatMulShape) -> Result<Vec<T>> {
    let (m, n, k) = (s.m, s.n, s.k);
    let out_len = checked_len(&s.out_shape)?;
    let mut y = vec![T::zero(); out_len];
    let (mk, kn, mn) = (m * k, k * n, m * n);
    if mn == 0 {
        return Ok(y);
    }
    for (bi, yc) in y.chunks_mut(mn).enumerate() {
        let (ai, bj) = s.operands(bi);
        let am = &a[ai * mk..(ai + 1) * mk];
        let bm = &b[bj * kn..(bj + 1) * kn];
        for i in 0..m {
            for j in 0..n {
                yc[i * n + j] = if T::IS_FLOAT {
                    let mut acc = 0f64;
                    for p in 0..k {
                        acc += am[i * k + p].to_f64() * bm[p * n + j].to_f64();
                    }
                    T::from_f64(acc)
                } else {
                    let mut acc = 0i128;
                    for p in 0..k {
                        acc = acc.wrapping_add(
                            am[i * k + p]
                                .to_i128()
                                .wrapping_mul(bm[p * n + j].to_i128()),
                        );
                    }
                    T::from_i128(acc)
                };
            }
        }
    }
    Ok(y)
}

fn matmul_tensors(
    a: &Tensor,
    b: &Tensor,
    bias: Option<&Tensor>,
    act: Activation,
) -> Result<Tensor> {
    ensure!(
        a.dtype() == b.dtype(),
        "MatMul inputs have different types: {} and {}",
        a.dtype(),
        b.dtype()
    );
    let dt = a.dtype();
    if dt == DType::F32
        || dt == DType::F16
        || dt == DType::BF16
        || bias.is_some()
        || act != Activation::None
    {
        ensure!(
            dt.is_float(),
            "fused MatMul expects float tensors, got {}",
            dt
        );
        let (af, bf) = (as_f32(a)?, as_f32(b)?);
        let cf = match bias {
            Some(c) => Some(as_f32(c)?),
            None => None,
        };
        let cs = match &cf {
            Some(c) => Some(c.as_slice::<f32>()?),
            None => None,
        };
        let n = MatMulShape::new(a.shape(), b.shape())?.n;
        // A bias over the last axis fuses into the GEMM; any other broadcastable
        // shape is added afterwards.
        let fused = cs.is_none_or(|c| c.len() == n || c.len() == 1);
        let (shape, mut y) = if fused {
            matmul_f32(
                af.as_slice::<f32>()?,
                a.shape(),
                bf.as_slice::<f32>()?,
                b.shape(),
                cs,
                act,
            )?
        } else {
            matmul_f32(
                af.as_slice::<f32>()?,
                a.shape(),
                bf.as_slice::<f32>()?,
                b.shape(),
                None,
                Activation::None,
            )?
        };
        if let (false, Some(c), Some(cv)) = (fused, bias, cs) {
            let full = broadcast_shapes(&[c.shape(), &shape])?;
            ensure!(
                full == shape,
                "MatMul bias of shape {:?} does not broadcast to {:?}",
                c.shape(),
                shape
            );
            let zero = vec![0usize; shape.len()];
            let cstr = broadcast_strides(c.shape(), &shape);
            crate::ops::util::for_each_broadcast_run(
                &shape,
                &cstr,
                &zero,
                |o, ci, cstep, _, _, len| {
                    for (j, v) in y[o..o + len].iter_mut().enumerate() {
                        *v += cv[ci + j * cstep];
                    }
                },
            );
            act.apply(&mut y);
        }
        return from_f32(Tensor::new(shape, y)?, dt);
    }
    ensure!(dt != DType::Bool, "MatMul does not support bool tensors");
    let s = MatMulShape::new(a.shape(), b.shape())?;
    dispatch_number!(dt, T => {
        let y = matmul_generic::<T>(a.as_slice::<T>()?, b.as_slice::<T>()?, &s)?;
        Tensor::new(s.out_shape.clone(), y)
    })
}

pub(crate) fn build_matmul(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let y = matmul_tensors(inputs.tensor(0)?, inputs.tensor(1)?, None, Activation::None)?;
        Ok(vec![Value::Tensor(y)])
    }))
}

/// `runnx.FusedMatMul(A, B, [bias])`: MatMul, plus an optional bias over the last
/// axis (`N` values), then `activation` / `activation_params`.
pub(crate) fn build_fused_matmul(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let act = fused_activation(n)?;
    Ok(kernel(move |inputs: &Inputs| {
        let y = matmul_tensors(
            inputs.tensor(0)?,
            inputs.tensor(1)?,
            inputs.opt_tensor(2)?,
            act,
        )?;
        Ok(vec![Value::Tensor(y)])
    }))
}

/// Gemm attributes.
#[derive(Clone, Copy, Debug)]
pub struct GemmParams {
    pub alpha: f32,
    pub beta: f32,
    pub trans_a: bool,
    pub trans_b: bool,
}

impl GemmParams {
    pub fn from_node(n: &NodeCtx) -> Result<GemmParams> {
        Ok(GemmParams {
            alpha: n.attr_float("alpha", 1.0)?,
            beta: n.attr_float("beta", 1.0)?,
            trans_a: n.attr_int("transA", 0)? != 0,
            trans_b: n.attr_int("transB", 0)? != 0,
        })
    }
}

fn gemm_dims(p: &GemmParams, a: &[usize], b: &[usize]) -> Result<(usize, usize, usize)> {
    ensure!(
        a.len() == 2 && b.len() == 2,
        "Gemm inputs must be 2-D, got {:?} and {:?}",
        a,
        b
    );
    let (m, k) = if p.trans_a {
        (a[1], a[0])
    } else {
        (a[0], a[1])
    };
    let (k2, n) = if p.trans_b {
        (b[1], b[0])
    } else {
        (b[0], b[1])
    };
    ensure!(
        k == k2,
        "Gemm inner dimensions differ: {:?} x {:?} (transA {}, transB {})",
        a,
        b,
        p.trans_a,
        p.trans_b
    );
    Ok((m, n, k))
}

/// f32 Gemm: `act(alpha * op(A) * op(B) + beta * C)`, C broadcast to `[M, N]`.
pub fn gemm_fused(
    a: &[f32],
    a_shape: &[usize],
    b: &[f32],
    b_shape: &[usize],
    c: Option<(&[f32], &[usize])>,
    p: &GemmParams,
    act: Activation,
) -> Result<(Vec<usize>, Vec<f32>)> {
    let (m, n, k) = gemm_dims(p, a_shape, b_shape)?;
    ensure!(
        a.len() == checked_len(a_shape)? && b.len() == checked_len(b_shape)?,
        "Gemm data size mismatch"
    );
    let out_shape = vec![m, n];
    let mut y = runnx_ir::buffers::take(checked_len(&out_shape)?, 0f32)?;
    let am = if p.trans_a {
        MatRef::transposed(a, m)
    } else {
        MatRef::row_major(a, k)
    };
    let bm = if p.trans_b {
        MatRef::transposed(b, k)
    } else {
        MatRef::row_major(b, n)
    };
    let mut beta = 0.0;
    let mut scaled = Vec::new();
    let mut bias_kind = 0; // 0 none, 1 row, 2 col
    if let Some((cv, cs)) = c {
        if p.beta != 0.0 {
            ensure!(
                cs.len() <= 2,
                "Gemm C must have rank 2 or less, got {:?}",
                cs
            );
            ensure!(cv.len() == checked_len(cs)?, "Gemm C data size mismatch");
            let full = broadcast_shapes(&[cs, &out_shape])?;
            ensure!(
                full == out_shape,
                "Gemm C of shape {:?} does not broadcast to [{}, {}]",
                cs,
                m,
                n
            );
            let cs2: Vec<usize> = match cs.len() {
                0 => vec![1, 1],
                1 => vec![1, cs[0]],
                _ => cs.to_vec(),
            };
            if cs2[0] == 1 {
                scaled = if cs2[1] == 1 {
                    vec![p.beta * cv[0]; n]
                } else {
                    cv.iter().map(|v| p.beta * v).collect()
                };
                bias_kind = 2;
            } else if cs2[1] == 1 {
                scaled = cv.iter().map(|v| p.beta * v).collect();
                bias_kind = 1;
            } else {
                y.copy_from_slice(cv);
                beta = p.beta;
            }
        }
    }
    let bias = match bias_kind {
        1 => Bias::Row(&scaled),
        2 => Bias::Col(&scaled),
        _ => Bias::None,
    };
    gemm::sgemm(
        m,
        n,
        k,
        p.alpha,
        am,
        bm,
        beta,
        &mut y,
        n,
        &Epilogue { bias, act },
    )?;
    Ok((out_shape, y))
}

fn gemm_generic<T: Number>(
    a: &Tensor,
    b: &Tensor,
    c: Option<&Tensor>,
    p: &GemmParams,
) -> Result<Tensor> {
    let (m, n, k) = gemm_dims(p, a.shape(), b.shape())?;
    let (av, bv) = (a.as_slice::<T>()?, b.as_slice::<T>()?);
    let mut y = vec![T::zero(); checked_len(&[m, n])?];
    let cview = match c {
        Some(c) => {
            ensure!(c.rank() <= 2, "Gemm C must have rank 2 or less");
            let full = broadcast_shapes(&[c.shape(), &[m, n]])?;
            ensure!(
                full == [m, n],
                "Gemm C of shape {:?} does not broadcast to [{}, {}]",
                c.shape(),
                m,
                n
            );
            Some((c.as_slice::<T>()?, broadcast_strides(c.shape(), &[m, n])))
        }
        None => None,
    };
    let (alpha, beta) = (p.alpha as f64, p.beta as f64);
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0f64;
            let mut iacc = 0i128;
            for q in 0..k {
                let x = if p.trans_a {
                    av[q * m + i]
                } else {
                    av[i * k + q]
                };
                let w = if p.trans_b {
                    bv[j * k + q]
                } else {
                    bv[q * n + j]
                };
                if T::IS_FLOAT {
                    acc += x.to_f64() * w.to_f64();
                } else {
                    iacc = iacc.wrapping_add(x.to_i128().wrapping_mul(w.to_i128()));
                }
            }
            let cval = cview.as_ref().map(|(cv, st)| cv[i * st[0] + j * st[1]]);
            y[i * n + j] = if T::IS_FLOAT {
                T::from_f64(alpha * acc + cval.map_or(0.0, |v| beta * v.to_f64()))
            } else {
                let v = alpha * iacc as f64 + cval.map_or(0.0, |v| beta * v.to_i128() as f64);
                T::from_i128(v as i128)
            };
        }
    }
    Tensor::new(vec![m, n], y)
}

fn gemm_tensors(
    a: &Tensor,
    b: &Tensor,
    c: Option<&Tensor>,
    p: &GemmParams,
    act: Activation,
) -> Result<Tensor> {
    let dt = a.dtype();
    ensure!(
        b.dtype() == dt,
        "Gemm inputs have different types: {} and {}",
        dt,
        b.dtype()
    );
    if let Some(c) = c {
        ensure!(c.dtype() == dt, "Gemm C is {}, A is {}", c.dtype(), dt);
    }
    if dt == DType::F32 || dt == DType::F16 || dt == DType::BF16 || act != Activation::None {
        ensure!(
            dt.is_float(),
            "fused Gemm expects float tensors, got {}",
            dt
        );
        let (af, bf) = (as_f32(a)?, as_f32(b)?);
        let cf = match c {
            Some(c) => Some(as_f32(c)?),
            None => None,
        };
        let cref = match (&cf, c) {
            (Some(t), Some(orig)) => Some((t.as_slice::<f32>()?, orig.shape())),
            _ => None,
        };
        let (shape, y) = gemm_fused(
            af.as_slice::<f32>()?,
            a.shape(),
            bf.as_slice::<f32>()?,
            b.shape(),
            cref,
            p,
            act,
        )?;
        return from_f32(Tensor::new(shape, y)?, dt);
    }
    ensure!(dt != DType::Bool, "Gemm does not support bool tensors");
    dispatch_number!(dt, T => gemm_generic::<T>(a, b, c, p))
}

pub(crate) fn build_gemm(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let p = GemmParams::from_node(n)?;
    Ok(kernel(move |inputs: &Inputs| {
        let y = gemm_tensors(
            inputs.tensor(0)?,
            inputs.tensor(1)?,
            inputs.opt_tensor(2)?,
            &p,
            Activation::None,
        )?;
        Ok(vec![Value::Tensor(y)])
    }))
}

/// `runnx.FusedGemm`: Gemm attributes plus `activation` / `activation_params`.
pub(crate) fn build_fused_gemm(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let p = GemmParams::from_node(n)?;
    let act = fused_activation(n)?;
    Ok(kernel(move |inputs: &Inputs| {
        let y = gemm_tensors(
            inputs.tensor(0)?,
            inputs.tensor(1)?,
            inputs.opt_tensor(2)?,
            &p,
            act,
        )?;
        Ok(vec![Value::Tensor(y)])
    }))
}
