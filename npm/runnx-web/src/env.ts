// env.wasm: the browser host's settings (onnxruntime-web's names where they exist) and
// the report of what was chosen.

import { env } from 'runnx-common';
import type { BuildName, EngineInfo, WasmSource } from './engine.js';

export interface WasmFlags {
  /** 0 or absent: automatic (threads only inside a worker on an isolated page); 1: none; n > 1: n threads. */
  numThreads?: number;
  /** Run sessions in a dedicated module worker (the main thread stays free). */
  proxy?: boolean;
  /**
   * Where the wasm files are: a URL prefix under which this package's dist/ layout is
   * served (`<prefix>simd/web/runnx_bg.wasm`, `<prefix>threads/web/runnx_bg.wasm`), or a
   * URL per build.
   */
  wasmPaths?: string | { simd?: string | URL; threads?: string | URL };
  /** The wasm itself (bytes or a compiled module), per build or for whichever is chosen. */
  wasmBinary?: Exclude<WasmSource, string | URL> | { simd?: Exclude<WasmSource, string | URL>; threads?: Exclude<WasmSource, string | URL> };
  /**
   * Milliseconds to wait for the engine (in the threads build, its worker pool too) to
   * start before the session's creation rejects; 0: no limit. Default 30000 (onnxruntime-web
   * has the same option with no limit by default; runnx-web prefers an error to a hang).
   */
  initTimeout?: number;
  /** The proxy worker's script; default: this package's workers/worker.js. */
  workerUrl?: string | URL;
  /** Set by runnx-web once the engine is loaded: which build, threads and realm. */
  readonly active?: ActiveBuild;
}

export interface ActiveBuild extends EngineInfo {
  readonly proxy: boolean;
  /** Why the build or threads differ from what was asked for. */
  readonly warning?: string;
}

export function wasmFlags(): WasmFlags {
  const e = env as { wasm?: WasmFlags };
  return (e.wasm ??= { numThreads: 0, proxy: false });
}

export function setActive(active: ActiveBuild): void {
  (wasmFlags() as { active?: ActiveBuild }).active = Object.freeze(active);
}

/** The wasm source of `build` from the flags, or undefined for the package's own file. */
export function wasmSourceOf(flags: WasmFlags, build: BuildName): WasmSource | undefined {
  const binary = flags.wasmBinary;
  if (binary !== undefined) {
    if (isPerBuild(binary)) {
      if (binary[build] !== undefined) return binary[build];
    } else {
      return binary;
    }
  }
  const paths = flags.wasmPaths;
  if (typeof paths === 'string') return `${paths}${build}/web/runnx_bg.wasm`;
  return paths?.[build];
}

function isPerBuild<T>(v: T | { simd?: T; threads?: T }): v is { simd?: T; threads?: T } {
  return typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer) && !(v instanceof WebAssembly.Module);
}
