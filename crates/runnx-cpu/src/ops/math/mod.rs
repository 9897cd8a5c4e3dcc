//! Element-wise math: binary arithmetic, comparison, logic, bitwise, unary math, activations, Cast.

use crate::Registry;

pub fn register(r: &mut Registry) {
    let _ = r;
}
