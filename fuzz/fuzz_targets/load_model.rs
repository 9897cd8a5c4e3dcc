//! Any bytes given as a model must load, plan and (if they load) run without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runnx_core::onnx::NoWeights;
use runnx_core::{Session, SessionOptions};

fuzz_target!(|data: &[u8]| {
    let options = SessionOptions { threads: 1, ..Default::default() };
    let _ = Session::from_bytes(data.to_vec(), &NoWeights, &options);
});
