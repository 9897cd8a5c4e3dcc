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
