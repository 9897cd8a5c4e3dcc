// Runs one model in this page with runnx-web under the settings the test runner gives,
// and hands back what came out, which build ran, and the warnings printed.
import { env, InferenceSession, Tensor } from 'runnx-web';

const warnings = [];
const warn = console.warn.bind(console);
console.warn = (...args) => {
  warnings.push(args.join(' '));
  warn(...args);
};

const TYPED = { float32: Float32Array, int64: BigInt64Array };

// view: each feed is a view into the middle of a larger buffer instead of a whole one.
window.runCase = async ({ wasm, model, feeds, view }) => {
  Object.assign(env.wasm, wasm);
  const t0 = performance.now();
  const session = await InferenceSession.create(model);
  const t1 = performance.now();
  const tensors = {};
  const parents = [];
  for (const [name, f] of Object.entries(feeds)) {
    let data = f.type === 'int64' ? BigInt64Array.from(f.data, BigInt) : TYPED[f.type].from(f.data);
    if (view) {
      const parent = new data.constructor(data.length + 2);
      parent.set(data, 1);
      parents.push(parent);
      data = parent.subarray(1, data.length + 1);
    }
    tensors[name] = new Tensor(f.type, data, f.dims);
  }
  const out = await session.run(tensors);
  const t2 = performance.now();
  // Proxy mode moves whole feed buffers to the worker; a view's buffer stays here.
  const feedBuffers = {
    detached: Object.values(tensors).filter((t) => t.data.buffer.byteLength === 0).length,
    parentsIntact: parents.every((p) => p.buffer.byteLength > 0),
  };
  let rerunError = null;
  if (feedBuffers.detached > 0) rerunError = await session.run(tensors).then(() => 'resolved', (e) => e.message);
  const outputs = {};
  for (const [name, t] of Object.entries(out)) outputs[name] = { type: t.type, dims: [...t.dims], data: Array.from(t.data, Number) };
  const result = {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    active: env.wasm.active,
    warnings,
    outputs,
    feedBuffers,
    rerunError,
    createMs: t1 - t0,
    runMs: t2 - t1,
    crossOriginIsolated: self.crossOriginIsolated,
  };
  await session.release();
  return result;
};
window.harnessReady = true;

// Registers one of the example Service Workers for `model`, waits until it controls this
// page, and POSTs the feeds to <scope>infer; the worker is unregistered afterwards.
window.runServiceWorker = async ({ kind, model, feeds }) => {
  const scope = new URL('./', location.href).href;
  const script = new URL(`../../../npm/runnx-web/workers/sw-${kind}.js?model=${encodeURIComponent(new URL(model, location.href).href)}`, location.href).href;
  const registration = await navigator.serviceWorker.register(script, { scope, ...(kind === 'module' ? { type: 'module' } : {}) });
  try {
    const t0 = performance.now();
    for (let waited = 0; navigator.serviceWorker.controller?.scriptURL !== script; waited += 20) {
      if (waited > 15000) throw new Error(`the ${kind} service worker did not take control`);
      await new Promise((ok) => setTimeout(ok, 20));
    }
    const t1 = performance.now();
    const response = await fetch(new URL('infer', scope), { method: 'POST', body: JSON.stringify({ feeds }) });
    const body = await response.json();
    if (!response.ok) throw new Error(`service worker answered ${response.status}: ${body.error}`);
    return { outputs: body.outputs, warnings, active: { ...body.build, proxy: false }, createMs: t1 - t0, runMs: performance.now() - t1 };
  } finally {
    await registration.unregister();
  }
};

// Bad input, through the public API: each attempt must reject with an Error, and the
// session must still answer a valid run afterwards. Returns each attempt's message.
window.runErrors = async ({ wasm, model }) => {
  Object.assign(env.wasm, wasm);
  const messages = {};
  const attempt = async (what, f) => {
    try {
      await f();
      messages[what] = 'resolved';
    } catch (e) {
      messages[what] = e instanceof Error ? e.message : `not an Error: ${String(e)}`;
    }
  };
  await attempt('garbage model', () => InferenceSession.create(new Uint8Array([1, 2, 3, 4, 5])));
  const session = await InferenceSession.create(model);
  const ids = (n, v = 1n) => new Tensor('int64', new BigInt64Array(n).fill(v), [1, n]);
  await attempt('missing feed', () => session.run({ nope: ids(8) }));
  await attempt('wrong type', () => session.run({ input_ids: new Tensor('int32', new Int32Array(8), [1, 8]) }));
  await attempt('wrong rank', () => session.run({ input_ids: new Tensor('int64', new BigInt64Array(8), [8]) }));
  await attempt('index out of range', () => session.run({ input_ids: ids(8, 5000n) }));
  const after = await session.run({ input_ids: ids(8) });
  await session.release();
  return { messages, active: env.wasm.active, afterwards: Object.keys(after) };
};
