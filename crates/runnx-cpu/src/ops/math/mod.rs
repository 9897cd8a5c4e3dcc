//! Element-wise math: binary arithmetic, comparison, logic, bitwise, unary math, activations, Cast.
//!
//! - `broadcast`: the unary, binary (broadcasting) and ternary frameworks every op uses.
//! - `scalar`: per-element integer/float semantics (wrapping, division by zero, mod).
//! - `fast`: vectorisable f32 exp/tanh/erf/sigmoid/gelu.
//! - `binary`, `unary`, `cast`: the ops.

pub mod binary;
pub mod broadcast;
pub mod cast;
pub mod fast;
pub mod scalar;
pub mod unary;

use crate::Registry;

pub fn register(r: &mut Registry) {
    use binary as b;
    use unary as u;
    let ops: &[(&'static str, crate::registry::Build)] = &[
        ("Add", b::add),
        ("Sub", b::sub),
        ("Mul", b::mul),
        ("Div", b::div),
        ("Pow", b::pow),
        ("Mod", b::modulo),
        ("Max", b::max),
        ("Min", b::min),
        ("Sum", b::sum),
        ("Mean", b::mean),
        ("Equal", b::equal),
        ("Less", b::less),
        ("LessOrEqual", b::less_or_equal),
        ("Greater", b::greater),
        ("GreaterOrEqual", b::greater_or_equal),
        ("And", b::and),
        ("Or", b::or),
        ("Xor", b::xor),
        ("Not", b::not),
        ("BitwiseAnd", b::bitwise_and),
        ("BitwiseOr", b::bitwise_or),
        ("BitwiseXor", b::bitwise_xor),
        ("BitwiseNot", b::bitwise_not),
        ("BitShift", b::bit_shift),
        ("Where", b::where_),
        ("PRelu", b::prelu),
        ("Abs", u::abs),
        ("Neg", u::neg),
        ("Sign", u::sign),
        ("Relu", u::relu),
        ("Reciprocal", u::reciprocal),
        ("Sqrt", u::sqrt),
        ("Exp", u::exp),
        ("Log", u::log),
        ("Ceil", u::ceil),
        ("Floor", u::floor),
        ("Round", u::round),
        ("Erf", u::erf),
        ("Sin", u::sin),
        ("Cos", u::cos),
        ("Tan", u::tan),
        ("Asin", u::asin),
        ("Acos", u::acos),
        ("Atan", u::atan),
        ("Sinh", u::sinh),
        ("Cosh", u::cosh),
        ("Asinh", u::asinh),
        ("Acosh", u::acosh),
        ("Atanh", u::atanh),
        ("IsNaN", u::is_nan),
        ("IsInf", u::is_inf),
        ("LeakyRelu", u::leaky_relu),
        ("Elu", u::elu),
        ("Selu", u::selu),
        ("Celu", u::celu),
        ("Sigmoid", u::sigmoid),
        ("HardSigmoid", u::hard_sigmoid),
        ("HardSwish", u::hard_swish),
        ("Softplus", u::softplus),
        ("Softsign", u::softsign),
        ("Mish", u::mish),
        ("Gelu", u::gelu),
        ("Swish", u::swish),
        ("ThresholdedRelu", u::thresholded_relu),
        ("Shrink", u::shrink),
        ("Tanh", u::tanh),
        ("Clip", u::clip),
        ("Cast", cast::cast),
        ("CastLike", cast::cast_like),
        ("BitCast", cast::bit_cast),
    ];
    for &(name, build) in ops {
        r.add(name, build);
    }
}
