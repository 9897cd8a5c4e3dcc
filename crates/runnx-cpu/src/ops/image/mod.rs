//! Pooling, resizing, sampling and detection ops on images.

mod common;
mod pool;
mod resize;

use crate::Registry;

pub fn register(r: &mut Registry) {
    pool::register(r);
    resize::register(r);
}
