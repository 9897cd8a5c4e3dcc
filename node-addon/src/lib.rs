//! runnx for Node.js: the engine as an N-API addon (napi-rs).
//!
//! The JavaScript package (`index.js`) implements onnxruntime's API on top of this
//! module; the addon itself exposes only `createSession` and `NativeSession`.
//! Loading and running happen on the libuv thread pool, never on the JavaScript thread.

// napi-derive registers exports only outside cfg(test), so clippy's test build sees them as unused.
#![cfg_attr(test, allow(dead_code))]

#[macro_use]
extern crate napi_derive;

mod convert;
mod guard;
mod session;
