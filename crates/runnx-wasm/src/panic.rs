//! Panics: reported, never a silent abort.
//!
//! The builds use `panic=abort` (wasm32-unknown-unknown has no unwinding without
//! the exception-handling proposal), so the engine's per-step `catch_unwind` cannot
//! catch here. Instead the hook logs the panic with `console.error` and throws a JS
//! `Error` carrying the message: the JS caller sees an exception (a rejected promise
//! in the async wrapper) instead of `RuntimeError: unreachable`. The throw skips Rust
//! destructors, so the instance may hold stale borrows or locks afterwards: it is
//! marked broken and every later call fails with the original message until the
//! module is instantiated again.

use std::sync::OnceLock;
use wasm_bindgen::prelude::*;

static BROKEN: OnceLock<String> = OnceLock::new();

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(msg: &str);
}

pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = format!("runnx-wasm panicked: {info}");
        console_error(&msg);
        let _ = BROKEN.set(msg.clone());
        wasm_bindgen::throw_str(&format!(
            "{msg} (this WebAssembly instance is now unusable: load the module again)"
        ));
    }));
}

/// An error once a panic has left the instance in an unknown state.
pub fn check() -> Result<(), JsError> {
    match BROKEN.get() {
        Some(msg) => Err(JsError::new(&format!(
            "an earlier panic left this WebAssembly instance unusable ({msg}); load the module again"
        ))),
        None => Ok(()),
    }
}

/// Panic on purpose, to test that a panic reaches JavaScript as an Error.
#[wasm_bindgen(js_name = testPanic)]
pub fn test_panic(message: &str) {
    panic!("{message}");
}
