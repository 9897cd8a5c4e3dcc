// A small static server for the browser tests: serves the repository from 127.0.0.1.
// Paths under /coi/ are the same files with Cross-Origin-Opener-Policy: same-origin and
// Cross-Origin-Embedder-Policy: require-corp (a cross-origin isolated page and its
// workers); other paths have no such headers. .wasm is served as application/wasm.
// Under /coi/nopool/ the thread-pool worker script is missing (404), for an error test.
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
};

export function serve(root, port = 0) {
  const base = resolve(root);
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const isolated = path.startsWith('/coi/');
    if (isolated) {
      path = path.slice('/coi'.length);
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
      res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    }
    // /coi/nopool/...: a deployment that lost the thread-pool worker script.
    if (isolated && path.startsWith('/nopool/')) {
      path = path.slice('/nopool'.length);
      if (path.endsWith('/pool-worker.js')) path = '/nonexistent';
    }
    const file = resolve(join(base, path));
    let size = -1;
    if (file === base || file.startsWith(base + sep)) {
      try {
        const st = statSync(file);
        if (st.isFile()) size = st.size;
      } catch {}
    }
    if (size < 0) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    if (path.endsWith('sw-module.js') || path.endsWith('sw-classic.js')) res.setHeader('Service-Worker-Allowed', '/');
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': size, 'Cache-Control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(port, '127.0.0.1', () => ok(server)));
}

// `node tests/browser/server.mjs [port]`: serve the repository for a manual look.
if (import.meta.url === `file://${process.argv[1]}`) {
  const root = new URL('../..', import.meta.url).pathname;
  const server = await serve(root, Number(process.argv[2] ?? 8080));
  const url = `http://127.0.0.1:${server.address().port}`;
  console.log(`serving ${root} at ${url}/ (cross-origin isolated under ${url}/coi/)`);
}
