// runnx-node gives the same outputs as the native engine (the runnx CLI) on a CNN and a
// transformer: bit for bit at 1 thread (same kernels, same order of operations), and
// within rtol 1e-3 / atol 1e-4 at 2 threads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InferenceSession, Tensor } from 'runnx-node';
import { allClose, model, MODELS, randomFloats, randomIds, runCli, sameBits } from './helpers.mjs';

const CASES = [
  {
    name: 'PP-OCR direction classifier (CNN)',
    model: MODELS.ocrCls,
    feeds: () => ({ x: new Tensor('float32', randomFloats(3 * 48 * 192, 1), [1, 3, 48, 192]) }),
  },
  {
    name: 'PP-OCRv4 text detector (CNN)',
    model: MODELS.ocrDet,
    feeds: () => ({ x: new Tensor('float32', randomFloats(3 * 160 * 224, 2), [1, 3, 160, 224]) }),
  },
  {
    name: 'SqueezeNet (onnx light model)',
    model: MODELS.squeezenet,
    feeds: () => ({ data_0: new Tensor('float32', randomFloats(3 * 224 * 224, 3), [1, 3, 224, 224]) }),
  },
  {
    name: 'tiny BERT encoder (transformer)',
    model: MODELS.tinyBert,
    feeds: () => ({ input_ids: new Tensor('int64', randomIds(2 * 24, 1000, 4), [2, 24]) }),
  },
];

for (const c of CASES) {
  for (const threads of [1, 2]) {
    test(`${c.name}: ${threads} thread(s) matches the native engine`, async () => {
      const path = c.model();
      const feeds = c.feeds();
      const session = await InferenceSession.create(path, { intraOpNumThreads: threads });
      const got = await session.run(feeds);
      const expected = runCli(path, feeds, threads);
      assert.deepEqual(Object.keys(got), session.outputNames);
      assert.deepEqual(Object.keys(expected), [...session.outputNames]);
      for (const name of session.outputNames) {
        const g = got[name];
        const e = expected[name];
        assert.deepEqual(g.dims, e.dims, `${name} dims`);
        assert.equal(g.type, e.type, `${name} type`);
        if (threads === 1) {
          assert.ok(sameBits(g.data, e.data), `${name}: not bit-identical to the CLI at 1 thread`);
        } else {
          const { ok, worst } = allClose(g.data, e.data);
          assert.ok(ok, `${name}: max |diff| ${worst}`);
        }
      }
      await session.release();
    });
  }
}

test('a model given as a Buffer runs like the same model given as a path', async () => {
  const { readFileSync } = await import('node:fs');
  const path = MODELS.tinyBert();
  const feeds = { input_ids: new Tensor('int64', randomIds(16, 1000, 5), [1, 16]) };
  const fromPath = await InferenceSession.create(path, { intraOpNumThreads: 1 });
  const fromBuffer = await InferenceSession.create(readFileSync(path), { intraOpNumThreads: 1 });
  const bytes = readFileSync(path);
  const fromArrayBuffer = await InferenceSession.create(bytes.buffer, bytes.byteOffset, bytes.byteLength, { intraOpNumThreads: 1 });
  const a = await fromPath.run(feeds);
  for (const other of [fromBuffer, fromArrayBuffer]) {
    const b = await other.run(feeds);
    for (const name of fromPath.outputNames) assert.ok(sameBits(a[name].data, b[name].data), name);
  }
});

test('metadata and fetches follow onnxruntime', async () => {
  const session = await InferenceSession.create(MODELS.tinyBert());
  assert.deepEqual(session.inputNames, ['input_ids']);
  assert.deepEqual(session.outputNames, ['last_hidden_state', 'pooled']);
  assert.deepEqual(session.inputMetadata, [{ name: 'input_ids', isTensor: true, type: 'int64', shape: ['batch', 'seq'] }]);
  assert.deepEqual(session.outputMetadata[1], { name: 'pooled', isTensor: true, type: 'float32', shape: ['batch', 64] });
  const feeds = { input_ids: new Tensor('int64', [1, 2, 3], [1, 3]) };
  const onlyPooled = await session.run(feeds, ['pooled']);
  assert.deepEqual(Object.keys(onlyPooled), ['pooled']);
  assert.deepEqual(onlyPooled.pooled.dims, [1, 64]);
  assert.ok(onlyPooled.pooled.data instanceof Float32Array);
  const viaObject = await session.run(feeds, { last_hidden_state: null });
  assert.deepEqual(Object.keys(viaObject), ['last_hidden_state']);
  assert.deepEqual(viaObject.last_hidden_state.dims, [1, 3, 64]);
});

test('an output that is a feed (Identity) is its own copy', async () => {
  const session = await InferenceSession.create(model('onnx-data/node/test_identity/model.onnx'));
  const input = new Float32Array([1, 2, 3, 4]);
  const name = session.inputNames[0];
  const out = (await session.run({ [name]: new Tensor('float32', input, [1, 1, 2, 2]) }))[session.outputNames[0]];
  assert.deepEqual(Array.from(out.data), [1, 2, 3, 4]);
  assert.notEqual(out.data.buffer, input.buffer);
  out.data[0] = 42;
  assert.equal(input[0], 1);
});

test('a model path with external data reads the weights next to it', async () => {
  const feeds = { input_ids: new Tensor('int64', randomIds(2 * 16, 1000, 6), [2, 16]) };
  const external = model('models-external/tiny_bert.onnx');
  const a = await (await InferenceSession.create(external, { intraOpNumThreads: 1 })).run(feeds);
  const b = await (await InferenceSession.create(MODELS.tinyBert(), { intraOpNumThreads: 1 })).run(feeds);
  for (const name of Object.keys(b)) assert.ok(sameBits(a[name].data, b[name].data), name);
  // As bytes, the model has nowhere to read its weights from: a clear error.
  const { readFileSync } = await import('node:fs');
  await assert.rejects(InferenceSession.create(readFileSync(external)), /external file 'tiny_bert.weights'.*no weight source/);
});

test('the CommonJS and ES-module entries are one package instance', async () => {
  const { createRequire } = await import('node:module');
  const cjs = createRequire(import.meta.url)('runnx-node');
  assert.equal(cjs.Tensor, Tensor);
  assert.equal(cjs.InferenceSession, InferenceSession);
  const esm = await import('runnx-node');
  assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), Object.keys(cjs).sort(), 'lib/index.mjs lists every CommonJS export');
});
