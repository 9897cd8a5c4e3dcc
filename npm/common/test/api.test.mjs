// The shared API on its own: Tensor construction, and InferenceSession's argument rules
// over a backend written here (an echo backend: each output is the feed of the same index).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { env, InferenceSession, registerBackend, Tensor } from 'runnx-common';

test('Tensor infers types and dims like onnxruntime', () => {
  const cases = [
    [new Tensor(new Float32Array(6), [2, 3]), 'float32', [2, 3], Float32Array],
    [new Tensor([1, 2, 3]), 'float32', [3], Float32Array],
    [new Tensor([true, false]), 'bool', [2], Uint8Array],
    [new Tensor(['a', 'b', 'c', 'd'], [2, 2]), 'string', [2, 2], Array],
    [new Tensor('int64', [1, 2n]), 'int64', [2], BigInt64Array],
    [new Tensor('uint64', [3]), 'uint64', [1], BigUint64Array],
    [new Tensor('float16', new Uint16Array(4), [4]), 'float16', [4], Uint16Array],
    [new Tensor(new Uint8ClampedArray(2)), 'uint8', [2], Uint8Array],
    [new Tensor('int32', [], [0, 3]), 'int32', [0, 3], Int32Array],
    [new Tensor('float64', [5], []), 'float64', [], Float64Array],
  ];
  for (const [t, type, dims, ctor] of cases) {
    assert.equal(t.type, type);
    assert.deepEqual(t.dims, dims);
    assert.ok(t.data instanceof ctor, `${type}: ${t.data.constructor.name}`);
    assert.equal(t.size, dims.reduce((a, b) => a * b, 1));
    assert.equal(t.location, 'cpu');
  }
  const data = new Float32Array([1, 2, 3, 4]);
  const t = new Tensor('float32', data, [2, 2]);
  assert.equal(t.data, data, 'a TypedArray is kept, not copied');
  assert.equal(t.reshape([4, 1]).data, data);
  assert.throws(() => t.reshape([3]), /does not match data length/);
  t.dispose();
  assert.equal(t.location, 'none');
  assert.throws(() => t.data, /disposed/);
});

test('Tensor rejects what onnxruntime rejects', () => {
  assert.throws(() => new Tensor('float32', new Float64Array(2)), TypeError);
  assert.throws(() => new Tensor('string', [1, 2]), TypeError);
  assert.throws(() => new Tensor('int64', [1.5]), TypeError);
  assert.throws(() => new Tensor('float32', [1, 2], [3]), RangeError);
  assert.throws(() => new Tensor({}), TypeError);
});

const echo = {
  async init() {},
  async createInferenceSessionHandler(source, options) {
    return {
      inputNames: ['a', 'b'],
      outputNames: ['x', 'y'],
      inputMetadata: [],
      outputMetadata: [],
      source,
      options,
      async run(feeds, fetches) {
        const inputs = Object.values(feeds);
        return Object.fromEntries(fetches.map((name) => {
          const t = inputs[name === 'x' ? 0 : 1];
          return [name, { type: t.type, dims: t.dims, data: t.data }];
        }));
      },
      async dispose() {},
    };
  },
};

test('InferenceSession: backend choice, fetches and options', async () => {
  await assert.rejects(InferenceSession.create('m.onnx'), /no backend is registered/);
  registerBackend('echo', echo, 1);
  const session = await InferenceSession.create('m.onnx', { executionProviders: [{ name: 'echo' }] });
  await assert.rejects(InferenceSession.create('m.onnx', { executionProviders: ['webgpu'] }), /no available backend for execution providers \[webgpu\]; this host has \[echo\]/);
  const bytes = new Uint8Array([1, 2, 3, 4]);
  await InferenceSession.create(bytes.buffer, 1, 2); // byteOffset/byteLength overload
  await assert.rejects(InferenceSession.create(bytes.buffer, 3, 2), RangeError);
  const feeds = { a: new Tensor([1, 2]), b: new Tensor('int32', [7]) };
  const all = await session.run(feeds);
  assert.deepEqual(Object.keys(all), ['x', 'y']);
  assert.ok(all.x instanceof Tensor);
  assert.deepEqual(Array.from(all.y.data), [7]);
  assert.deepEqual(Object.keys(await session.run(feeds, ['y'])), ['y']);
  assert.deepEqual(Object.keys(await session.run(feeds, { x: null }, { tag: 't' })), ['x']);
  assert.deepEqual(Object.keys(await session.run(feeds, { tag: 'only options' })), ['x', 'y']);
  await assert.rejects(session.run(feeds, []), /'fetches' cannot be an empty array/);
  await assert.rejects(session.run({ a: feeds.a }), /input 'b' is missing in 'feeds'/);
  await assert.rejects(session.run(new Tensor([1])), /'feeds' must be an object/);
  await session.release();
  assert.throws(() => session.inputNames, /released/);
  assert.equal(env.versions.common, '0.1.0');
});
