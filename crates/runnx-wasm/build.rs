//! The threaded build needs shared, imported memory and the TLS exports that
//! wasm-bindgen's thread support calls; rustc does not ask the linker for them when
//! only `+atomics` is set (measured with rustc 1.96: the memory stays unshared).

fn main() {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if arch == "wasm32" && features.split(',').any(|f| f == "atomics") {
        for arg in [
            "--shared-memory",
            "--import-memory",
            "--max-memory=4294967296",
            "--export=__wasm_init_tls",
            "--export=__tls_size",
            "--export=__tls_align",
            "--export=__tls_base",
        ] {
            println!("cargo:rustc-cdylib-link-arg={arg}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
