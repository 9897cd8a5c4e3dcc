//! Shape rules of the neural-network ops: MatMul, Gemm, Conv, pooling and
//! normalisation, and runnx's fused forms of them.

use super::elementwise::broadcast_dims;
use super::{Fact, InferCtx, Rule};
use runnx_ir::graph::Dim;
use runnx_ir::{DType, Result};

pub fn rule(op: &str) -> Option<Rule> {
    Some(match op {
        "MatMul" => matmul,
        "Gemm" => gemm,
        "Conv" => conv,
        "MaxPool" | "AveragePool" | "LpPool" => pool,
        "GlobalAveragePool" | "GlobalMaxPool" | "GlobalLpPool" => global_pool,
        "BatchNormalization"
        | "LayerNormalization"
        | "SkipLayerNormalization"
        | "RMSNormalization"
        | "GroupNormalization" => normalization,
        _ => return None,
    })
}

/// Rules of the nodes runnx's passes create (domain "runnx").
pub fn fused_rule(op: &str) -> Option<Rule> {
    Some(match op {
        "FusedConv" => conv,
        "FusedGemm" => gemm,
        "FusedMatMul" => matmul,
        _ => return None,
    })
}

fn matmul(c: &InferCtx) -> Result<Vec<Fact>> {
    let dtype = c.dtype(0).or(c.dtype(1));
    let (Some(a), Some(b)) = (c.shape(0), c.shape(1)) else {
        return Ok(vec![Fact::new(dtype, None)]);
    };
    if a.is_empty() || b.is_empty() {
        return Ok(vec![]);
    }
    // 1-D operands are promoted to matrices and the added axis is removed again.
    let a2: Vec<Dim> = if a.len() == 1 {
        vec![Dim::Fixed(1), a[0].clone()]
    } else {
        a.to_vec()
    };
    let b2: Vec<Dim> = if b.len() == 1 {
        vec![b[0].clone(), Dim::Fixed(1)]
    } else {
        b.to_vec()
    };
    let (ab, bb) = (&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
    let Some(mut dims) = broadcast_dims(ab, bb) else {
        return Ok(vec![]);
    };
    if a.len() > 1 {
        dims.push(a2[a2.len() - 2].clone());
    }
    if b.len() > 1 {
        dims.push(b2[b2.len() - 1].clone());
    }
    Ok(vec![Fact::new(dtype, Some(dims))])
}

fn gemm(c: &InferCtx) -> Result<Vec<Fact>> {
    let dtype = c.dtype(0);
    let (Some(a), Some(b)) = (c.shape(0), c.shape(1)) else {
        return Ok(vec![Fact::new(dtype, Some(vec![Dim::Unknown; 2]))]);
    };
    if a.len() != 2 || b.len() != 2 {
        return Ok(vec![]);
    }
    let m = if c.ctx.attr_int("transA", 0)? != 0 {
        &a[1]
    } else {
        &a[0]
    };
    let n = if c.ctx.attr_int("transB", 0)? != 0 {
        &b[0]
    } else {
        &b[1]
    };
    Ok(vec![Fact::new(dtype, Some(vec![m.clone(), n.clone()]))])
}

/// Padding, strides and dilations of a window op over `spatial` input dims.
struct Window {
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pads: Vec<usize>,
    auto_pad: String,
    ceil: bool,
}

impl Window {
    fn read(c: &InferCtx, kernel: Vec<usize>) -> Result<Option<Window>> {
        let n = kernel.len();
        let ints = |name: &str, d: usize, len: usize| -> Result<Option<Vec<usize>>> {
            Ok(match c.ctx.attr_ints_opt(name)? {
                None => Some(vec![d; len]),
                Some(v) if v.len() == len => v.iter().map(|&x| usize::try_from(x).ok()).collect(),
                Some(_) => None,
            })
        };
        let (Some(strides), Some(dilations), Some(pads)) = (
            ints("strides", 1, n)?,
            ints("dilations", 1, n)?,
            ints("pads", 0, 2 * n)?,
        ) else {
            return Ok(None);
        };
        Ok(Some(Window {
            kernel,
            strides,
            dilations,
            pads,
            auto_pad: c.ctx.attr_str("auto_pad", "NOTSET")?,
            ceil: c.ctx.attr_int("ceil_mode", 0)? != 0,
        }))
    }

    /// Output size of spatial axis `i` for an input of size `d`.
    fn out(&self, i: usize, d: &Dim) -> Dim {
        let Dim::Fixed(d) = *d else {
            return Dim::Unknown;
        };
        let s = self.strides[i].max(1);
        // Attribute values come from the model: any overflow means "unknown".
        let size = match self.auto_pad.as_str() {
            "SAME_UPPER" | "SAME_LOWER" => Some(d.div_ceil(s)),
            _ => (|| {
                let pads = if self.auto_pad == "VALID" {
                    0
                } else {
                    self.pads[i].checked_add(self.pads[i + self.kernel.len()])?
                };
                let span = self.dilations[i]
                    .checked_mul(self.kernel[i].max(1) - 1)?
                    .checked_add(1)?;
                let room = d.checked_add(pads)?.checked_sub(span)?;
                let steps = if self.ceil {
                    room.div_ceil(s)
                } else {
                    room / s
                };
                // With ceil_mode, a last window that starts in the right padding is dropped.
                let dropped = self.ceil && steps.checked_mul(s)? >= d.checked_add(self.pads[i])?;
                Some(if dropped { steps } else { steps + 1 })
            })(),
        };
        size.map_or(Dim::Unknown, Dim::Fixed)
    }
}

fn conv(c: &InferCtx) -> Result<Vec<Fact>> {
    let dtype = c.dtype(0);
    let (Some(x), Some(w)) = (c.shape(0), c.shape(1)) else {
        return Ok(vec![Fact::new(
            dtype,
            c.rank(0).map(|r| vec![Dim::Unknown; r]),
        )]);
    };
    if x.len() < 3 || w.len() != x.len() {
        return Ok(vec![]);
    }
    let kernel: Option<Vec<usize>> = match c.ctx.attr_ints_opt("kernel_shape")? {
        Some(k) => k.iter().map(|&v| usize::try_from(v).ok()).collect(),
        None => w[2..]
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => Some(*n),
                _ => None,
            })
            .collect(),
    };
    let mut dims = vec![x[0].clone(), w[0].clone()];
    match kernel.map(|k| Window::read(c, k)).transpose()?.flatten() {
        Some(win) if win.kernel.len() == x.len() - 2 => {
            dims.extend(x[2..].iter().enumerate().map(|(i, d)| win.out(i, d)));
        }
        _ => dims.extend(vec![Dim::Unknown; x.len() - 2]),
    }
    Ok(vec![Fact::new(dtype, Some(dims))])
}

fn pool(c: &InferCtx) -> Result<Vec<Fact>> {
    let dtype = c.dtype(0);
    let Some(x) = c.shape(0).filter(|x| x.len() >= 3) else {
        return Ok(vec![Fact::new(dtype, None)]);
    };
    let kernel: Option<Vec<usize>> = c
        .ctx
        .attr_ints_opt("kernel_shape")?
        .and_then(|k| k.iter().map(|&v| usize::try_from(v).ok()).collect());
    let mut dims = x[..2].to_vec();
    match kernel.map(|k| Window::read(c, k)).transpose()?.flatten() {
        Some(win) if win.kernel.len() == x.len() - 2 => {
            dims.extend(x[2..].iter().enumerate().map(|(i, d)| win.out(i, d)));
        }
        _ => dims.extend(vec![Dim::Unknown; x.len() - 2]),
    }
    let out = Fact::new(dtype, Some(dims));
    let indices = Fact::new(Some(DType::I64), out.shape.clone());
    Ok(vec![out, indices])
}

fn global_pool(c: &InferCtx) -> Result<Vec<Fact>> {
    let dtype = c.dtype(0);
    let dims = c.shape(0).filter(|x| x.len() >= 2).map(|x| {
        let mut d = x[..2].to_vec();
        d.extend(vec![Dim::Fixed(1); x.len() - 2]);
        d
    });
    Ok(vec![Fact::new(dtype, dims)])
}

/// The first output has the input's type and shape; statistics outputs are left unknown.
fn normalization(c: &InferCtx) -> Result<Vec<Fact>> {
    let x = c.input(0);
    Ok(vec![Fact::new(x.dtype, x.shape)])
}
