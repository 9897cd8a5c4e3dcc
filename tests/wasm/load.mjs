// Loads a runnx-wasm build's `web` glue in Node with initSync (the same glue pages
// and workers import). Build first: scripts/build-wasm.sh simd
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function loadRunnx(flavor = 'simd') {
  const dir = path.join(root, 'npm/runnx-web/dist', flavor, 'web');
  const wasm = path.join(dir, 'runnx_bg.wasm');
  if (!existsSync(wasm)) {
    throw new Error(`${wasm} is missing: run scripts/build-wasm.sh ${flavor}`);
  }
  if (flavor === 'threads' && typeof globalThis.self === 'undefined') {
    // The threaded glue imports wasm-bindgen-rayon's worker helper, which listens on
    // the worker's `self` when loaded. Node has no Web Workers for initThreadPool, so
    // here the build only runs on the calling thread (rayon's fallback on wasm32).
    globalThis.self = new EventTarget();
  }
  const glue = await import(pathToFileURL(path.join(dir, 'runnx.js')).href);
  glue.initSync({ module: readFileSync(wasm) });
  return glue;
}
