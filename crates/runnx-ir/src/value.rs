//! ONNX values: tensors, sequences of tensors and optionals.

use crate::error::{Error, Result};
use crate::tensor::Tensor;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Tensor(Tensor),
    Sequence(Vec<Value>),
    /// `None` is an empty optional.
    Optional(Option<Box<Value>>),
}

impl Value {
    pub fn as_tensor(&self) -> Result<&Tensor> {
        match self {
            Value::Tensor(t) => Ok(t),
            other => Err(Error::invalid(format!(
                "expected a tensor, got {}",
                other.kind()
            ))),
        }
    }

    pub fn into_tensor(self) -> Result<Tensor> {
        match self {
            Value::Tensor(t) => Ok(t),
            other => Err(Error::invalid(format!(
                "expected a tensor, got {}",
                other.kind()
            ))),
        }
    }

    pub fn as_sequence(&self) -> Result<&[Value]> {
        match self {
            Value::Sequence(s) => Ok(s),
            other => Err(Error::invalid(format!(
                "expected a sequence, got {}",
                other.kind()
            ))),
        }
    }

    /// A short description for error messages.
    pub fn kind(&self) -> String {
        match self {
            Value::Tensor(t) => format!("{} tensor {:?}", t.dtype(), t.shape()),
            Value::Sequence(s) => format!("sequence of {}", s.len()),
            Value::Optional(None) => "empty optional".to_string(),
            Value::Optional(Some(v)) => format!("optional {}", v.kind()),
        }
    }
}

impl From<Tensor> for Value {
    fn from(t: Tensor) -> Value {
        Value::Tensor(t)
    }
}
