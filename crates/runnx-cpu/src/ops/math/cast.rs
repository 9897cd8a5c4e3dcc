//! Cast, CastLike and BitCast, including conversions between strings and numbers
//! (numbers print like numpy's `str`).

use super::broadcast::unary_map;
use runnx_ir::dtype::Number;
use runnx_ir::{
    bail, bf16, dispatch_number, ensure, f16, kernel, DType, Inputs, Kernel, NodeCtx, Result,
    Tensor, Value,
};

fn target_type(code: i64) -> Result<DType> {
    let c = i32::try_from(code).unwrap_or(-1);
    match DType::from_onnx_code(c) {
        Some(d) => Ok(d),
        None => bail!(
            "casting to {} (type code {}) is not supported",
            DType::onnx_name(c),
            code
        ),
    }
}

/// `t` converted to `to` with ONNX Cast semantics.
pub fn cast_tensor(t: &Tensor, to: DType) -> Result<Tensor> {
    if t.dtype() == to {
        return Ok(t.clone());
    }
    match (t.dtype(), to) {
        (DType::String, _) => from_strings(t, to),
        (_, DType::String) => to_strings(t),
        (DType::F32, DType::F16) => unary_map::<f32, f16, _>(t, 2, |x| f16::from_f32(*x)),
        (DType::F16, DType::F32) => unary_map::<f16, f32, _>(t, 2, |x| x.to_f32()),
        (DType::F32, DType::BF16) => unary_map::<f32, bf16, _>(t, 2, |x| bf16::from_f32(*x)),
        (DType::BF16, DType::F32) => unary_map::<bf16, f32, _>(t, 2, |x| x.to_f32()),
        (DType::I64, DType::F32) => unary_map::<i64, f32, _>(t, 1, |x| *x as f32),
        (DType::I32, DType::F32) => unary_map::<i32, f32, _>(t, 1, |x| *x as f32),
        (DType::F32, DType::I64) => unary_map::<f32, i64, _>(t, 1, |x| *x as i64),
        (DType::Bool, DType::F32) => unary_map::<bool, f32, _>(t, 1, |x| f32::from(u8::from(*x))),
        _ => t.cast(to),
    }
}

pub fn cast(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let code = n.require("to", n.attr_int_opt("to"))?;
    let to = target_type(code)?;
    Ok(kernel(move |inputs: &Inputs| {
        Ok(vec![Value::Tensor(cast_tensor(inputs.tensor(0)?, to)?)])
    }))
}

pub fn cast_like(_: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let to = inputs.tensor(1)?.dtype();
        Ok(vec![Value::Tensor(cast_tensor(inputs.tensor(0)?, to)?)])
    }))
}

/// A float printed like numpy's `str`: shortest round-trip digits, positional for
/// 1e-4 <= |x| < 10^`max_exp`, scientific (`1.5e+16`) otherwise.
fn numpy_float_str(v: f64, shortest_sci: &str, max_exp: i32) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let (neg, body) = match shortest_sci.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, shortest_sci),
    };
    let (mant, exp) = body.split_once('e').unwrap_or((body, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let a = v.abs();
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if a == 0.0 || (a >= 1e-4 && a < 10f64.powi(max_exp)) {
        if exp >= 0 {
            let e = exp as usize + 1;
            if digits.len() <= e {
                s.push_str(digits);
                s.extend(std::iter::repeat_n('0', e - digits.len()));
                s.push_str(".0");
            } else {
                s.push_str(&digits[..e]);
                s.push('.');
                s.push_str(&digits[e..]);
            }
        } else {
            s.push_str("0.");
            s.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            s.push_str(digits);
        }
    } else {
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        ));
    }
    s
}

/// Shortest scientific digits of a half-precision value: the fewest significant
/// digits that read back to the same value.
fn shortest_half(x: f32, back: impl Fn(f32) -> f32) -> String {
    for p in 0..9 {
        let s = format!("{:.*e}", p, x);
        if s.parse::<f32>().map(&back).ok() == Some(x) {
            return s;
        }
    }
    format!("{:e}", x)
}

fn to_strings(t: &Tensor) -> Result<Tensor> {
    let out: Vec<String> = match t.dtype() {
        DType::F32 => t
            .as_slice::<f32>()?
            .iter()
            .map(|&x| numpy_float_str(x as f64, &format!("{x:e}"), 6))
            .collect(),
        DType::F64 => t
            .as_slice::<f64>()?
            .iter()
            .map(|&x| numpy_float_str(x, &format!("{x:e}"), 16))
            .collect(),
        DType::F16 => t
            .as_slice::<f16>()?
            .iter()
            .map(|&x| {
                let f = x.to_f32();
                numpy_float_str(
                    f as f64,
                    &shortest_half(f, |y| f16::from_f32(y).to_f32()),
                    3,
                )
            })
            .collect(),
        DType::BF16 => t
            .as_slice::<bf16>()?
            .iter()
            .map(|&x| {
                let f = x.to_f32();
                numpy_float_str(
                    f as f64,
                    &shortest_half(f, |y| bf16::from_f32(y).to_f32()),
                    16,
                )
            })
            .collect(),
        DType::Bool => t
            .as_slice::<bool>()?
            .iter()
            .map(|&b| if b { "True" } else { "False" }.to_string())
            .collect(),
        dt => dispatch_number!(dt, T => Ok::<_, runnx_ir::Error>(
            t.as_slice::<T>()?.iter().map(|&x| x.to_i128().to_string()).collect()
        ))?,
    };
    Tensor::new(t.shape().to_vec(), out)
}

fn parse_f64(s: &str) -> Result<f64> {
    let s = s.trim();
    match s.parse::<f64>() {
        Ok(v) => Ok(v),
        Err(_) => bail!("cannot parse '{}' as a number", s),
    }
}

fn parse_int(s: &str) -> Result<i128> {
    let t = s.trim();
    if let Ok(v) = t.parse::<i128>() {
        return Ok(v);
    }
    let f = parse_f64(t)?;
    ensure!(f.is_finite(), "cannot convert '{}' to an integer", t);
    Ok(f.trunc() as i128)
}

fn parse_bool(s: &str) -> Result<bool> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("false") {
        return Ok(false);
    }
    if t.eq_ignore_ascii_case("true") {
        return Ok(true);
    }
    Ok(parse_f64(t)? != 0.0)
}

fn from_strings(t: &Tensor, to: DType) -> Result<Tensor> {
    let src = t.as_slice::<String>()?;
    let shape = t.shape().to_vec();
    match to {
        DType::F32 => {
            let v = src
                .iter()
                .map(|s| {
                    s.trim().parse::<f32>().map_err(|_| {
                        runnx_ir::Error::invalid(format!("cannot parse '{s}' as a number"))
                    })
                })
                .collect::<Result<Vec<f32>>>()?;
            Tensor::new(shape, v)
        }
        DType::Bool => Tensor::new(
            shape,
            src.iter()
                .map(|s| parse_bool(s))
                .collect::<Result<Vec<bool>>>()?,
        ),
        dt if dt.is_float() => dispatch_number!(dt, T => {
            let v = src.iter().map(|s| parse_f64(s).map(T::from_f64)).collect::<Result<Vec<T>>>()?;
            Tensor::new(shape, v)
        }),
        dt => dispatch_number!(dt, T => {
            let v = src.iter().map(|s| parse_int(s).map(T::from_i128)).collect::<Result<Vec<T>>>()?;
            Tensor::new(shape, v)
        }),
    }
}

/// Raw bits of a numeric element, for BitCast.
trait RawBits: Number {
    fn to_raw(self) -> u64;
    fn from_raw(v: u64) -> Self;
}

macro_rules! raw_int {
    ($($t:ty => $u:ty),*) => {$(
        impl RawBits for $t {
            fn to_raw(self) -> u64 { self as $u as u64 }
            fn from_raw(v: u64) -> Self { v as $u as $t }
        }
    )*};
}
raw_int!(u8 => u8, i8 => u8, u16 => u16, i16 => u16, u32 => u32, i32 => u32, u64 => u64, i64 => u64);

macro_rules! raw_float {
    ($($t:ty => $u:ty),*) => {$(
        impl RawBits for $t {
            fn to_raw(self) -> u64 { self.to_bits() as u64 }
            fn from_raw(v: u64) -> Self { <$t>::from_bits(v as $u) }
        }
    )*};
}
raw_float!(f32 => u32, f64 => u64, f16 => u16, bf16 => u16);

impl RawBits for bool {
    fn to_raw(self) -> u64 {
        self as u64
    }
    fn from_raw(v: u64) -> Self {
        v != 0
    }
}

pub fn bit_cast(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let code = n.require("to", n.attr_int_opt("to"))?;
    let to = target_type(code)?;
    ensure!(to != DType::String, "BitCast to string is not supported");
    Ok(kernel(move |inputs: &Inputs| {
        let t = inputs.tensor(0)?;
        let from = t.dtype();
        ensure!(
            from != DType::String,
            "BitCast from string is not supported"
        );
        ensure!(
            from.size() == to.size(),
            "BitCast needs types of the same size, got {} and {}",
            from,
            to
        );
        let out = dispatch_number!(from, S => dispatch_number!(to, D => {
            unary_map::<S, D, _>(t, 1, |x| D::from_raw(x.to_raw()))
        }))?;
        Ok(vec![Value::Tensor(out)])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(t: &Tensor) -> Vec<String> {
        t.as_slice::<String>().unwrap().to_vec()
    }

    #[test]
    fn floats_print_like_numpy() {
        let v = vec![
            0.1f32,
            1e15,
            123456789.0,
            1e-4,
            0.00012345,
            1.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            123456.7,
            1e6,
            999999.0,
            2.5e-7,
        ];
        let s = strs(&cast_tensor(&Tensor::vector(v), DType::String).unwrap());
        assert_eq!(
            s,
            [
                "0.1",
                "1e+15",
                "1.2345679e+08",
                "1e-04",
                "0.00012345",
                "1.0",
                "-0.0",
                "inf",
                "-inf",
                "nan",
                "123456.7",
                "1e+06",
                "999999.0",
                "2.5e-07"
            ]
        );
        let s = strs(
            &cast_tensor(
                &Tensor::vector(vec![0.1f64, 1e16, 1e15, 123456792.0]),
                DType::String,
            )
            .unwrap(),
        );
        assert_eq!(s, ["0.1", "1e+16", "1000000000000000.0", "123456792.0"]);
        let h: Vec<f16> = [0.1f32, 999.0, 1000.0, 1e-4, 0.0001235]
            .iter()
            .map(|&x| f16::from_f32(x))
            .collect();
        let s = strs(&cast_tensor(&Tensor::vector(h), DType::String).unwrap());
        assert_eq!(s, ["0.1", "999.0", "1e+03", "0.0001", "0.0001235"]);
    }

    #[test]
    fn strings_parse() {
        let t = Tensor::vector(
            ["1.5", "INF", "-inf", "NaN", "+3", " 4 ", "1e3"]
                .map(String::from)
                .to_vec(),
        );
        let f = cast_tensor(&t, DType::F32).unwrap();
        let v = f.as_slice::<f32>().unwrap();
        assert_eq!(v[0], 1.5);
        assert_eq!(v[1], f32::INFINITY);
        assert_eq!(v[2], f32::NEG_INFINITY);
        assert!(v[3].is_nan());
        assert_eq!(&v[4..], &[3.0, 4.0, 1000.0]);
        let i = cast_tensor(&Tensor::vector(vec!["-7".to_string()]), DType::I8).unwrap();
        assert_eq!(i.as_slice::<i8>().unwrap(), &[-7]);
        assert!(cast_tensor(&Tensor::vector(vec!["x".to_string()]), DType::F32).is_err());
    }
}
