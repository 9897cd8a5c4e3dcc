// One engine in a dedicated module worker: runnx-web's engine (lib/engine.js, what its
// proxy worker runs) or onnxruntime-web's wasm backend, at a given number of threads.
// Requests: { op: 'init', engine, threads, model } -> session metadata and build info;
// { op: 'run', feeds } -> outputs; { op: 'time', feeds, n } -> n run latencies (ms), timed
// here so that no message passing is counted, after one untimed run.
import { loadEngine } from '../../npm/runnx-web/lib/engine.js';
import * as ort from './node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';

let engine;
let run;

async function initRunnx(threads, modelBytes) {
  const e = await loadEngine({ build: threads > 1 ? 'threads' : 'simd', threads });
  const session = e.createSession(modelBytes, { optimize: true });
  run = (feeds) => session.run(feeds, session.outputNames);
  return { info: { engine: 'runnx-web', ...e.info }, inputMetadata: session.inputMetadata };
}

async function initOrt(threads, modelBytes) {
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  const session = await ort.InferenceSession.create(modelBytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const tensors = (feeds) => Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(f.type, f.data, f.dims)]));
  run = async (feeds) => {
    const out = await session.run(tensors(feeds));
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { type: t.type, dims: [...t.dims], data: t.data }]));
  };
  const inputMetadata = session.inputMetadata.map((m) => ({ name: m.name, type: m.type, shape: m.shape }));
  return { info: { engine: 'onnxruntime-web', version: ort.env.versions.web, threads, build: 'simd-threaded' }, inputMetadata };
}

self.onmessage = async ({ data: req }) => {
  try {
    let result;
    if (req.op === 'init') {
      engine = req.engine;
      const bytes = new Uint8Array(await (await fetch(req.model)).arrayBuffer());
      result = await (engine === 'runnx' ? initRunnx : initOrt)(req.threads, bytes);
    } else if (req.op === 'run') {
      result = await run(req.feeds);
    } else if (req.op === 'time') {
      await run(req.feeds);
      result = [];
      for (let i = 0; i < req.n; i++) {
        const t = performance.now();
        await run(req.feeds);
        result.push(performance.now() - t);
      }
    }
    self.postMessage({ ok: true, result });
  } catch (e) {
    self.postMessage({ ok: false, error: `${engine}: ${e?.message ?? e}` });
  }
};
