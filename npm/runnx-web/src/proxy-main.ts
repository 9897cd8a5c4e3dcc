// The main-thread side of proxy mode: one dedicated module worker runs the engine;
// requests go out as messages.ts Requests and come back as promises. Tensor buffers are
// transferred both ways, as in onnxruntime-web: feeds move to the worker (see
// movableFeeds), outputs move back.

import type { EngineConfig, EngineInfo, PlainTensor, SessionInfo } from './engine.js';
import { movableFeeds, type Request, type Response, type Result } from './messages.js';

type Outgoing = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class ProxyWorker {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Result) => void; reject: (e: Error) => void }>();

  /** A started worker (running lib/workers/worker.js), or the URL of its module script. */
  constructor(worker: Worker | URL | string) {
    this.worker = typeof worker === 'string' || worker instanceof URL ? new Worker(worker, { type: 'module' }) : worker;
    this.worker.addEventListener('message', (event: MessageEvent) => {
      const res = event.data as Response;
      const p = this.pending.get(res.id);
      if (p === undefined) return;
      this.pending.delete(res.id);
      if (res.ok) p.resolve(res.result);
      else p.reject(Object.assign(new Error(res.error.message), { name: res.error.name }));
    });
    this.worker.addEventListener('error', (event: ErrorEvent) => {
      const error = new Error(`runnx-web: the proxy worker failed: ${event.message || 'could not load it'}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    });
  }

  private request<K extends Result['kind']>(message: Outgoing & { kind: K }, transfer: Transferable[] = []): Promise<Extract<Result, { kind: K }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: Result) => void, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  async init(config: EngineConfig): Promise<EngineInfo> {
    // URLs do not clone; relative ones must not resolve against the worker's location.
    const wasm = config.wasm instanceof URL ? config.wasm.href : typeof config.wasm === 'string' ? absolute(config.wasm) : config.wasm;
    return (await this.request({ kind: 'init', config: { ...config, wasm } })).info;
  }

  async create(model: string | Uint8Array, options: { optimize: boolean; logLevel?: string | undefined }): Promise<{ session: number; info: SessionInfo }> {
    const m = typeof model === 'string' ? absolute(model) : model;
    return this.request({ kind: 'create', model: m, options });
  }

  async run(session: number, feeds: Record<string, PlainTensor>, fetches: string[]): Promise<Record<string, PlainTensor>> {
    const moved = movableFeeds(feeds);
    return (await this.request({ kind: 'run', session, feeds: moved.feeds, fetches }, moved.transfer)).outputs;
  }

  async release(session: number): Promise<void> {
    await this.request({ kind: 'release', session });
  }
}

function absolute(url: string): string {
  return new URL(url, (globalThis as { location?: { href: string } }).location?.href).href;
}
