//! Nothing may unwind into JavaScript: every entry runs inside [`guarded`], which turns
//! engine errors and panics into JavaScript exceptions. Invalid feeds get the status
//! `InvalidArg` (the JavaScript layer exposes it as `code: 'ERR_RUNNX_INPUT'`).

use napi::Status;
use runnx_core::Error;
use std::panic::{catch_unwind, AssertUnwindSafe};

pub fn guarded<T>(f: impl FnOnce() -> Result<T, Error>) -> napi::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_js_error(&e)),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(napi::Error::new(
                Status::GenericFailure,
                format!("runnx: internal error: {msg}"),
            ))
        }
    }
}

pub fn to_js_error(e: &Error) -> napi::Error {
    let status = match e {
        Error::Input(_) => Status::InvalidArg,
        _ => Status::GenericFailure,
    };
    napi::Error::new(status, format!("runnx: {e}"))
}
