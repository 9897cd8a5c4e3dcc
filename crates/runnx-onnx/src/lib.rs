//! The ONNX front end of runnx: protobuf model bytes -> [`runnx_ir::Model`].
//!
//! Initializers stay views into the model buffer; external data is read through
//! a [`WeightSource`] chosen by the host.

mod functions;
pub mod load;
pub mod proto;
pub mod tensor;
pub mod weights;

pub use load::load_model;
pub use tensor::{optional_from_proto, sequence_from_proto, tensor_from_proto, tensor_to_proto};
#[cfg(feature = "fs")]
pub use weights::DirWeights;
pub use weights::{NoWeights, WeightSource};

/// Decode a serialized `TensorProto` (test data, CLI input files).
pub fn decode_tensor(bytes: bytes::Bytes) -> runnx_ir::Result<runnx_ir::Tensor> {
    use prost::Message;
    let tp = proto::TensorProto::decode(bytes)
        .map_err(|e| runnx_ir::Error::Input(format!("not a TensorProto: {e}")))?;
    tensor_from_proto(&tp, &NoWeights)
}

/// Encode a tensor as a serialized `TensorProto`.
pub fn encode_tensor(name: &str, t: &runnx_ir::Tensor) -> runnx_ir::Result<Vec<u8>> {
    use prost::Message;
    Ok(tensor_to_proto(name, t)?.encode_to_vec())
}
