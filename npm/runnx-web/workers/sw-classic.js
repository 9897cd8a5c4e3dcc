// Example classic Service Worker (for browsers without module Service Workers): the
// no-modules glue through importScripts; otherwise as sw-module.js.
// Register: navigator.serviceWorker.register('sw-classic.js?model=' + encodeURIComponent(url))
importScripts('../dist/simd/no-modules/runnx.js', './json-tensors.js');

const modelUrl = new URL(new URL(self.location.href).searchParams.get('model') ?? 'model.onnx', self.location.href);
let session;
const ready = () =>
  (session ??= (async () => {
    await wasm_bindgen({ module_or_path: new URL('../dist/simd/no-modules/runnx_bg.wasm', self.location.href) });
    const response = await fetch(modelUrl);
    if (!response.ok) throw new Error(`fetching ${modelUrl}: ${response.status}`);
    return wasm_bindgen.Session.create(new Uint8Array(await response.arrayBuffer()), { optimize: true });
  })());

self.addEventListener('install', (event) => event.waitUntil(ready().then(() => self.skipWaiting())));
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'POST' || url.href !== new URL('infer', self.registration.scope).href) return;
  event.respondWith(self.runnxJson.answer(event.request, async (feeds) => (await ready()).run(feeds), () => ({ ...wasm_bindgen.buildInfo(), threads: 1 })));
});
