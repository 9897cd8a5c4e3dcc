//! The threaded build's pool: rayon's global pool, its threads run by Web Workers
//! that share this module's memory.
//!
//! runnx-web starts the workers itself (`npm/runnx-web/src/pool.ts`): it makes a
//! [`PoolBuilder`] for `n` threads, starts `n - 1` workers from its own module script (a
//! static import of this glue, so bundlers follow it), hands each the module, the
//! memory and [`PoolBuilder::receiver`], and once all are listening calls
//! [`PoolBuilder::build`] on the thread that runs sessions. Each worker then turns
//! into one rayon thread inside [`run_pool_worker`]; the calling thread is the pool's
//! thread 0, so a run starts on it directly and kernels fork work to the others.
//!
//! Browsers only, on a cross-origin-isolated page; `build` and every run that uses the
//! pool block (rayon waits with `Atomics.wait`), so they belong in a worker, not on a
//! page's main thread.

use crossbeam_channel::{bounded, Receiver, Sender};
use rayon::{ThreadBuilder, ThreadPoolBuilder};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use wasm_bindgen::prelude::*;

/// Hands rayon's threads to the workers that will run them.
#[wasm_bindgen]
pub struct PoolBuilder {
    threads: usize,
    sender: Sender<ThreadBuilder>,
    receiver: Receiver<ThreadBuilder>,
}

#[wasm_bindgen]
impl PoolBuilder {
    /// A builder for a pool of `threads` threads (at least 1).
    #[wasm_bindgen(constructor)]
    pub fn new(threads: usize) -> Result<PoolBuilder, JsError> {
        if threads == 0 {
            return Err(JsError::new("a thread pool needs at least one thread"));
        }
        let (sender, receiver) = bounded(threads);
        Ok(PoolBuilder {
            threads,
            sender,
            receiver,
        })
    }

    #[wasm_bindgen(getter)]
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Web Workers to start: every thread but the caller's.
    #[wasm_bindgen(getter)]
    pub fn workers(&self) -> usize {
        self.threads - 1
    }

    /// This instance's compiled module, for the workers to instantiate.
    pub fn module(&self) -> JsValue {
        wasm_bindgen::module()
    }

    /// This instance's shared memory, for the workers to instantiate with.
    pub fn memory(&self) -> JsValue {
        wasm_bindgen::memory()
    }

    /// The address of the channel the workers take their rayon thread from. It stays
    /// valid while this builder lives, so keep the builder until [`build`] returns
    /// (which is after every thread has started).
    ///
    /// [`build`]: PoolBuilder::build
    pub fn receiver(&self) -> usize {
        let address = &self.receiver as *const Receiver<ThreadBuilder> as usize;
        LIVE_RECEIVER.store(address, Ordering::Release);
        address
    }

    /// Start the pool that sessions run on, with the calling thread as its thread 0
    /// and the workers as the others. Call it once every worker waits in
    /// [`run_pool_worker`], from the thread that will run sessions; it returns once
    /// every worker runs its rayon thread.
    pub fn build(&mut self) -> Result<(), JsError> {
        let (sender, workers) = (&self.sender, self.workers());
        let started = Arc::new((Mutex::new(0usize), Condvar::new()));
        let count = started.clone();
        let pool = ThreadPoolBuilder::new()
            .num_threads(self.threads)
            // The caller joins the pool rather than handing each run to it: a run then
            // starts with no cross-thread wake-up, and small runs never leave this thread.
            .use_current_thread()
            .start_handler(move |_| {
                let (n, cv) = &*count;
                if let Ok(mut n) = n.lock() {
                    *n += 1;
                    cv.notify_all();
                }
            })
            .spawn_handler(|thread| {
                sender
                    .send(thread)
                    .map_err(|_| std::io::Error::other("the pool's workers stopped listening"))
            })
            .build()
            .map_err(|e| JsError::new(&format!("cannot start the thread pool: {e}")))?;
        // Wait until every worker has left `recv` (so the builder and its receiver may
        // be freed) and runs.
        let (n, cv) = &*started;
        let mut n = n
            .lock()
            .map_err(|_| JsError::new("thread pool start-up failed"))?;
        while *n < workers {
            n = cv
                .wait(n)
                .map_err(|_| JsError::new("thread pool start-up failed"))?;
        }
        if !runnx_cpu::par::set_shared_pool(pool) {
            return Err(JsError::new("this realm already has a thread pool"));
        }
        Ok(())
    }
}

/// The receiver address last handed out by a live [`PoolBuilder`] (0: none), so that
/// [`run_pool_worker`] never dereferences an address a caller made up.
static LIVE_RECEIVER: AtomicUsize = AtomicUsize::new(0);

impl Drop for PoolBuilder {
    fn drop(&mut self) {
        let address = &self.receiver as *const Receiver<ThreadBuilder> as usize;
        let _ = LIVE_RECEIVER.compare_exchange(address, 0, Ordering::AcqRel, Ordering::Relaxed);
    }
}

/// Run one rayon thread on this worker (never returns while the pool lives).
/// `receiver` is [`PoolBuilder::receiver`] of a builder in this same memory.
#[wasm_bindgen(js_name = runPoolWorker)]
pub fn run_pool_worker(receiver: usize) -> Result<(), JsError> {
    if receiver == 0 || receiver != LIVE_RECEIVER.load(Ordering::Acquire) {
        return Err(JsError::new(
            "runPoolWorker: not the receiver of a live PoolBuilder",
        ));
    }
    // SAFETY: the address is that of a live builder's receiver (checked above), and
    // the builder outlives every `recv` here because `build` returns only once every
    // thread runs (and the builder is freed only after that).
    let receiver = unsafe { &*(receiver as *const Receiver<ThreadBuilder>) };
    let thread = receiver
        .recv()
        .map_err(|_| JsError::new("the thread pool was dropped before it started"))?;
    thread.run();
    Ok(())
}
