//! Recycled tensor buffers: the run-time half of the memory plan.
//!
//! The planner frees every intermediate value right after its last reader. The
//! executor hands a freed value's storage to the session's [`BufferPool`] (when no
//! one else holds it), and kernels take their output and scratch buffers from the
//! pool with [`take`]. Buffers are thus reused by lifetime: after the first run of a
//! given input shape, a run allocates little more than the outputs it returns.
//!
//! The pool in force is set per thread by [`scope`] for the duration of a run, so
//! kernels need no extra parameter; outside a scope [`take`] simply allocates.

use crate::dtype::{DType, Elem};
use crate::error::{Error, Result};
use crate::tensor::Storage;
use crate::value::Value;
use std::cell::RefCell;
use std::sync::{Arc, Mutex};

/// Free buffers kept for reuse, shared by the runs of one session.
#[derive(Default)]
pub struct BufferPool {
    free: Mutex<Vec<Storage>>,
}

/// At most this many free buffers are kept; beyond it the smallest are dropped.
const MAX_FREE: usize = 256;

/// A buffer is reused for a request only if it is not much larger than needed.
fn fits(capacity: usize, len: usize) -> bool {
    capacity >= len && capacity <= len.saturating_mul(4).saturating_add(1024)
}

impl BufferPool {
    pub fn new() -> Arc<BufferPool> {
        Arc::new(BufferPool::default())
    }

    /// Number of free buffers held (for tests and diagnostics).
    pub fn len(&self) -> usize {
        self.free.lock().map_or(0, |f| f.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn take<T: Elem>(&self, len: usize) -> Option<Vec<T>> {
        let mut free = self.free.lock().ok()?;
        let best = free
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match element_capacity(s) {
                Some((d, cap)) if d == T::DTYPE && fits(cap, len) => Some((i, cap)),
                _ => None,
            })
            .min_by_key(|&(_, cap)| cap)?
            .0;
        T::unwrap(free.swap_remove(best)).ok()
    }

    fn give(&self, s: Storage) {
        if !matches!(element_capacity(&s), Some((_, cap)) if cap > 0) {
            return;
        }
        let Ok(mut free) = self.free.lock() else {
            return;
        };
        free.push(s);
        if free.len() > MAX_FREE {
            if let Some(smallest) = (0..free.len())
                .min_by_key(|&i| element_capacity(&free[i]).map_or(0, |(d, c)| c * d.size()))
            {
                free.swap_remove(smallest);
            }
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<BufferPool>>> = const { RefCell::new(None) };
}

/// Run `f` with `pool` as this thread's pool (restoring the previous one after).
pub fn scope<R>(pool: &Arc<BufferPool>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<BufferPool>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = prev);
        }
    }
    let prev = CURRENT.with(|c| c.borrow_mut().replace(pool.clone()));
    let _restore = Restore(prev);
    f()
}

/// The pool in force on this thread, to carry into work run on other threads.
pub fn current() -> Option<Arc<BufferPool>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Run `f` with `pool` (if any) as this thread's pool, like [`scope`].
pub fn scope_opt<R>(pool: Option<&Arc<BufferPool>>, f: impl FnOnce() -> R) -> R {
    match pool {
        Some(p) => scope(p, f),
        None => f(),
    }
}

fn with_current<R>(f: impl FnOnce(&BufferPool) -> Option<R>) -> Option<R> {
    CURRENT.with(|c| c.borrow().as_deref().and_then(f))
}

/// A vector of `len` copies of `fill`, reusing a free buffer when one fits.
/// Sizes come from models, so a failed allocation is an error, not an abort.
pub fn take<T: Elem>(len: usize, fill: T) -> Result<Vec<T>> {
    let mut v = match with_current(|p| p.take::<T>(len)) {
        Some(mut v) => {
            v.clear();
            v
        }
        None => {
            let mut v = Vec::new();
            v.try_reserve_exact(len).map_err(|_| {
                Error::invalid(format!(
                    "out of memory: cannot allocate a {} tensor of {len} elements",
                    T::DTYPE
                ))
            })?;
            v
        }
    };
    v.resize(len, fill);
    Ok(v)
}

/// Like [`take`], for a kernel that writes every element before reading any: a
/// reused buffer keeps its old (initialised) values instead of being refilled, which
/// saves a pass over memory; only elements beyond its old length get `fill`.
pub fn take_dirty<T: Elem>(len: usize, fill: T) -> Result<Vec<T>> {
    match with_current(|p| p.take::<T>(len)) {
        Some(mut v) => {
            if v.len() >= len {
                v.truncate(len);
            } else {
                v.resize(len, fill);
            }
            Ok(v)
        }
        None => take(len, fill),
    }
}

/// Hand a scratch vector back to the pool in force (dropped when there is none).
pub fn give<T: Elem>(v: Vec<T>) {
    let s = T::wrap(v);
    with_current(|p| {
        p.give(s);
        Some(())
    });
}

/// Hand a freed value's buffers to the pool in force, if nothing else holds them.
pub fn recycle(v: Value) {
    match v {
        Value::Tensor(t) => {
            if let Some(s) = t.into_unique_storage() {
                with_current(|p| {
                    p.give(s);
                    Some(())
                });
            }
        }
        Value::Sequence(items) => items.into_iter().for_each(recycle),
        Value::Optional(Some(inner)) => recycle(*inner),
        Value::Optional(None) => {}
    }
}

/// Element type and capacity (in elements) of an owned numeric buffer.
fn element_capacity(s: &Storage) -> Option<(DType, usize)> {
    Some(match s {
        Storage::F32(v) => (DType::F32, v.capacity()),
        Storage::U8(v) => (DType::U8, v.capacity()),
        Storage::I8(v) => (DType::I8, v.capacity()),
        Storage::U16(v) => (DType::U16, v.capacity()),
        Storage::I16(v) => (DType::I16, v.capacity()),
        Storage::I32(v) => (DType::I32, v.capacity()),
        Storage::I64(v) => (DType::I64, v.capacity()),
        Storage::Bool(v) => (DType::Bool, v.capacity()),
        Storage::F16(v) => (DType::F16, v.capacity()),
        Storage::F64(v) => (DType::F64, v.capacity()),
        Storage::U32(v) => (DType::U32, v.capacity()),
        Storage::U64(v) => (DType::U64, v.capacity()),
        Storage::BF16(v) => (DType::BF16, v.capacity()),
        Storage::Str(_) | Storage::Mapped(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    #[test]
    fn freed_buffers_are_reused_within_a_scope() {
        let pool = BufferPool::new();
        scope(&pool, || {
            let a = take(100_000, 1.5f32).unwrap();
            let ptr = a.as_ptr();
            recycle(Value::Tensor(Tensor::vector(a)));
            assert_eq!(pool.len(), 1);
            // Same type, a size that fits: the same memory, refilled.
            let b = take(90_000, 0f32).unwrap();
            assert_eq!(b.as_ptr(), ptr);
            assert!(b.iter().all(|&x| x == 0.0));
            // Another type or a much smaller size does not take it.
            give(b);
            assert_eq!(take(90_000, 0i64).unwrap().len(), 90_000);
            assert_eq!(take(10, 0f32).unwrap().len(), 10);
            assert!(take(usize::MAX / 8, 0f32).is_err());
            // A dirty take keeps the old values it covers and fills only the growth.
            let mut d = take(90_000, 0f32).unwrap();
            d[..10].fill(7.0);
            d.truncate(20);
            give(d);
            let d = take_dirty(30_000, 1f32).unwrap();
            assert_eq!(d.len(), 30_000);
            assert_eq!((d[0], d[19], d[20]), (7.0, 0.0, 1.0));
            give(d);
            assert_eq!(pool.len(), 1);
        });
        // Outside a scope nothing is pooled.
        recycle(Value::Tensor(Tensor::vector(vec![1f32; 10])));
        assert_eq!(pool.len(), 1);
    }

    #[test]
    fn shared_storage_is_not_recycled() {
        let pool = BufferPool::new();
        scope(&pool, || {
            let t = Tensor::vector(take(100, 0f32).unwrap());
            let view = t.reshaped(vec![10, 10]).unwrap();
            recycle(Value::Tensor(t));
            assert!(pool.is_empty());
            recycle(Value::Tensor(view));
            assert_eq!(pool.len(), 1);
        });
    }
}
