// Example module Service Worker: loads the model named by ?model= in its script URL once
// (at install), then answers POST <scope>infer ({ feeds }) with the outputs as JSON.
// Register: navigator.serviceWorker.register('sw-module.js?model=' + encodeURIComponent(url), { type: 'module' })
// Static imports only: module Service Workers allow no import() or top-level await.
import { loadEngine, modelBytes } from '../lib/engine.js';
import './json-tensors.js';

const modelUrl = new URL(new URL(self.location.href).searchParams.get('model') ?? 'model.onnx', self.location.href);
let session;
let info;
const ready = () =>
  (session ??= (async () => {
    // A Service Worker has no Worker constructor: the SIMD build, one thread.
    const engine = await loadEngine({ build: 'simd', threads: 1 });
    info = engine.info;
    return engine.createSession(await modelBytes(modelUrl.href), { optimize: true });
  })());

self.addEventListener('install', (event) => event.waitUntil(ready().then(() => self.skipWaiting())));
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'POST' || url.href !== new URL('infer', self.registration.scope).href) return;
  event.respondWith(self.runnxJson.answer(event.request, async (feeds) => {
    const s = await ready();
    return s.run(feeds, s.outputNames);
  }, () => info));
});
