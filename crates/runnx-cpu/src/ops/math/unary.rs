//! Unary math and activations, on one framework: each float op is written once
//! (a body compiled for f32 and f64; f16/bf16 go through f32).

use super::binary::{dispatch_arith, via_f32};
use super::broadcast::unary_map;
use super::fast;
use super::scalar::Arith;
use runnx_ir::dtype::Number;
use runnx_ir::{
    bail, bf16, ensure, f16, kernel, DType, Inputs, Kernel, NodeCtx, Result, Tensor, Value,
};

/// Functions whose f32 versions have fast vectorisable approximations.
pub trait Special: Copy {
    fn exp_(self) -> Self;
    fn tanh_(self) -> Self;
    fn erf_(self) -> Self;
    fn sigmoid_(self) -> Self;
    fn gelu_(self) -> Self;
    fn gelu_tanh_(self) -> Self;
}

impl Special for f32 {
    #[inline(always)]
    fn exp_(self) -> f32 {
        fast::exp(self)
    }
    #[inline(always)]
    fn tanh_(self) -> f32 {
        fast::tanh(self)
    }
    #[inline(always)]
    fn erf_(self) -> f32 {
        fast::erf(self)
    }
    #[inline(always)]
    fn sigmoid_(self) -> f32 {
        fast::sigmoid(self)
    }
    #[inline(always)]
    fn gelu_(self) -> f32 {
        fast::gelu(self)
    }
    #[inline(always)]
    fn gelu_tanh_(self) -> f32 {
        fast::gelu_tanh(self)
    }
}

impl Special for f64 {
    fn exp_(self) -> f64 {
        self.exp()
    }
    fn tanh_(self) -> f64 {
        self.tanh()
    }
    fn erf_(self) -> f64 {
        libm::erf(self)
    }
    fn sigmoid_(self) -> f64 {
        1.0 / (1.0 + (-self).exp())
    }
    fn gelu_(self) -> f64 {
        0.5 * self * libm::erfc(-self * std::f64::consts::FRAC_1_SQRT_2)
    }
    fn gelu_tanh_(self) -> f64 {
        let y = (2.0 / std::f64::consts::PI).sqrt() * (self + 0.044715 * self * self * self);
        self / (1.0 + (-2.0 * y).exp())
    }
}

/// A float function of one element, compiled for f32 and f64.
pub trait FloatFn: Send + Sync + 'static {
    /// Rough scalar operations per element (for threading decisions).
    const COST: usize;
    fn f32(&self, x: f32) -> f32;
    fn f64(&self, x: f64) -> f64;
}

/// Apply a float function to a float tensor of any precision.
pub fn apply_float<Op: FloatFn>(op: &Op, t: &Tensor) -> Result<Tensor> {
    match t.dtype() {
        DType::F32 => unary_map::<f32, f32, _>(t, Op::COST, |x| op.f32(*x)),
        DType::F64 => unary_map::<f64, f64, _>(t, Op::COST, |x| op.f64(*x)),
        DType::F16 => unary_map::<f16, f16, _>(t, Op::COST, |x| f16::from_f32(op.f32(x.to_f32()))),
        DType::BF16 => {
            unary_map::<bf16, bf16, _>(t, Op::COST, |x| bf16::from_f32(op.f32(x.to_f32())))
        }
        other => bail!("expected a float tensor, got {}", other),
    }
}

/// Define a float op: a struct holding its float attributes and its body, written
/// once for `F` = f32 and f64 (attributes are visible as `F` values).
macro_rules! float_fn {
    ($name:ident, $cost:expr, [$($field:ident),*], |$x:ident| $body:expr) => {
        pub struct $name {
            $(pub $field: f64,)*
        }
        impl FloatFn for $name {
            const COST: usize = $cost;
            #[inline(always)]
            #[allow(unused_imports, dead_code, clippy::excessive_precision)]
            fn f32(&self, $x: f32) -> f32 {
                type F = f32;
                use std::f32::consts;
                $(let $field = self.$field as F;)*
                $body
            }
            #[inline(always)]
            #[allow(unused_imports, dead_code, clippy::excessive_precision)]
            fn f64(&self, $x: f64) -> f64 {
                type F = f64;
                use std::f64::consts;
                $(let $field = self.$field as F;)*
                $body
            }
        }
    };
}

float_fn!(Sqrt, 4, [], |x| x.sqrt());
float_fn!(Exp, 12, [], |x| x.exp_());
float_fn!(Log, 20, [], |x| x.ln());
float_fn!(Ceil, 2, [], |x| x.ceil());
float_fn!(Floor, 2, [], |x| x.floor());
float_fn!(Round, 2, [], |x| x.round_ties_even());
float_fn!(Reciprocal, 2, [], |x| 1.0 / x);
float_fn!(Erf, 20, [], |x| x.erf_());
float_fn!(Sin, 20, [], |x| x.sin());
float_fn!(Cos, 20, [], |x| x.cos());
float_fn!(Tan, 20, [], |x| x.tan());
float_fn!(Asin, 20, [], |x| x.asin());
float_fn!(Acos, 20, [], |x| x.acos());
float_fn!(Atan, 20, [], |x| x.atan());
float_fn!(Sinh, 20, [], |x| x.sinh());
float_fn!(Cosh, 20, [], |x| x.cosh());
float_fn!(Asinh, 20, [], |x| x.asinh());
float_fn!(Acosh, 20, [], |x| x.acosh());
float_fn!(Atanh, 20, [], |x| x.atanh());
float_fn!(Tanh, 16, [], |x| x.tanh_());
float_fn!(Sigmoid, 16, [], |x| x.sigmoid_());
float_fn!(LeakyRelu, 1, [alpha], |x| if x < 0.0 {
    alpha * x
} else {
    x
});
float_fn!(Elu, 16, [alpha], |x| if x < 0.0 {
    alpha * (x.exp_() - 1.0)
} else {
    x
});
float_fn!(Selu, 16, [alpha, gamma], |x| if x <= 0.0 {
    gamma * (alpha * x.exp_() - alpha)
} else {
    gamma * x
});
float_fn!(Celu, 16, [alpha], |x| {
    let neg = alpha * ((x / alpha).exp_() - 1.0);
    (if x > 0.0 { x } else { 0.0 }) + (if neg < 0.0 { neg } else { 0.0 })
});
float_fn!(HardSigmoid, 2, [alpha, beta], |x| {
    let y = alpha * x + beta;
    let y = if y < 0.0 { 0.0 } else { y };
    if y > 1.0 {
        1.0
    } else {
        y
    }
});
float_fn!(HardSwish, 2, [], |x| {
    let y = x / 6.0 + 0.5;
    let y = if y < 0.0 { 0.0 } else { y };
    x * (if y > 1.0 { 1.0 } else { y })
});
float_fn!(Softplus, 30, [], |x| {
    let ax = x.abs();
    (if x > 0.0 { x } else { 0.0 }) + (-ax).exp().ln_1p()
});
float_fn!(Softsign, 2, [], |x| x / (1.0 + x.abs()));
float_fn!(Mish, 40, [], |x| {
    let ax = x.abs();
    let sp = (if x > 0.0 { x } else { 0.0 }) + (-ax).exp().ln_1p();
    x * sp.tanh_()
});
float_fn!(Gelu, 24, [], |x| x.gelu_());
float_fn!(GeluTanh, 20, [], |x| x.gelu_tanh_());
float_fn!(Swish, 16, [alpha], |x| x * (alpha * x).sigmoid_());
float_fn!(ThresholdedRelu, 1, [alpha], |x| if x > alpha {
    x
} else {
    0.0
});
float_fn!(Shrink, 1, [lambd, bias], |x| {
    if x < -lambd {
        x + bias
    } else if x > lambd {
        x - bias
    } else {
        0.0
    }
});

/// Build a kernel applying a float op built at compile time.
fn float_kernel<Op: FloatFn>(op: Op) -> Box<dyn Kernel> {
    kernel(move |inputs: &Inputs| Ok(vec![Value::Tensor(apply_float(&op, inputs.tensor(0)?)?)]))
}

/// Register-ready constructors for float ops without attributes.
macro_rules! simple_float_ops {
    ($($fname:ident => $op:ident),* $(,)?) => {$(
        pub fn $fname(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
            Ok(float_kernel($op {}))
        }
    )*};
}

simple_float_ops!(
    sqrt => Sqrt, exp => Exp, log => Log, ceil => Ceil, floor => Floor, round => Round,
    reciprocal => Reciprocal, erf => Erf, sin => Sin, cos => Cos, tan => Tan, asin => Asin,
    acos => Acos, atan => Atan, sinh => Sinh, cosh => Cosh, asinh => Asinh, acosh => Acosh,
    atanh => Atanh, tanh => Tanh, sigmoid => Sigmoid, hard_swish => HardSwish,
    softplus => Softplus, softsign => Softsign, mish => Mish,
);

fn attr_f64(n: &NodeCtx, name: &str, default: f32) -> Result<f64> {
    Ok(n.attr_float(name, default)? as f64)
}

pub fn leaky_relu(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(float_kernel(LeakyRelu {
        alpha: attr_f64(n, "alpha", 0.01)?,
    }))
}
pub fn elu(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(float_kernel(Elu {
        alpha: attr_f64(n, "alpha", 1.0)?,
    }))
}
pub fn selu(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(float_kernel(Selu {
        alpha: attr_f64(n, "alpha", 1.673_263_2)?,
        gamma: attr_f64(n, "gamma", 1.050_701)?,
    }))
}
pub fn celu(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let alpha = attr_f64(n, "alpha", 1.0)?;
    ensure!(alpha != 0.0, "Celu alpha must not be 0");
    Ok(float_kernel(Celu { alpha }))
}
pub fn hard_sigmoid(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(float_kernel(HardSigmoid {
        alpha: attr_f64(n, "alpha", 0.2)?,
        beta: attr_f64(n, "beta", 0.5)?,
    }))
}
pub fn gelu(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    match n.attr_str("approximate", "none")?.as_str() {
        "none" => Ok(float_kernel(Gelu {})),
        "tanh" => Ok(float_kernel(GeluTanh {})),
        other => bail!("approximate must be 'none' or 'tanh', got '{}'", other),
    }
}
pub fn swish(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(float_kernel(Swish {
        alpha: attr_f64(n, "alpha", 1.0)?,
    }))
}
pub fn thresholded_relu(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(float_kernel(ThresholdedRelu {
        alpha: attr_f64(n, "alpha", 1.0)?,
    }))
}

/// Shrink accepts every numeric type; integers are computed in f64.
pub fn shrink(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let op = Shrink {
        lambd: attr_f64(n, "lambd", 0.5)?,
        bias: attr_f64(n, "bias", 0.0)?,
    };
    Ok(kernel(move |inputs: &Inputs| {
        let t = inputs.tensor(0)?;
        let out = if t.dtype().is_float() {
            apply_float(&op, t)?
        } else {
            dispatch_arith!(t.dtype(), T => unary_map::<T, T, _>(t, 2, |x| T::from_f64(op.f64(x.to_f64()))))?
        };
        Ok(vec![Value::Tensor(out)])
    }))
}

/// Ops defined for every signed numeric type: Abs, Neg, Sign, Relu.
#[derive(Clone, Copy)]
enum NumOp {
    Abs,
    Neg,
    Sign,
    Relu,
}

fn num_unary(op: NumOp, t: &Tensor) -> Result<Tensor> {
    match t.dtype() {
        DType::F16 | DType::BF16 => via_f32(&[t], |u| num_unary(op, u[0])),
        dt => dispatch_arith!(dt, T => {
            let (zero, one) = (T::zero(), T::one());
            match op {
                NumOp::Abs => unary_map::<T, T, _>(t, 1, |x| x.abs_()),
                NumOp::Neg => unary_map::<T, T, _>(t, 1, |x| x.neg()),
                NumOp::Sign => unary_map::<T, T, _>(t, 1, |&x| {
                    if x > zero { one } else if x < zero { one.neg() } else { x }
                }),
                NumOp::Relu => unary_map::<T, T, _>(t, 1, |&x| if x > zero { x } else if x < zero { zero } else { x }),
            }
        }),
    }
}

fn num_kernel(op: NumOp) -> Box<dyn Kernel> {
    kernel(move |inputs: &Inputs| Ok(vec![Value::Tensor(num_unary(op, inputs.tensor(0)?)?)]))
}

pub fn abs(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(num_kernel(NumOp::Abs))
}
pub fn neg(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(num_kernel(NumOp::Neg))
}
pub fn sign(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(num_kernel(NumOp::Sign))
}
pub fn relu(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(num_kernel(NumOp::Relu))
}

pub fn is_nan(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let t = inputs.tensor(0)?;
        let out = runnx_ir::dispatch_float!(t.dtype(), T => unary_map::<T, bool, _>(t, 1, |x| x.to_f64().is_nan()))?;
        Ok(vec![Value::Tensor(out)])
    }))
}

pub fn is_inf(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let pos = n.attr_int("detect_positive", 1)? != 0;
    let neg = n.attr_int("detect_negative", 1)? != 0;
    Ok(kernel(move |inputs: &Inputs| {
        let t = inputs.tensor(0)?;
        let out = runnx_ir::dispatch_float!(t.dtype(), T => unary_map::<T, bool, _>(t, 1, |x| {
            let v = x.to_f64();
            (pos && v == f64::INFINITY) || (neg && v == f64::NEG_INFINITY)
        }))?;
        Ok(vec![Value::Tensor(out)])
    }))
}

/// Clip: bounds are attributes before opset 11 and optional scalar inputs after.
pub fn clip(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let attrs = if n.opset < 11 {
        Some((
            n.attr_float("min", f32::NEG_INFINITY)?,
            n.attr_float("max", f32::INFINITY)?,
        ))
    } else {
        None
    };
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let bound = |i: usize| -> Result<Option<Tensor>> {
            match inputs.opt_tensor(i)? {
                None => Ok(None),
                Some(b) => {
                    ensure!(
                        b.len() == 1,
                        "Clip bounds must be scalars, got shape {:?}",
                        b.shape()
                    );
                    Ok(Some(b.cast(x.dtype())?))
                }
            }
        };
        let (lo, hi) = match attrs {
            Some((lo, hi)) => (
                Some(Tensor::scalar(lo).cast(x.dtype())?),
                Some(Tensor::scalar(hi).cast(x.dtype())?),
            ),
            None => (bound(1)?, bound(2)?),
        };
        let out = clip_tensor(x, lo.as_ref(), hi.as_ref())?;
        Ok(vec![Value::Tensor(out)])
    }))
}

fn clip_tensor(x: &Tensor, lo: Option<&Tensor>, hi: Option<&Tensor>) -> Result<Tensor> {
    match x.dtype() {
        DType::F16 | DType::BF16 => {
            let lo = lo.map(|t| t.cast(DType::F32)).transpose()?;
            let hi = hi.map(|t| t.cast(DType::F32)).transpose()?;
            via_f32(&[x], |t| clip_tensor(t[0], lo.as_ref(), hi.as_ref()))
        }
        dt => dispatch_arith!(dt, T => {
            let lo: Option<T> = lo.map(|t| t.scalar_value::<T>()).transpose()?;
            let hi: Option<T> = hi.map(|t| t.scalar_value::<T>()).transpose()?;
            match (lo, hi) {
                (None, None) => Ok(x.clone()),
                (Some(l), None) => unary_map::<T, T, _>(x, 1, |&v| if v < l { l } else { v }),
                (None, Some(h)) => unary_map::<T, T, _>(x, 1, |&v| if v > h { h } else { v }),
                (Some(l), Some(h)) => unary_map::<T, T, _>(x, 1, |&v| {
                    let v = if v < l { l } else { v };
                    if v > h { h } else { v }
                }),
            }
        }),
    }
}
