// The contract between the shared API and a host (the Node addon, the browser build).
// A host registers a backend under the execution-provider names it serves; the shared
// InferenceSession validates arguments and turns results into Tensors.

import type { InferenceSession } from './inference-session.js';
import type { Tensor } from './tensor.js';

/** A tensor as a backend returns it: plain fields, wrapped into a Tensor by the caller. */
export interface TensorRecord {
  readonly type: Tensor.Type;
  readonly dims: readonly number[];
  readonly data: Tensor.DataType;
}

export interface InferenceSessionHandler {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly InferenceSession.ValueMetadata[];
  /** Feeds are validated Tensors keyed by input name; `fetches` lists the outputs to return. */
  run(
    feeds: { readonly [name: string]: Tensor },
    fetches: readonly string[],
    options: InferenceSession.RunOptions,
  ): Promise<{ [name: string]: TensorRecord | Tensor }>;
  dispose(): Promise<void>;
}

export interface Backend {
  /** Called once before the first session (load a wasm module, ...). */
  init(backendName: string): Promise<void>;
  createInferenceSessionHandler(
    uriOrBuffer: string | Uint8Array,
    options: InferenceSession.SessionOptions,
  ): Promise<InferenceSessionHandler>;
}

interface Entry {
  backend: Backend;
  priority: number;
  ready?: Promise<void>;
}

// Kept on globalThis so the ES-module and CommonJS copies of this package share one registry.
const REGISTRY_KEY = Symbol.for('runnx.backends');
function registry(): Map<string, Entry> {
  const g = globalThis as { [REGISTRY_KEY]?: Map<string, Entry> };
  return (g[REGISTRY_KEY] ??= new Map());
}

/** Register `backend` for the execution provider `name` (higher priority wins by default). */
export function registerBackend(name: string, backend: Backend, priority: number): void {
  if (typeof backend?.createInferenceSessionHandler !== 'function' || typeof backend.init !== 'function') {
    throw new TypeError('not a valid backend');
  }
  const existing = registry().get(name);
  if (existing === undefined || existing.priority <= priority) {
    registry().set(name, { backend, priority });
  }
}

export function registeredBackendNames(): string[] {
  return [...registry().entries()].sort((a, b) => b[1].priority - a[1].priority).map(([name]) => name);
}

/**
 * The backend for the first requested execution provider that is registered (or the
 * highest-priority one when none is requested), initialised once.
 */
export async function resolveBackend(requested: readonly string[]): Promise<{ name: string; backend: Backend }> {
  const names = requested.length > 0 ? requested : registeredBackendNames().slice(0, 1);
  for (const name of names) {
    const entry = registry().get(name);
    if (entry === undefined) continue;
    entry.ready ??= entry.backend.init(name);
    await entry.ready;
    return { name, backend: entry.backend };
  }
  const available = registeredBackendNames();
  throw new Error(
    requested.length > 0
      ? `no available backend for execution providers [${requested.join(', ')}]; this host has [${available.join(', ')}]`
      : 'no backend is registered: import a host package (runnx-node, runnx-web) rather than runnx-common',
  );
}
