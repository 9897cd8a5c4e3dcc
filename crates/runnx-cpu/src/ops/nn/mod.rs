//! Matrix multiply, convolution and quantized linear algebra.

use crate::Registry;

pub fn register(r: &mut Registry) {
    let _ = r;
}
