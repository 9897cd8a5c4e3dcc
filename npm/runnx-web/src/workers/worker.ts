// A ready module Web Worker: the worker side of proxy mode. Start it with
//   new Worker(new URL('runnx-web/workers/worker.js', import.meta.url), { type: 'module' })
// (runnx-web does so itself when env.wasm.proxy is true).
import { serveProxy } from '../proxy-worker.js';

serveProxy(globalThis as unknown as Parameters<typeof serveProxy>[0]);
