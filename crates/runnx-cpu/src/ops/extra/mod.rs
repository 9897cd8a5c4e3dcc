//! Signal processing, strings, ai.onnx.ml and training ops.

use crate::Registry;

pub fn register(r: &mut Registry) {
    let _ = r;
}
