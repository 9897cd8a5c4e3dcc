// Messages between the main-thread wrapper (proxy-main.ts) and the worker side
// (proxy-worker.ts): structured-cloneable data only. Each request carries an id; the
// worker answers every request with one response of the same id.

import type { EngineConfig, EngineInfo, PlainTensor, SessionInfo, WasmSource } from './engine.js';

export type Request =
  | { id: number; kind: 'init'; config: EngineConfig & { wasm?: Exclude<WasmSource, URL> } }
  | { id: number; kind: 'create'; model: string | Uint8Array; options: { optimize: boolean; logLevel?: string | undefined } }
  | { id: number; kind: 'run'; session: number; feeds: Record<string, PlainTensor>; fetches: string[] }
  | { id: number; kind: 'release'; session: number };

export type Result =
  | { kind: 'init'; info: EngineInfo }
  | { kind: 'create'; session: number; info: SessionInfo }
  | { kind: 'run'; outputs: Record<string, PlainTensor> }
  | { kind: 'release' };

export type Response = { id: number; ok: true; result: Result } | { id: number; ok: false; error: { name: string; message: string } };

/** The buffers of typed-array tensors, for a postMessage transfer list (each once). */
export function transferables(tensors: Iterable<PlainTensor>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const t of tensors) {
    if (!Array.isArray(t.data) && t.data.buffer instanceof ArrayBuffer) buffers.add(t.data.buffer);
  }
  return [...buffers];
}

/**
 * Feeds ready to be moved to the worker, as onnxruntime-web's proxy does: a typed array
 * that spans its whole ArrayBuffer is transferred (the caller's tensor is detached
 * afterwards); a view into a larger buffer is copied first, so that the rest of that
 * buffer stays with the caller. Shared memory is neither copied nor moved.
 */
export function movableFeeds(feeds: Record<string, PlainTensor>): { feeds: Record<string, PlainTensor>; transfer: ArrayBuffer[] } {
  const moved: Record<string, PlainTensor> = {};
  const buffers = new Set<ArrayBuffer>();
  for (const [name, t] of Object.entries(feeds)) {
    let data = t.data;
    if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer) {
      if (data.buffer.byteLength === 0 && t.dims.every((d) => d > 0)) {
        throw new TypeError(`feed '${name}': its buffer was moved to the proxy worker by an earlier run (proxy mode transfers feeds); create a new Tensor for each run`);
      }
      if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) data = data.slice();
      buffers.add(data.buffer as ArrayBuffer);
    }
    moved[name] = { ...t, data };
  }
  return { feeds: moved, transfer: [...buffers] };
}
