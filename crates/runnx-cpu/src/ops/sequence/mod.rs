//! Sequences, optionals, recurrent networks and attention.

use crate::Registry;

pub fn register(r: &mut Registry) {
    let _ = r;
}
