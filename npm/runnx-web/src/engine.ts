// The engine inside one JavaScript realm (page, worker, service worker): loads one of the
// two WebAssembly builds and runs sessions on plain tensor records. Independent of
// runnx-common so that workers import it with no import map or bundler.
//
// Both glues are static imports (no dynamic import()); only the chosen one is
// instantiated. The wasm comes from what the caller gives (URL, bytes or a compiled
// module), or from `new URL('../dist/<build>/web/runnx_bg.wasm', import.meta.url)`,
// a static expression that webpack 5, Vite, Parcel and esbuild understand.

import initSimd, * as simd from '../dist/simd/web/runnx.js';
import initThreads, * as threads from '../dist/threads/web/runnx.js';
import { startPool } from './pool.js';

export type BuildName = 'simd' | 'threads';

/** What a wasm source can be: a URL, the bytes, or a compiled module. */
export type WasmSource = string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module;

export interface EngineConfig {
  build: BuildName;
  /** Threads of the rayon pool (threads build only; at least 2). */
  threads: number;
  /** The wasm of `build`; default: the file next to its glue in this package's dist/. */
  wasm?: WasmSource | undefined;
  /** Milliseconds the thread pool may take to start (0: no limit). */
  initTimeout?: number | undefined;
}

/** Which build runs, as reported by the engine itself. */
export interface EngineInfo {
  readonly version: string;
  readonly build: BuildName;
  readonly threads: number;
  readonly simd128: boolean;
  readonly gemmKernel: string;
}

export type PlainData =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | string[];

/** A tensor as the glue takes and returns it (onnxruntime's type names). */
export interface PlainTensor {
  type: string;
  dims: number[];
  data: PlainData;
}

export interface PlainMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: Array<number | string | null>;
}

export interface SessionInfo {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: PlainMetadata[];
  outputMetadata: PlainMetadata[];
}

export interface EngineSession extends SessionInfo {
  run(feeds: Record<string, PlainTensor>, fetches: readonly string[]): Record<string, PlainTensor>;
  release(): void;
}

export interface Engine {
  readonly info: EngineInfo;
  createSession(model: Uint8Array, options: { optimize: boolean; logLevel?: string | undefined }): EngineSession;
}

type Glue = typeof simd | typeof threads;

function defaultWasmUrl(build: BuildName): URL {
  // Two literal expressions, one per build, so that bundlers see and copy both files.
  return build === 'threads'
    ? new URL('../dist/threads/web/runnx_bg.wasm', import.meta.url)
    : new URL('../dist/simd/web/runnx_bg.wasm', import.meta.url);
}

let loaded: { config: EngineConfig; engine: Promise<Engine> } | undefined;

/**
 * The engine of this realm, loaded on first use. A realm instantiates one build once:
 * asking for another build later is an error rather than a silent second copy.
 */
export function loadEngine(config: EngineConfig): Promise<Engine> {
  if (loaded !== undefined) {
    const c = loaded.config;
    if (c.build !== config.build || c.threads !== config.threads) {
      return Promise.reject(
        new Error(`runnx-web: this realm already runs the ${c.build} build (${c.threads} threads); cannot switch to ${config.build} (${config.threads} threads)`),
      );
    }
    return loaded.engine;
  }
  const engine = instantiate(config);
  loaded = { config, engine };
  engine.catch(() => {
    if (loaded?.engine === engine) loaded = undefined; // let a corrected config retry
  });
  return engine;
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  if (!(ms > 0)) return p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function instantiate(config: EngineConfig): Promise<Engine> {
  const source = config.wasm ?? defaultWasmUrl(config.build);
  const moduleOrPath = source instanceof URL || typeof source === 'string' ? fetch(source) : source;
  let glue: Glue;
  if (config.build === 'threads') {
    await initThreads({ module_or_path: moduleOrPath as Parameters<typeof initThreads>[0] & object });
    // A worker that fails to load rejects at once; one that loads but never answers
    // (a broken or blocked script) is caught by the timeout instead of hanging.
    await withTimeout(
      startPool(config.threads),
      config.initTimeout ?? 0,
      `runnx-web: the threads build's worker pool (${config.threads} workers) did not start within ${config.initTimeout} ms`,
    );
    glue = threads;
  } else {
    await initSimd({ module_or_path: moduleOrPath as Parameters<typeof initSimd>[0] & object });
    glue = simd;
  }
  const raw = glue.buildInfo() as EngineInfo;
  const info: EngineInfo = Object.freeze({
    version: String(raw.version),
    build: config.build,
    threads: Number(raw.threads), // rayon's own count: the pool really started with them
    simd128: Boolean(raw.simd128),
    gemmKernel: String(raw.gemmKernel),
  });
  return {
    info,
    createSession(model, options) {
      const s = glue.Session.create(model, { threads: 0, optimize: options.optimize, logLevel: options.logLevel });
      return {
        inputNames: s.inputNames,
        outputNames: s.outputNames,
        inputMetadata: s.inputMetadata as PlainMetadata[],
        outputMetadata: s.outputMetadata as PlainMetadata[],
        run(feeds, fetches) {
          const all = s.run(feeds) as Record<string, PlainTensor>;
          const out: Record<string, PlainTensor> = {};
          for (const name of fetches) {
            const v = all[name];
            if (v === undefined) throw new Error(`runnx-web: the model produced no output '${name}'`);
            out[name] = v;
          }
          return out;
        },
        release() {
          s.release();
          s.free();
        },
      };
    },
  };
}

/** The model bytes from a URL (fetched) or bytes (as given). */
export async function modelBytes(source: string | Uint8Array): Promise<Uint8Array> {
  if (typeof source !== 'string') return source;
  const response = await fetch(source);
  if (!response.ok) throw new Error(`runnx-web: fetching the model ${source} failed: ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}
