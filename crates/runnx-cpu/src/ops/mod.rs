//! Operators by family. Each family parses its attributes, checks its inputs and
//! holds its kernels; its `register` adds its ops to the table.

use crate::Registry;

pub mod extra;
pub mod image;
pub mod math;
pub mod nn;
pub mod reduce;
pub mod sequence;
pub mod tensor;
pub mod util;

pub fn register_all(r: &mut Registry) {
    math::register(r);
    tensor::register(r);
    reduce::register(r);
    nn::register(r);
    image::register(r);
    sequence::register(r);
    extra::register(r);
}
