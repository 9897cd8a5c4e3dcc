//! runnx in WebAssembly: a wasm-bindgen API over runnx-core's [`Session`].
//!
//! Two builds come out of this crate (see `scripts/build-wasm.sh`): `simd`
//! (simd128, single-threaded) and `threads` (simd128 + atomics, rayon kernels on a
//! Web Worker pool, see [`threads`]). Every failure reaches JavaScript as a
//! thrown `Error` carrying runnx's message (which names the node and op); a Rust
//! panic is reported too (see [`panic`]).
//!
//! [`Session`]: session::Session

#![cfg(target_arch = "wasm32")]

mod panic;
mod proto;
mod session;
mod tensor;
#[cfg(feature = "threads")]
pub mod threads;

use serde::Serialize;
use wasm_bindgen::prelude::*;

/// Turn any error into a JavaScript `Error` with its message.
pub(crate) fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

#[wasm_bindgen(start)]
fn start() {
    panic::install_hook();
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuildInfo {
    version: &'static str,
    /// "simd" or "threads".
    build: &'static str,
    simd128: bool,
    /// Threads sessions run on (1 until the threads build's pool is built).
    threads: usize,
    /// The GEMM micro-kernel in use, e.g. "wasm-simd128 4x8".
    gemm_kernel: String,
}

/// Which build this is and how many threads it runs on.
#[wasm_bindgen(js_name = buildInfo)]
pub fn build_info() -> Result<JsValue, JsError> {
    let info = BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        build: if cfg!(feature = "threads") {
            "threads"
        } else {
            "simd"
        },
        simd128: cfg!(target_feature = "simd128"),
        threads: runnx_cpu::par::shared_threads(),
        gemm_kernel: runnx_cpu::gemm::kernel_name(),
    };
    serde_wasm_bindgen::to_value(&info).map_err(js_error)
}
