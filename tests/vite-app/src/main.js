// Loads a model with runnx-web (as an application would, through the bundler: the wasm
// comes from the package's `new URL(..., import.meta.url)` locations, rewritten by Vite),
// runs it on INPUT and shows the outputs. `?model=URL` picks the model; `?proxy` runs it in
// runnx-web's proxy worker (which Vite bundles as a worker chunk).
import { env, InferenceSession, Tensor } from 'runnx-web';
import { INPUT } from './input.js';

const show = (text) => {
  document.getElementById('result').textContent = text;
};

async function main() {
  const model = new URLSearchParams(location.search).get('model') ?? 'tiny_bert.onnx';
  document.getElementById('model').textContent = model;
  const params = new URLSearchParams(location.search);
  env.wasm.numThreads = Number(params.get('threads') ?? 1);
  if (params.has('initTimeout')) env.wasm.initTimeout = Number(params.get('initTimeout'));
  env.wasm.proxy = new URLSearchParams(location.search).has('proxy');
  const session = await InferenceSession.create(model);
  const feeds = { [INPUT.name]: new Tensor(INPUT.type, BigInt64Array.from(INPUT.ids, BigInt), INPUT.dims) };
  const outputs = await session.run(feeds);
  const result = {
    active: env.wasm.active,
    outputs: Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, { dims: [...t.dims], data: Array.from(t.data, Number) }])),
  };
  await session.release();
  document.body.dataset.result = JSON.stringify(result);
  show(
    `${env.wasm.active.build} build, ${env.wasm.active.threads} thread(s)${env.wasm.active.proxy ? ' in a worker' : ''}\n` +
      Object.entries(result.outputs).map(([k, o]) => `${k} [${o.dims.join(', ')}]: ${o.data.slice(0, 4).map((x) => x.toFixed(4)).join(', ')}, …`).join('\n'),
  );
}

main().catch((e) => {
  document.body.dataset.error = String(e?.message ?? e);
  show(`error: ${e?.message ?? e}`);
});
