//! Threads: the only place runnx-cpu touches rayon. Kernels call these helpers;
//! with the `threads` feature off (or on one thread) they run inline.
//!
//! The engine installs a [`Pool`] around each run, so kernels never use rayon's global
//! pool: natively each session owns one; on wasm32 all share the one the host started.

/// Run `f(chunk_index, chunk)` over `data` in chunks of `chunk` elements, in parallel
/// when the work (`cost_per_chunk * chunks`) is large enough to pay for it.
pub fn for_each_chunk_mut<T: Send, F>(data: &mut [T], chunk: usize, cost_per_chunk: usize, f: F)
where
    F: Fn(usize, &mut [T]) + Send + Sync,
{
    let chunk = chunk.max(1);
    #[cfg(feature = "threads")]
    {
        let chunks = data.len().div_ceil(chunk);
        if chunks > 1
            && current_threads() > 1
            && cost_per_chunk.saturating_mul(chunks) >= MIN_PARALLEL_WORK
        {
            let len = data.len();
            let base = SendPtr(data.as_mut_ptr());
            parallel_indices(chunks, &|i| {
                let start = i * chunk;
                // SAFETY: chunk `i` is `data[start..start + n]`: the chunks are disjoint,
                // in bounds, and `data` stays mutably borrowed for the whole call.
                let c = unsafe {
                    std::slice::from_raw_parts_mut(base.get().add(start), chunk.min(len - start))
                };
                f(i, c)
            });
            return;
        }
    }
    let _ = cost_per_chunk;
    data.chunks_mut(chunk)
        .enumerate()
        .for_each(|(i, c)| f(i, c));
}

/// Run `f(i)` for `i in 0..n`, in parallel when `cost_per_item * n` is large enough.
pub fn for_each_index<F>(n: usize, cost_per_item: usize, f: F)
where
    F: Fn(usize) + Send + Sync,
{
    #[cfg(feature = "threads")]
    {
        if n > 1 && current_threads() > 1 && cost_per_item.saturating_mul(n) >= MIN_PARALLEL_WORK {
            parallel_indices(n, &f);
            return;
        }
    }
    let _ = cost_per_item;
    (0..n).for_each(f);
}

/// The one rayon entry point: `f(i)` for `i in 0..n` on the pool. Taking `dyn Fn`
/// keeps rayon's splitting machinery to one copy instead of one per kernel closure
/// (it more than doubled the threaded WebAssembly build otherwise).
///
/// The run's buffer pool goes along, so that kernel parts on other threads take
/// their buffers from it too.
#[cfg(feature = "threads")]
fn parallel_indices(n: usize, f: &(dyn Fn(usize) + Sync)) {
    use rayon::prelude::*;
    let buffers = runnx_ir::buffers::current();
    (0..n)
        .into_par_iter()
        .for_each(|i| runnx_ir::buffers::scope_opt(buffers.as_ref(), || f(i)));
}

/// A pointer handed to worker threads that write disjoint parts of its slice.
#[cfg(feature = "threads")]
struct SendPtr<T>(*mut T);

#[cfg(feature = "threads")]
impl<T> SendPtr<T> {
    /// Through a method, so closures capture the wrapper (Sync), not the raw pointer.
    fn get(&self) -> *mut T {
        self.0
    }
}

// SAFETY: only used to give threads disjoint `&mut` chunks of a `T: Send` slice.
#[cfg(feature = "threads")]
unsafe impl<T: Send> Send for SendPtr<T> {}
#[cfg(feature = "threads")]
unsafe impl<T: Send> Sync for SendPtr<T> {}

/// Rough count of scalar operations below which fork/join costs more than it saves.
#[cfg(not(target_arch = "wasm32"))]
pub const MIN_PARALLEL_WORK: usize = 32 * 1024;
/// Waking a Web Worker (`Atomics.notify`) costs far more than waking a native thread.
/// Measured in Chromium at 2 threads (bench/web): 64 Ki and 1 Mi ops both ran
/// MobileNetV2 ~10% slower than 256 Ki; BERT and the tiny BERT were within noise.
#[cfg(target_arch = "wasm32")]
pub const MIN_PARALLEL_WORK: usize = 256 * 1024;

/// Threads available to the current run.
pub fn current_threads() -> usize {
    #[cfg(feature = "threads")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "threads"))]
    {
        1
    }
}

/// A thread pool owned by a session (natively), or the realm's shared pool (wasm32).
pub struct Pool {
    #[cfg(feature = "threads")]
    pool: Option<std::sync::Arc<rayon::ThreadPool>>,
    threads: usize,
}

/// The WebAssembly threads build's one pool. rayon cannot spawn threads on wasm32,
/// so the host starts Web Workers and hands their pool over once (runnx-wasm's
/// `PoolBuilder`); sessions made afterwards run on it.
#[cfg(all(feature = "threads", target_arch = "wasm32"))]
static SHARED: std::sync::OnceLock<std::sync::Arc<rayon::ThreadPool>> = std::sync::OnceLock::new();

/// Install the shared pool (wasm32); false (and the pool dropped) if one is set.
#[cfg(all(feature = "threads", target_arch = "wasm32"))]
pub fn set_shared_pool(pool: rayon::ThreadPool) -> bool {
    SHARED.set(std::sync::Arc::new(pool)).is_ok()
}

/// Threads of the shared pool (wasm32), 1 until one is installed.
#[cfg(target_arch = "wasm32")]
pub fn shared_threads() -> usize {
    #[cfg(feature = "threads")]
    {
        SHARED.get().map_or(1, |p| p.current_num_threads())
    }
    #[cfg(not(feature = "threads"))]
    {
        1
    }
}

impl Pool {
    /// A pool of `threads` threads (0 = one per core). On wasm32 the count is the
    /// shared pool's, whatever is asked.
    pub fn new(threads: usize) -> Pool {
        #[cfg(all(feature = "threads", target_arch = "wasm32"))]
        {
            let _ = threads;
            let pool = SHARED.get().cloned();
            let threads = pool.as_ref().map_or(1, |p| p.current_num_threads());
            Pool { pool, threads }
        }
        #[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
        {
            let threads = if threads == 0 {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            } else {
                threads
            };
            // A one-thread pool too, so kernels inside it see one thread and stay inline.
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .ok()
                .map(std::sync::Arc::new);
            let threads = if pool.is_some() { threads } else { 1 };
            Pool { pool, threads }
        }
        #[cfg(not(feature = "threads"))]
        {
            let _ = threads;
            Pool { threads: 1 }
        }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Run `f` with this pool's threads available to kernels.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        #[cfg(feature = "threads")]
        {
            match &self.pool {
                #[cfg(not(target_arch = "wasm32"))]
                Some(p) if self.threads > 1 => p.install(|| {
                    let _awake = KeepAwake::start(p);
                    f()
                }),
                Some(p) => p.install(f),
                None => f(),
            }
        }
        #[cfg(not(feature = "threads"))]
        {
            f()
        }
    }
}

/// Keeps a pool's other threads looking for work while a run lasts.
///
/// A run is a chain of short parallel kernels with serial gaps between them. Idle
/// rayon threads go to sleep within microseconds, and waking one (a futex, slower
/// still under a hypervisor) can cost as much as the kernel it was woken for. Like
/// onnxruntime's spinning pool, the other threads here poll for work until the run
/// ends. Measured on MobileNetV2 at 2 threads, alternating builds: median 8.8 -> 8.3
/// ms, best 8.1 -> 7.4 ms; BERT ~2% faster.
#[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
struct KeepAwake(std::sync::Arc<std::sync::atomic::AtomicBool>);

#[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
impl KeepAwake {
    /// Call on a thread of `pool`; every other thread of it polls until the drop.
    fn start(pool: &rayon::ThreadPool) -> KeepAwake {
        use std::sync::atomic::Ordering;
        let active = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let owner = rayon::current_thread_index();
        let flag = active.clone();
        pool.spawn_broadcast(move |ctx| {
            if Some(ctx.index()) == owner {
                return;
            }
            while flag.load(Ordering::Acquire) {
                // Runs a job of the pool if there is one (it may be a whole other
                // run, which is fine: this loop resumes when it returns).
                if !matches!(rayon::yield_now(), Some(rayon::Yield::Executed)) {
                    for _ in 0..64 {
                        std::hint::spin_loop();
                    }
                }
            }
        });
        KeepAwake(active)
    }
}

#[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
impl Drop for KeepAwake {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }
}
