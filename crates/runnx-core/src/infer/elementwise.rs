//! Shape rules of element-wise ops: unary maps, broadcasting binary and variadic
//! ops, comparisons, Where, casts, and integer arithmetic on followed shape values.

use super::{Fact, InferCtx, Rule, Sym};
use runnx_ir::graph::Dim;
use runnx_ir::{DType, Result};

pub fn rule(op: &str) -> Option<Rule> {
    Some(match op {
        "Abs"
        | "Acos"
        | "Acosh"
        | "Asin"
        | "Asinh"
        | "Atan"
        | "Atanh"
        | "Ceil"
        | "Celu"
        | "Cos"
        | "Cosh"
        | "Elu"
        | "Erf"
        | "Exp"
        | "Floor"
        | "Gelu"
        | "HardSigmoid"
        | "HardSwish"
        | "Identity"
        | "LeakyRelu"
        | "Log"
        | "Mish"
        | "Neg"
        | "Reciprocal"
        | "Relu"
        | "Round"
        | "Selu"
        | "Sigmoid"
        | "Sign"
        | "Sin"
        | "Sinh"
        | "Softplus"
        | "Softsign"
        | "Sqrt"
        | "Tan"
        | "Tanh"
        | "ThresholdedRelu"
        | "Clip"
        | "Shrink"
        | "BitwiseNot"
        | "Not"
        | "Softmax"
        | "LogSoftmax"
        | "Hardmax"
        | "LRN"
        | "InstanceNormalization"
        | "MeanVarianceNormalization"
        | "Swish"
        | "Trilu"
        | "CumProd"
        | "LpNormalization"
        | "ScatterElements"
        | "ScatterND"
        | "Scatter" => same_as_first,
        "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Mod" | "BitShift" | "BitwiseAnd" | "BitwiseOr"
        | "BitwiseXor" | "PRelu" | "Max" | "Min" | "Sum" | "Mean" => broadcast,
        "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" | "And" | "Or" | "Xor" => {
            compare
        }
        "IsNaN" | "IsInf" => to_bool,
        "Where" => where_,
        "Cast" => cast,
        "CastLike" => cast_like,
        "Dropout" => dropout,
        _ => return None,
    })
}

fn same_as_first(c: &InferCtx) -> Result<Vec<Fact>> {
    let f = c.input(0);
    Ok(vec![Fact::new(f.dtype, f.shape)])
}

fn to_bool(c: &InferCtx) -> Result<Vec<Fact>> {
    Ok(vec![Fact::new(Some(DType::Bool), c.input(0).shape)])
}

fn dropout(c: &InferCtx) -> Result<Vec<Fact>> {
    let f = c.input(0);
    Ok(vec![
        Fact::new(f.dtype, f.shape.clone()),
        Fact::new(Some(DType::Bool), f.shape),
    ])
}

/// The broadcast of all given inputs' shapes (numpy rules).
fn broadcast_inputs(c: &InferCtx) -> Option<Vec<Dim>> {
    let mut out: Option<Vec<Dim>> = None;
    for i in 0..c.inputs.len() {
        if !c.ctx.has_input(i) {
            continue;
        }
        let s = c.shape(i)?;
        out = Some(match out {
            None => s.to_vec(),
            Some(prev) => broadcast_dims(&prev, s)?,
        });
    }
    out
}

/// Numpy broadcasting of two shapes; `None` when they cannot be told apart statically
/// in a way that fixes the rank (never, since ranks are known) or clash.
pub fn broadcast_dims(a: &[Dim], b: &[Dim]) -> Option<Vec<Dim>> {
    let rank = a.len().max(b.len());
    let at = |s: &[Dim], i: usize| {
        (i + s.len())
            .checked_sub(rank)
            .map_or(Dim::Fixed(1), |j| s[j].clone())
    };
    (0..rank)
        .map(|i| {
            let (x, y) = (at(a, i), at(b, i));
            Some(match (&x, &y) {
                (Dim::Fixed(1), _) => y,
                (_, Dim::Fixed(1)) => x,
                (Dim::Fixed(m), Dim::Fixed(n)) if m != n => return None,
                _ if x == y => x,
                // A size other than 1 wins over a symbol (which must then be it, or 1).
                (Dim::Fixed(_), _) => x,
                (_, Dim::Fixed(_)) => y,
                _ => Dim::Unknown,
            })
        })
        .collect()
}

fn broadcast(c: &InferCtx) -> Result<Vec<Fact>> {
    let mut out = Fact::new(c.dtype(0), broadcast_inputs(c));
    out.value = int_arith(c);
    Ok(vec![out])
}

/// Follow integer arithmetic on shape values (`Shape -> Gather -> Mul -> Concat -> Reshape`).
fn int_arith(c: &InferCtx) -> Option<Vec<Sym>> {
    let op = c.ctx.node.op_type.as_str();
    if c.inputs.len() != 2 || !matches!(op, "Add" | "Sub" | "Mul" | "Div") {
        return None;
    }
    let (a, b) = (c.inputs[0].value.as_ref()?, c.inputs[1].value.as_ref()?);
    if a.len() != b.len() && a.len() != 1 && b.len() != 1 {
        return None;
    }
    let n = a.len().max(b.len());
    let pick = |v: &[Sym], i: usize| v[if v.len() == 1 { 0 } else { i }].clone();
    Some(
        (0..n)
            .map(|i| match (pick(a, i), pick(b, i)) {
                (Sym::Int(x), Sym::Int(y)) => match op {
                    "Add" => x.checked_add(y),
                    "Sub" => x.checked_sub(y),
                    "Mul" => x.checked_mul(y),
                    // ONNX integer Div truncates, like Rust's.
                    _ => x.checked_div(y),
                }
                .map_or(Sym::Unknown, Sym::Int),
                (s @ Sym::Named(_), Sym::Int(1)) if matches!(op, "Mul" | "Div") => s,
                (Sym::Int(1), s @ Sym::Named(_)) if op == "Mul" => s,
                (s @ Sym::Named(_), Sym::Int(0)) if matches!(op, "Add" | "Sub") => s,
                _ => Sym::Unknown,
            })
            .collect(),
    )
}

fn compare(c: &InferCtx) -> Result<Vec<Fact>> {
    Ok(vec![Fact::new(Some(DType::Bool), broadcast_inputs(c))])
}

fn where_(c: &InferCtx) -> Result<Vec<Fact>> {
    Ok(vec![Fact::new(
        c.dtype(1).or(c.dtype(2)),
        broadcast_inputs(c),
    )])
}

fn cast(c: &InferCtx) -> Result<Vec<Fact>> {
    let to = c.ctx.attr_int("to", 0)?;
    let dtype = i32::try_from(to).ok().and_then(DType::from_onnx_code);
    let input = c.input(0);
    let mut out = Fact::new(dtype, input.shape);
    // Casting shape values between integer types keeps them (all fit int64).
    if dtype.is_some_and(|d| d == DType::I64 || d == DType::I32) {
        out.value = input.value;
    }
    Ok(vec![out])
}

fn cast_like(c: &InferCtx) -> Result<Vec<Fact>> {
    Ok(vec![Fact::new(c.dtype(1), c.input(0).shape)])
}
