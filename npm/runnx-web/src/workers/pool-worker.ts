// One thread of the threads build's pool (started by ../pool.ts): instantiates the
// page's wasm module in the shared memory, says it is ready, then runs a rayon thread
// until the realm goes away.
import { initSync, runPoolWorker } from '../../dist/threads/web/runnx.js';
import type { PoolInit, PoolReady } from '../pool.js';

const scope = globalThis as unknown as {
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  postMessage(message: PoolReady): void;
};

scope.addEventListener('message', function start(event: MessageEvent) {
  const init = event.data as PoolInit | undefined;
  if (init?.type !== 'runnx-pool-init') return;
  scope.removeEventListener('message', start);
  initSync({ module: init.module, memory: init.memory });
  scope.postMessage({ type: 'runnx-pool-ready' });
  runPoolWorker(init.receiver);
});
