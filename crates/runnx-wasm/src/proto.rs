//! Decoding the ONNX test data format (`TensorProto`, `SequenceProto`,
//! `OptionalProto` files), so that JavaScript tests can feed and check the official
//! ONNX backend cases through the same conversions as every other caller.

use crate::{js_error, panic, tensor};
use bytes::Bytes;
use prost::Message;
use runnx_core::onnx::{
    optional_from_proto, proto, sequence_from_proto, tensor_from_proto, NoWeights,
};
use runnx_core::Value;
use wasm_bindgen::prelude::*;

/// Decode a serialized proto of `kind` 'tensor', 'sequence' or 'optional' into a
/// JavaScript value (see [`tensor::to_js`]).
#[wasm_bindgen(js_name = valueFromProto)]
pub fn value_from_proto(bytes: &[u8], kind: &str) -> Result<JsValue, JsError> {
    panic::check()?;
    let bytes = Bytes::copy_from_slice(bytes);
    let decode_err = |e: prost::DecodeError| JsError::new(&format!("not a {kind} proto: {e}"));
    let value = match kind {
        "tensor" => {
            let tp = proto::TensorProto::decode(bytes).map_err(decode_err)?;
            tensor_from_proto(&tp, &NoWeights).map(Value::Tensor)
        }
        "sequence" => {
            let sp = proto::SequenceProto::decode(bytes).map_err(decode_err)?;
            sequence_from_proto(&sp, &NoWeights)
        }
        "optional" => {
            let op = proto::OptionalProto::decode(bytes).map_err(decode_err)?;
            optional_from_proto(&op, &NoWeights)
        }
        other => {
            return Err(JsError::new(&format!(
                "kind must be 'tensor', 'sequence' or 'optional', got '{other}'"
            )))
        }
    }
    .map_err(js_error)?;
    tensor::to_js(&value).map_err(js_error)
}
