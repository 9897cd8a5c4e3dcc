//! The threaded build's pool: `initThreadPool(n)` (from wasm-bindgen-rayon) starts
//! `n` Web Workers that share this module's memory and become rayon's global pool;
//! runnx's kernels use it for problems big enough to pay for the fork/join
//! (`runnx_cpu::par`). Browsers only, on a cross-origin-isolated page; call it from a
//! worker, since rayon's caller blocks with `Atomics.wait` (not allowed on the main
//! thread).

pub use wasm_bindgen_rayon::init_thread_pool;
