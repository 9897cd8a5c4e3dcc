// The threads build's pool: the calling thread (which runs the sessions) plus
// `threads - 1` module Web Workers, each running one rayon thread in the shared wasm
// memory (crates/runnx-wasm/src/threads.rs has the Rust half).
//
// The workers are started from this package's own script, workers/pool-worker.js,
// with the literal `new Worker(new URL(...), { type: 'module' })` that bundlers turn
// into a worker chunk; that script imports the threads glue statically. So the pool
// needs no dynamic import(), no blob URLs and no guessed script URL, and it starts
// the same way from dist files, under Vite, or under a strict CSP (worker-src 'self').

import { PoolBuilder } from '../dist/threads/web/runnx.js';

/** The first message a pool worker gets; it answers with a `PoolReady`. */
export interface PoolInit {
  type: 'runnx-pool-init';
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  receiver: number;
}
export interface PoolReady {
  type: 'runnx-pool-ready';
}

// Kept referenced for the life of the realm (Firefox collects unreferenced workers
// that share memory).
const alive = new Set<Worker>();

/**
 * Start a pool of `threads` threads: this one and `threads - 1` workers. Resolves once
 * every thread runs; rejects with the browser's reason if a worker script cannot load.
 * The caller must be allowed to block (a worker), as rayon waits for its threads.
 */
export async function startPool(threads: number): Promise<void> {
  const builder = new PoolBuilder(threads);
  try {
    const init: PoolInit = {
      type: 'runnx-pool-init',
      module: builder.module() as WebAssembly.Module,
      memory: builder.memory() as WebAssembly.Memory,
      receiver: builder.receiver(),
    };
    const started = Array.from({ length: builder.workers }, () => new Worker(new URL('./workers/pool-worker.js', import.meta.url), { type: 'module' }));
    try {
      await Promise.all(started.map((w, i) => listening(w, i, init)));
    } catch (e) {
      for (const w of started) w.terminate();
      throw e;
    }
    for (const w of started) alive.add(w);
    builder.build();
  } finally {
    builder.free();
  }
}

function listening(worker: Worker, index: number, init: PoolInit): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.addEventListener('message', function ready(event: MessageEvent) {
      if ((event.data as PoolReady | undefined)?.type !== 'runnx-pool-ready') return;
      worker.removeEventListener('message', ready);
      resolve();
    });
    worker.addEventListener('error', (event: ErrorEvent) => {
      reject(new Error(`runnx-web: thread-pool worker ${index} failed to start: ${event.message || 'its script (workers/pool-worker.js) did not load'}`));
    });
    worker.postMessage(init);
  });
}
