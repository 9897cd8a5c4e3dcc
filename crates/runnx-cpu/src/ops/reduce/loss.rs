//! NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.

use super::common::{read, with_flt, write, Flt};
use super::softmax::{softmax_view, Kind};
use runnx_ir::dtype::Number;
use runnx_ir::{bail, ensure, kernel, Kernel, NodeCtx, Result, Tensor, Value};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reduction {
    None,
    Sum,
    Mean,
}

fn reduction(n: &NodeCtx) -> Result<Reduction> {
    Ok(match n.attr_str("reduction", "mean")?.as_str() {
        "none" => Reduction::None,
        "sum" => Reduction::Sum,
        "mean" => Reduction::Mean,
        other => bail!("unknown reduction '{}'", other),
    })
}

/// The loss of log-probabilities `x` (`[N, C, D]` flattened) against `target` (`[N, D]`).
fn nll<F: Flt>(
    x: &[F],
    shape: &[usize],
    target: &Tensor,
    weight: Option<&[F]>,
    ignore: Option<i64>,
    red: Reduction,
) -> Result<(Vec<F>, Vec<usize>)> {
    ensure!(
        shape.len() >= 2,
        "input must have rank >= 2 ([N, C, ...]), got {:?}",
        shape
    );
    let (nb, c) = (shape[0], shape[1]);
    let d: usize = shape[2..].iter().product();
    let mut tshape = vec![nb];
    tshape.extend_from_slice(&shape[2..]);
    ensure!(
        target.shape() == tshape.as_slice(),
        "target shape {:?} does not match input shape {:?}",
        target.shape(),
        shape
    );
    if let Some(w) = weight {
        ensure!(
            w.len() == c,
            "weight must have {} elements, got {}",
            c,
            w.len()
        );
    }
    let t = target.to_i64_vec()?;
    let mut loss = vec![0f64; nb * d];
    let mut wsum = 0f64;
    for i in 0..nb {
        for k in 0..d {
            let tv = t[i * d + k];
            if Some(tv) == ignore {
                continue;
            }
            ensure!(
                tv >= 0 && (tv as usize) < c,
                "target {} is out of range for {} classes",
                tv,
                c
            );
            let cls = tv as usize;
            let w = weight.map_or(1.0, |w| Number::to_f64(w[cls]));
            loss[i * d + k] = -Number::to_f64(x[(i * c + cls) * d + k]) * w;
            wsum += w;
        }
    }
    Ok(match red {
        Reduction::None => (loss.into_iter().map(F::from_f64).collect(), tshape),
        Reduction::Sum => (vec![F::from_f64(loss.iter().sum())], vec![]),
        Reduction::Mean => (vec![F::from_f64(loss.iter().sum::<f64>() / wsum)], vec![]),
    })
}

fn build(n: &NodeCtx, softmax: bool) -> Result<Box<dyn Kernel>> {
    let red = reduction(n)?;
    let ignore = n.attr_int_opt("ignore_index")?;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let target = inputs.tensor(1)?;
        let weight = inputs.opt_tensor(2)?;
        let shape = x.shape();
        ensure!(
            shape.len() >= 2,
            "input must have rank >= 2 ([N, C, ...]), got {:?}",
            shape
        );
        let outs: Vec<Value> = with_flt!(x.dtype(), F => {
            let xv = read::<F>(x)?;
            let w = match weight {
                Some(w) => Some(read::<F>(w)?),
                None => None,
            };
            let logp = if softmax {
                let inner: usize = shape[2..].iter().product();
                Some(softmax_view::<F>(Kind::LogSoftmax, &xv, shape[1], inner)?)
            } else {
                None
            };
            let lp: &[F] = logp.as_deref().unwrap_or(&xv[..]);
            let (loss, lshape) = nll(lp, shape, target, w.as_deref(), ignore, red)?;
            let mut outs: Vec<Value> = vec![write(loss, x.dtype(), lshape)?.into()];
            if let Some(lp) = logp {
                outs.push(write(lp, x.dtype(), shape)?.into());
            }
            outs
        });
        Ok(outs)
    }))
}

pub fn nll_loss(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    build(n, false)
}

pub fn softmax_cross_entropy_loss(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    build(n, true)
}
