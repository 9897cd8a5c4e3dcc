//! Pooling, resizing, sampling and detection ops on images.
//!
//! - `pool`: one window framework for Max/Average/Lp pooling, the global pools,
//!   MaxUnpool and MaxRoiPool.
//! - `resize`: one separable interpolation framework for Resize and Upsample.
//! - `grid`: GridSample and AffineGrid.
//! - `detect`: RoiAlign and NonMaxSuppression.
//! - `col2im`: Col2Im.

mod col2im;
mod common;
mod detect;
mod grid;
mod pool;
mod resize;
#[cfg(test)]
mod tests;

use crate::Registry;

pub fn register(r: &mut Registry) {
    pool::register(r);
    resize::register(r);
    grid::register(r);
    detect::register(r);
    col2im::register(r);
}
