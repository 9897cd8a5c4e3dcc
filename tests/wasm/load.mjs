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
  // Node has no Web Workers for the threads build's pool, so that build runs here on
  // the calling thread only (rayon's fallback on wasm32 without a pool).
  const glue = await import(pathToFileURL(path.join(dir, 'runnx.js')).href);
  glue.initSync({ module: readFileSync(wasm) });
  return glue;
}
