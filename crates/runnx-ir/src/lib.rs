//! The data layer of runnx: element types, tensors, ONNX values, the graph IR,
//! errors, and the contract between the engine and its backends.
//!
//! Nothing here knows about files, protobuf, threads or JavaScript.

pub mod attr;
pub mod backend;
pub mod buffers;
pub mod dtype;
pub mod error;
pub mod graph;
pub mod tensor;
pub mod value;

pub use attr::Attribute;
pub use backend::{kernel, Backend, Inputs, Kernel, NodeCtx};
pub use dtype::{DType, Elem};
pub use error::{Error, Result};
pub use graph::{Dim, Graph, Model, Node, TypeInfo, ValueInfo};
pub use half::{bf16, f16};
pub use tensor::Tensor;
pub use value::Value;
