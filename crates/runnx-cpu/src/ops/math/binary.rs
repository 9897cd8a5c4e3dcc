//! Broadcasting binary and variadic ops: arithmetic, comparison, logic, bitwise, Where.

use super::broadcast::{binary_map, ternary_map, unary_map};
use super::scalar::{Arith, Bits, IntPow};
use runnx_ir::dtype::Number;
use runnx_ir::{
    bail, dispatch_all, dispatch_int, ensure, kernel, DType, Inputs, Kernel, NodeCtx, Result,
    Tensor, Value,
};

/// Run `$body` with `$T` bound to an arithmetic type (f32, f64, integers); f16/bf16
/// are handled by the callers through f32.
macro_rules! dispatch_arith {
    ($dt:expr, $T:ident => $body:expr) => {
        match $dt {
            DType::F32 => {
                type $T = f32;
                $body
            }
            DType::F64 => {
                type $T = f64;
                $body
            }
            int if int.is_int() => runnx_ir::dispatch_int!(int, $T => $body),
            other => bail!("unsupported element type {}", other),
        }
    };
}
pub(crate) use dispatch_arith;

/// Compute an op on half-precision tensors in f32 and round the result back.
pub fn via_f32(ts: &[&Tensor], f: impl FnOnce(&[&Tensor]) -> Result<Tensor>) -> Result<Tensor> {
    let dt = ts.first().map(|t| t.dtype()).unwrap_or(DType::F32);
    let up: Vec<Tensor> = ts
        .iter()
        .map(|t| t.cast(DType::F32))
        .collect::<Result<_>>()?;
    let refs: Vec<&Tensor> = up.iter().collect();
    f(&refs)?.cast(dt)
}

fn same_types(a: &Tensor, b: &Tensor) -> Result<()> {
    ensure!(
        a.dtype() == b.dtype(),
        "inputs must have the same type, got {} and {}",
        a.dtype(),
        b.dtype()
    );
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Fmod,
    PyMod,
    Max,
    Min,
}

/// `a op b` with broadcasting, for every numeric type.
pub fn arith(op: ArithOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    same_types(a, b)?;
    match a.dtype() {
        DType::F16 | DType::BF16 => via_f32(&[a, b], |t| arith(op, t[0], t[1])),
        dt => dispatch_arith!(dt, T => {
            macro_rules! go {
                ($f:path, $cost:expr) => {
                    binary_map::<T, T, T, _>(a, b, $cost, |x, y| $f(*x, *y))
                };
            }
            match op {
                ArithOp::Add => go!(T::add, 1),
                ArithOp::Sub => go!(T::sub, 1),
                ArithOp::Mul => go!(T::mul, 1),
                ArithOp::Div => go!(T::div, 4),
                ArithOp::Fmod => go!(T::fmod, 16),
                ArithOp::PyMod => go!(T::pymod, 16),
                ArithOp::Max => go!(T::max_, 1),
                ArithOp::Min => go!(T::min_, 1),
            }
        }),
    }
}

fn arith_kernel(op: ArithOp) -> Box<dyn Kernel> {
    kernel(move |inputs: &Inputs| {
        Ok(vec![Value::Tensor(arith(
            op,
            inputs.tensor(0)?,
            inputs.tensor(1)?,
        )?)])
    })
}

pub fn add(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(arith_kernel(ArithOp::Add))
}
pub fn sub(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(arith_kernel(ArithOp::Sub))
}
pub fn mul(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(arith_kernel(ArithOp::Mul))
}
pub fn div(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(arith_kernel(ArithOp::Div))
}

pub fn modulo(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let fmod = n.attr_int("fmod", 0)?;
    ensure!(fmod == 0 || fmod == 1, "fmod must be 0 or 1, got {}", fmod);
    Ok(kernel(move |inputs: &Inputs| {
        let (a, b) = (inputs.tensor(0)?, inputs.tensor(1)?);
        // Floats always use fmod (as the reference does); integers follow the attribute.
        let op = if fmod == 1 || a.dtype().is_float() {
            ArithOp::Fmod
        } else {
            ArithOp::PyMod
        };
        Ok(vec![Value::Tensor(arith(op, a, b)?)])
    }))
}

/// Pow: the exponent may have another numeric type; the result has the base's type.
pub fn pow_tensors(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (da, db) = (a.dtype(), b.dtype());
    ensure!(
        da.is_numeric() && db.is_numeric(),
        "Pow needs numeric inputs, got {} and {}",
        da,
        db
    );
    match da {
        DType::F32 => {
            let b = b.cast(DType::F32)?;
            binary_map::<f32, f32, f32, _>(a, &b, 20, |x, y| x.powf(*y))
        }
        DType::F64 => {
            let b = b.cast(DType::F64)?;
            binary_map::<f64, f64, f64, _>(a, &b, 20, |x, y| x.powf(*y))
        }
        DType::F16 | DType::BF16 => via_f32(&[a], |t| pow_tensors(t[0], b)),
        _ if db.is_float() => {
            let r = pow_tensors(&a.cast(DType::F64)?, &b.cast(DType::F64)?)?;
            r.cast(da)
        }
        dt => {
            let b = b.cast(DType::I64)?;
            dispatch_int!(dt, T => binary_map::<T, i64, T, _>(a, &b, 8, |x, y| x.ipow(*y)))
        }
    }
}

pub fn pow(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        Ok(vec![Value::Tensor(pow_tensors(
            inputs.tensor(0)?,
            inputs.tensor(1)?,
        )?)])
    }))
}

/// Max, Min, Sum, Mean: any number of broadcasting inputs, folded pairwise.
fn variadic(op: ArithOp, mean: bool) -> Box<dyn Kernel> {
    kernel(move |inputs: &Inputs| {
        let ts = inputs.tensors_from(0)?;
        let Some((first, rest)) = ts.split_first() else {
            bail!("expected at least one input")
        };
        let mut acc = (*first).clone();
        for t in rest {
            acc = arith(op, &acc, t)?;
        }
        if mean && !rest.is_empty() {
            let n = ts.len() as f64;
            acc = match acc.dtype() {
                DType::F16 | DType::BF16 => via_f32(&[&acc], |t| {
                    unary_map::<f32, f32, _>(t[0], 1, |x| (*x as f64 / n) as f32)
                })?,
                dt => {
                    dispatch_arith!(dt, T => unary_map::<T, T, _>(&acc, 1, |x| T::from_f64(x.to_f64() / n))?)
                }
            };
        }
        Ok(vec![Value::Tensor(acc)])
    })
}

pub fn max(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(variadic(ArithOp::Max, false))
}
pub fn min(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(variadic(ArithOp::Min, false))
}
pub fn sum(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(variadic(ArithOp::Add, false))
}
pub fn mean(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(variadic(ArithOp::Add, true))
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CmpOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Comparison with broadcasting, for every type (strings too); the result is bool.
pub fn compare(op: CmpOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    same_types(a, b)?;
    dispatch_all!(a.dtype(), T => match op {
        CmpOp::Eq => binary_map::<T, T, bool, _>(a, b, 1, |x, y| x == y),
        CmpOp::Lt => binary_map::<T, T, bool, _>(a, b, 1, |x, y| x < y),
        CmpOp::Le => binary_map::<T, T, bool, _>(a, b, 1, |x, y| x <= y),
        CmpOp::Gt => binary_map::<T, T, bool, _>(a, b, 1, |x, y| x > y),
        CmpOp::Ge => binary_map::<T, T, bool, _>(a, b, 1, |x, y| x >= y),
    })
}

fn cmp_kernel(op: CmpOp) -> Box<dyn Kernel> {
    kernel(move |inputs: &Inputs| {
        Ok(vec![Value::Tensor(compare(
            op,
            inputs.tensor(0)?,
            inputs.tensor(1)?,
        )?)])
    })
}

pub fn equal(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(cmp_kernel(CmpOp::Eq))
}
pub fn less(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(cmp_kernel(CmpOp::Lt))
}
pub fn less_or_equal(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(cmp_kernel(CmpOp::Le))
}
pub fn greater(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(cmp_kernel(CmpOp::Gt))
}
pub fn greater_or_equal(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(cmp_kernel(CmpOp::Ge))
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Shl,
    Shr,
}

/// Logical ops on bool tensors (And, Or, Xor).
fn logic_kernel(op: BitOp) -> Box<dyn Kernel> {
    kernel(move |inputs: &Inputs| {
        let (a, b) = (inputs.tensor(0)?, inputs.tensor(1)?);
        ensure!(
            a.dtype() == DType::Bool && b.dtype() == DType::Bool,
            "expected bool inputs, got {} and {}",
            a.dtype(),
            b.dtype()
        );
        let out = match op {
            BitOp::And => binary_map::<bool, bool, bool, _>(a, b, 1, |x, y| *x & *y),
            BitOp::Or => binary_map::<bool, bool, bool, _>(a, b, 1, |x, y| *x | *y),
            _ => binary_map::<bool, bool, bool, _>(a, b, 1, |x, y| *x ^ *y),
        }?;
        Ok(vec![Value::Tensor(out)])
    })
}

pub fn and(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(logic_kernel(BitOp::And))
}
pub fn or(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(logic_kernel(BitOp::Or))
}
pub fn xor(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(logic_kernel(BitOp::Xor))
}

pub fn not(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let t = inputs.tensor(0)?;
        Ok(vec![Value::Tensor(unary_map::<bool, bool, _>(
            t,
            1,
            |x| !*x,
        )?)])
    }))
}

/// Bitwise ops and shifts on integer tensors.
pub fn bitwise(op: BitOp, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    same_types(a, b)?;
    if a.dtype() == DType::Bool && matches!(op, BitOp::And | BitOp::Or | BitOp::Xor) {
        return match op {
            BitOp::And => binary_map::<bool, bool, bool, _>(a, b, 1, |x, y| *x & *y),
            BitOp::Or => binary_map::<bool, bool, bool, _>(a, b, 1, |x, y| *x | *y),
            _ => binary_map::<bool, bool, bool, _>(a, b, 1, |x, y| *x ^ *y),
        };
    }
    dispatch_int!(a.dtype(), T => match op {
        BitOp::And => binary_map::<T, T, T, _>(a, b, 1, |x, y| *x & *y),
        BitOp::Or => binary_map::<T, T, T, _>(a, b, 1, |x, y| *x | *y),
        BitOp::Xor => binary_map::<T, T, T, _>(a, b, 1, |x, y| *x ^ *y),
        BitOp::Shl => binary_map::<T, T, T, _>(a, b, 1, |x, y| x.shl(*y)),
        BitOp::Shr => binary_map::<T, T, T, _>(a, b, 1, |x, y| x.shr(*y)),
    })
}

fn bitwise_kernel(op: BitOp) -> Box<dyn Kernel> {
    kernel(move |inputs: &Inputs| {
        Ok(vec![Value::Tensor(bitwise(
            op,
            inputs.tensor(0)?,
            inputs.tensor(1)?,
        )?)])
    })
}

pub fn bitwise_and(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(bitwise_kernel(BitOp::And))
}
pub fn bitwise_or(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(bitwise_kernel(BitOp::Or))
}
pub fn bitwise_xor(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(bitwise_kernel(BitOp::Xor))
}

pub fn bit_shift(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let op = match n.attr_str("direction", "")?.as_str() {
        "LEFT" => BitOp::Shl,
        "RIGHT" => BitOp::Shr,
        other => bail!("direction must be LEFT or RIGHT, got '{}'", other),
    };
    Ok(bitwise_kernel(op))
}

pub fn bitwise_not(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let t = inputs.tensor(0)?;
        let out = if t.dtype() == DType::Bool {
            unary_map::<bool, bool, _>(t, 1, |x| !*x)?
        } else {
            dispatch_int!(t.dtype(), T => unary_map::<T, T, _>(t, 1, |x| !*x))?
        };
        Ok(vec![Value::Tensor(out)])
    }))
}

#[allow(clippy::clone_on_copy)]
pub fn where_(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let (c, x, y) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        ensure!(
            c.dtype() == DType::Bool,
            "condition must be bool, got {}",
            c.dtype()
        );
        same_types(x, y)?;
        let out = dispatch_all!(x.dtype(), T => ternary_map::<bool, T, T, T, _>(c, x, y, |c, x, y| {
            if *c { x.clone() } else { y.clone() }
        }))?;
        Ok(vec![Value::Tensor(out)])
    }))
}

/// PRelu: `x < 0 ? slope * x : x`, the slope broadcast to x.
pub fn prelu_tensors(x: &Tensor, slope: &Tensor) -> Result<Tensor> {
    same_types(x, slope)?;
    match x.dtype() {
        DType::F16 | DType::BF16 => via_f32(&[x, slope], |t| prelu_tensors(t[0], t[1])),
        dt => dispatch_arith!(dt, T => binary_map::<T, T, T, _>(x, slope, 1, |x, s| {
            if *x < T::zero() { x.mul(*s) } else { *x }
        })),
    }
}

pub fn prelu(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        Ok(vec![Value::Tensor(prelu_tensors(
            inputs.tensor(0)?,
            inputs.tensor(1)?,
        )?)])
    }))
}
