//! The runnx engine: load -> plan -> run.
//!
//! - *load*: ONNX bytes -> IR ([`runnx_onnx`]).
//! - *plan*: shape and type inference ([`infer`]), graph passes ([`passes`]), kernel selection per node across backends,
//!   value slots with lifetimes ([`plan`]).
//! - *run*: execute the plan ([`exec`]); control flow runs subgraph plans ([`control`]).
//!
//! The engine knows no host: it is given bytes (and a weight source) and tensors.

pub mod alloc_meter;
pub mod control;
pub mod exec;
pub mod infer;
pub mod passes;
pub mod plan;
pub mod session;

pub use runnx_ir as ir;
pub use runnx_ir::{DType, Error, Result, Tensor, Value};
pub use runnx_onnx as onnx;
pub use session::{IoInfo, Session, SessionOptions};
