//! Per-thread scratch buffers that are safe under rayon's work stealing.
//!
//! A thread waiting in a rayon join runs other queued jobs, and with several runs
//! sharing one pool those jobs can belong to another run that wants the same
//! scratch buffer. A plain `borrow_mut` would then panic, so a thread whose buffer
//! is already in use gets a fresh one for that call instead.

use std::cell::RefCell;
use std::thread::LocalKey;

/// Run `f` with this thread's scratch value, or a fresh default one when the
/// thread's own is in use further up the stack.
pub fn with<T: Default + 'static, R>(
    key: &'static LocalKey<RefCell<T>>,
    f: impl FnOnce(&mut T) -> R,
) -> R {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut own) => f(&mut own),
        Err(_) => f(&mut T::default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }

    #[test]
    fn a_nested_use_gets_its_own_buffer() {
        with(&BUF, |outer| {
            outer.push(1);
            with(&BUF, |inner| {
                assert!(inner.is_empty());
                inner.push(2);
            });
            assert_eq!(outer, &[1]);
        });
        // The thread's own buffer kept the outer call's contents.
        with(&BUF, |own| assert_eq!(own, &[1]));
    }
}
