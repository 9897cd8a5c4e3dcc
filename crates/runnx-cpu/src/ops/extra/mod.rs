//! Signal processing, strings, ai.onnx.ml, training and random ops.

use crate::Registry;
use runnx_ir::dtype::Number;
use runnx_ir::{bail, dispatch_number, DType, Result, Tensor};

mod fft;
mod ml;
pub(crate) mod random;
mod signal;
mod text;
mod training;

pub fn register(r: &mut Registry) {
    signal::register(r);
    text::register(r);
    ml::register(r);
    training::register(r);
    random::register(r);
}

/// The single integer of a scalar (or one-element) integer tensor.
pub(crate) fn scalar_i64(t: &Tensor, what: &str) -> Result<i64> {
    let v = t
        .to_i64_vec()
        .map_err(|e| runnx_ir::Error::invalid(format!("{what}: {e}")))?;
    match v.as_slice() {
        [x] => Ok(*x),
        _ => bail!("{what} must hold a single value, got shape {:?}", t.shape()),
    }
}

/// The single number of a scalar (or one-element) numeric tensor, as f64.
pub(crate) fn scalar_f64(t: &Tensor, what: &str) -> Result<f64> {
    let v = t
        .to_f64_vec()
        .map_err(|e| runnx_ir::Error::invalid(format!("{what}: {e}")))?;
    match v.as_slice() {
        [x] => Ok(*x),
        _ => bail!("{what} must hold a single value, got shape {:?}", t.shape()),
    }
}

/// A tensor of any numeric type from f64 values (rounding/saturating as `Number::from_f64`).
pub(crate) fn tensor_from_f64(dtype: DType, shape: Vec<usize>, v: &[f64]) -> Result<Tensor> {
    dispatch_number!(dtype, T => {
        let out: Vec<T> = v.iter().map(|&x| T::from_f64(x)).collect();
        Tensor::new(shape, out)
    })
}

/// A data type from an ONNX type code attribute.
pub(crate) fn dtype_from_code(code: i64) -> Result<DType> {
    i32::try_from(code)
        .ok()
        .and_then(DType::from_onnx_code)
        .ok_or_else(|| runnx_ir::Error::invalid(format!("unsupported data type code {code}")))
}

/// A non-negative size from an i64, with a clear error.
pub(crate) fn to_usize(v: i64, what: &str) -> Result<usize> {
    usize::try_from(v)
        .map_err(|_| runnx_ir::Error::invalid(format!("{what} must be >= 0, got {v}")))
}

#[cfg(test)]
pub(crate) mod test_util {
    use runnx_ir::{Attribute, Inputs, Kernel, Node, NodeCtx, Result, Tensor, Value};

    pub fn node(op: &str, domain: &str, n_in: usize, attrs: Vec<(&str, Attribute)>) -> Node {
        Node {
            name: "n".into(),
            op_type: op.into(),
            domain: domain.into(),
            inputs: (0..n_in).map(|i| format!("i{i}")).collect(),
            outputs: vec!["y".into()],
            attrs: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    pub fn run(
        build: fn(&NodeCtx) -> Result<Box<dyn Kernel>>,
        node: &Node,
        opset: i64,
        inputs: Vec<Option<Tensor>>,
    ) -> Result<Vec<Tensor>> {
        let k = build(&NodeCtx { node, opset })?;
        let vals: Vec<Option<Value>> = inputs.into_iter().map(|t| t.map(Value::Tensor)).collect();
        let refs: Vec<Option<&Value>> = vals.iter().map(|v| v.as_ref()).collect();
        let out = k.run(&Inputs::new(&refs))?;
        out.into_iter().map(|v| v.into_tensor()).collect()
    }
}
