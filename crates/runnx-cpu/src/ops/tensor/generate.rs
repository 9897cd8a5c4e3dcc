//! Generators: Constant, ConstantOfShape, EyeLike, Range.

use super::{one, to_usize};
use crate::Registry;
use runnx_ir::dtype::Number;
use runnx_ir::{
    bail, dispatch_all, dispatch_number, ensure, kernel, DType, Inputs, Kernel, NodeCtx, Result,
    Tensor,
};

pub fn register(r: &mut Registry) {
    r.add("Constant", constant);
    r.add("ConstantOfShape", constant_of_shape);
    r.add("EyeLike", eye_like);
    r.add("Range", range);
}

fn constant_value(n: &NodeCtx) -> Result<Tensor> {
    if let Some(t) = n.attr_tensor_opt("value")? {
        return Ok(t);
    }
    if let Some(v) = n.attr_float_opt("value_float")? {
        return Ok(Tensor::scalar(v));
    }
    if let Some(v) = n.attr_floats_opt("value_floats")? {
        return Ok(Tensor::vector(v));
    }
    if let Some(v) = n.attr_int_opt("value_int")? {
        return Ok(Tensor::scalar(v));
    }
    if let Some(v) = n.attr_ints_opt("value_ints")? {
        return Ok(Tensor::vector(v));
    }
    if let Some(v) = n.attr_str_opt("value_string")? {
        return Ok(Tensor::scalar(v));
    }
    if let Some(v) = n.attr_strings_opt("value_strings")? {
        return Ok(Tensor::vector(v));
    }
    if n.node.attr("sparse_value").is_some() {
        return Err(runnx_ir::Error::Unsupported(
            "Constant with sparse_value".into(),
        ));
    }
    bail!("Constant has no value attribute")
}

fn constant(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let t = constant_value(n)?;
    Ok(kernel(move |_: &Inputs| one(t.clone())))
}

fn shape_input(inputs: &Inputs, i: usize) -> Result<Vec<usize>> {
    inputs
        .tensor(i)?
        .to_i64_vec()?
        .into_iter()
        .map(|d| to_usize(d, "shape dimension"))
        .collect()
}

fn constant_of_shape(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let value = match n.attr_tensor_opt("value")? {
        Some(t) => {
            ensure!(
                t.len() == 1,
                "ConstantOfShape value must hold one element, got {}",
                t.len()
            );
            t
        }
        None => Tensor::scalar(0f32),
    };
    Ok(kernel(move |inputs: &Inputs| {
        let shape = shape_input(inputs, 0)?;
        let len = super::prod(&shape)?;
        dispatch_all!(value.dtype(), T => {
            let v = value.as_slice::<T>()?[0].clone();
            one(Tensor::new(shape, vec![v; len])?)
        })
    }))
}

fn eye_like(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let dtype = match n.attr_int_opt("dtype")? {
        Some(code) => match i32::try_from(code).ok().and_then(DType::from_onnx_code) {
            Some(d) => Some(d),
            None => bail!("EyeLike: unsupported dtype {}", code),
        },
        None => None,
    };
    let k = n.attr_int("k", 0)?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        ensure!(
            x.rank() == 2,
            "EyeLike needs a 2-D input, got shape {:?}",
            x.shape()
        );
        let (rows, cols) = (x.shape()[0], x.shape()[1]);
        let dt = dtype.unwrap_or(x.dtype());
        let len = super::prod(x.shape())?;
        dispatch_number!(dt, T => {
            let mut v = vec![T::zero(); len];
            for i in 0..rows {
                let j = i as i64 + k;
                if j >= 0 && (j as u64) < cols as u64 {
                    v[i * cols + j as usize] = T::one();
                }
            }
            one(Tensor::new(vec![rows, cols], v)?)
        })
    }))
}

fn range(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        let (s, l, d) = (inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?);
        ensure!(
            s.dtype() == l.dtype() && s.dtype() == d.dtype(),
            "Range inputs must share a type, got {}, {}, {}",
            s.dtype(),
            l.dtype(),
            d.dtype()
        );
        ensure!(
            s.len() == 1 && l.len() == 1 && d.len() == 1,
            "Range inputs must be scalars"
        );
        const MAX: u128 = 1 << 40;
        dispatch_number!(s.dtype(), T => {
            let (start, limit, delta) = (s.as_slice::<T>()?[0], l.as_slice::<T>()?[0], d.as_slice::<T>()?[0]);
            let v: Vec<T> = if T::IS_FLOAT {
                let (a, b, c) = (start.to_f64(), limit.to_f64(), delta.to_f64());
                ensure!(c != 0.0 && c.is_finite() && a.is_finite() && b.is_finite(), "Range: invalid start/limit/delta");
                let n = ((b - a) / c).ceil().max(0.0);
                ensure!(n < MAX as f64, "Range: too many elements ({})", n);
                (0..n as usize).map(|i| T::from_f64(a + i as f64 * c)).collect()
            } else {
                let (a, b, c) = (start.to_i128(), limit.to_i128(), delta.to_i128());
                ensure!(c != 0, "Range: delta must not be zero");
                let diff = b - a;
                let n = if (diff > 0) == (c > 0) && diff != 0 { (diff.abs() + c.abs() - 1) / c.abs() } else { 0 };
                ensure!((n as u128) < MAX, "Range: too many elements ({})", n);
                (0..n).map(|i| T::from_i128(a + i * c)).collect()
            };
            one(Tensor::vector(v))
        })
    }))
}
