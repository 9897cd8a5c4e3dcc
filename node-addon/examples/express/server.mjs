// An inference service on runnx-node.
//   MODELS_DIR=path/to/models [HOST=127.0.0.1] [PORT=8080] [THREADS=0] node server.mjs
// Loads every .onnx in MODELS_DIR once, then serves; SIGTERM/SIGINT stop accepting
// connections, let in-flight requests finish, release the sessions and exit 0.
import { createApp } from './app.mjs';
import { createMetrics } from './metrics.mjs';
import { loadModels } from './models.mjs';

const dir = process.env.MODELS_DIR;
if (!dir) {
  console.error('MODELS_DIR is required');
  process.exit(2);
}
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);
const threads = Number(process.env.THREADS ?? 0);
const graceMs = Number(process.env.SHUTDOWN_GRACE_MS ?? 30000);

const models = await loadModels(dir, { intraOpNumThreads: threads });
const state = { draining: false, inFlight: 0 };
const app = createApp(models, createMetrics(), state);
const server = app.listen(port, host, () => {
  const { address, port: bound } = server.address();
  console.log(`listening on http://${address}:${bound}`);
});
server.keepAliveTimeout = 5000;

function shutdown(signal) {
  if (state.draining) return;
  state.draining = true;
  console.log(`${signal}: draining ${state.inFlight} in-flight inference(s)`);
  const force = setTimeout(() => {
    console.error(`still busy after ${graceMs} ms: closing connections`);
    server.closeAllConnections();
    process.exit(1);
  }, graceMs);
  force.unref();
  // Stop accepting; idle keep-alive sockets close now, busy ones after their response.
  server.close(async () => {
    for (const session of models.values()) await session.release();
    console.log('stopped');
    process.exit(0);
  });
  server.closeIdleConnections();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
