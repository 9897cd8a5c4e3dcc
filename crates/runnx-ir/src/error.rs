//! One error type for the whole engine. Every variant is data, never a panic.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The model bytes are not a valid ONNX model.
    #[error("invalid model: {0}")]
    Model(String),
    /// A node failed while being compiled or run.
    #[error("node '{node}' ({op}): {msg}")]
    Node {
        node: String,
        op: String,
        msg: String,
    },
    /// An operator (or an attribute value of it) this engine does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A feed given by the caller does not match what the graph expects.
    #[error("invalid input: {0}")]
    Input(String),
    /// A weight source could not provide the bytes asked for.
    #[error("weights: {0}")]
    Weights(String),
    /// A kernel-level failure before the engine attaches the node it happened in.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// Attach the node and op to a kernel-level error (other variants pass through).
    pub fn at_node(self, node: &str, op: &str) -> Error {
        match self {
            Error::Invalid(msg) | Error::Unsupported(msg) => Error::Node {
                node: node.to_string(),
                op: op.to_string(),
                msg,
            },
            other => other,
        }
    }

    pub fn invalid(msg: impl fmt::Display) -> Error {
        Error::Invalid(msg.to_string())
    }
}

/// Return early with `Error::Invalid(format!(...))`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => { return Err($crate::Error::Invalid(format!($($arg)*))) };
}

/// `ensure!(cond, "message {}", x)`: bail unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => { if !$cond { $crate::bail!($($arg)*) } };
}
