// Which build runs, on how many threads, and in which realm: a pure decision from the
// settings and what the current realm offers, so that it is tested without a browser.

import type { BuildName } from './engine.js';

/** Where JavaScript runs now: only a dedicated worker may block (rayon's caller does). */
export type RealmKind = 'window' | 'dedicated-worker' | 'service-worker' | 'other';

export interface Choice {
  build: BuildName;
  threads: number;
  /** Run sessions in a dedicated module worker (asked for, or needed by threads on the main thread). */
  proxy: boolean;
  /** Why the result differs from what was asked for (also printed with console.warn). */
  warning?: string;
}

export interface ChoiceInput {
  /** env.wasm.numThreads: 0 or absent = automatic, 1 = no threads, n > 1 = n threads. */
  numThreads: number | undefined;
  proxy: boolean;
  realm: RealmKind;
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  workerAvailable: boolean;
}

const MAX_AUTO_THREADS = 4;

export function chooseBuild(input: ChoiceInput): Choice {
  const asked = input.numThreads ?? 0;
  if (!Number.isSafeInteger(asked) || asked < 0) {
    throw new RangeError(`env.wasm.numThreads must be a non-negative integer, got ${String(input.numThreads)}`);
  }
  let proxy = input.proxy;
  let warning: string | undefined;
  if (proxy && (input.realm !== 'window' || !input.workerAvailable)) {
    warning = 'env.wasm.proxy is ignored: it needs the main thread of a page that can start module workers';
    proxy = false;
  }
  // Automatic: threads only where they need no change of mode (already in a worker, or proxied).
  const runsInWorker = proxy || input.realm === 'dedicated-worker';
  const wanted =
    asked > 0 ? asked : runsInWorker && input.crossOriginIsolated ? Math.min(MAX_AUTO_THREADS, Math.ceil(input.hardwareConcurrency / 2)) : 1;
  if (wanted <= 1) return withWarning({ build: 'simd', threads: 1, proxy }, warning);

  const off = (why: string): Choice =>
    withWarning({ build: 'simd', threads: 1, proxy }, `${warning ? warning + '; ' : ''}${wanted} threads were asked for but threads are off: ${why}; running the SIMD build on 1 thread`);
  if (!input.crossOriginIsolated) {
    return off('this context is not cross-origin isolated (serve the page with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)');
  }
  if (!input.workerAvailable) return off('this context cannot start Web Workers (a service worker has none)');
  if (input.realm === 'service-worker' || input.realm === 'other') return off(`a ${input.realm} cannot block on Atomics.wait`);
  // The main thread may not block on Atomics.wait, which rayon's caller does: run the
  // session in a dedicated worker instead (reported as proxy: true).
  return withWarning({ build: 'threads', threads: wanted, proxy: proxy || input.realm === 'window' }, warning);
}

function withWarning(choice: Choice, warning: string | undefined): Choice {
  return warning === undefined ? choice : { ...choice, warning };
}

/** The kind of the current realm. */
export function currentRealm(): RealmKind {
  const g = globalThis as { document?: unknown; registration?: unknown; postMessage?: unknown };
  if (typeof g.document === 'object') return 'window';
  if (g.registration !== undefined) return 'service-worker';
  if (typeof g.postMessage === 'function') return 'dedicated-worker';
  return 'other';
}
