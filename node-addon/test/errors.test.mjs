// Bad models and bad feeds are JavaScript exceptions with clear messages; the process
// survives them all and keeps serving.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { InferenceSession, RunnxError, Tensor } from 'runnx-node';
import { MODELS, randomIds, rng } from './helpers.mjs';

const ids = (dims = [1, 4]) => new Tensor('int64', randomIds(dims[0] * dims[1], 1000, 1), dims);

test('bad models are rejected with a clear error', async () => {
  const cases = [
    [Buffer.from('this is not an onnx model'), /runnx: invalid model/],
    [new Uint8Array(0), /runnx: invalid model/],
    [readFileSync(MODELS.tinyBert()).subarray(0, 5000), /runnx: /],
    ['/nonexistent/model.onnx', /cannot read \/nonexistent\/model.onnx/],
    [tmpdir(), /cannot read/],
  ];
  for (const [source, message] of cases) {
    await assert.rejects(InferenceSession.create(source), (e) => {
      assert.ok(e instanceof RunnxError, `${e}`);
      assert.equal(e.code, 'ERR_RUNNX');
      assert.match(e.message, message);
      return true;
    });
  }
  await assert.rejects(InferenceSession.create(42), TypeError);
  await assert.rejects(InferenceSession.create(MODELS.tinyBert(), { intraOpNumThreads: -1 }), RangeError);
  await assert.rejects(InferenceSession.create(MODELS.tinyBert(), { intraOpNumThreads: 1e6 }), /at most 1024/);
  await assert.rejects(
    InferenceSession.create(MODELS.tinyBert(), { executionProviders: ['cuda'] }),
    /no available backend for execution providers \[cuda\]; this host has \[cpu\]/,
  );
});

test('bad feeds are rejected before running, with what was expected', async () => {
  const session = await InferenceSession.create(MODELS.tinyBert());
  const cases = [
    [{}, /input 'input_ids' is missing in 'feeds'/, Error],
    [{ input_ids: ids(), extra: ids() }, /'extra' is not an input of this model \(inputs: input_ids\)/, RunnxError],
    [{ input_ids: new Tensor('float32', [1, 2, 3, 4], [1, 4]) }, /input 'input_ids': expected int64\[batch,seq\], got float tensor \[1, 4\]/, RunnxError],
    [{ input_ids: new Tensor('int64', [1, 2, 3, 4], [4]) }, /input 'input_ids': expected int64\[batch,seq\], got int64 tensor \[4\]/, RunnxError],
    [{ input_ids: [1, 2, 3] }, /feed 'input_ids' is not a Tensor/, TypeError],
    // Duck-typed tensors that the Tensor class would not let through.
    [{ input_ids: { type: 'int64', dims: [1, 3], data: new BigInt64Array(4) } }, /dims \[1, 3\] need 3 elements, the data has 4/, RunnxError],
    [{ input_ids: { type: 'int64', dims: [1, 2], data: new Float64Array(2) } }, /a 'int64' tensor needs a BigInt64Array/, TypeError],
    [{ input_ids: { type: 'int64', dims: [1, -2], data: new BigInt64Array(2) } }, /dims must be non-negative integers/, RangeError],
    [{ input_ids: { type: 'int64', dims: [1, '2'], data: new BigInt64Array(2) } }, /dims must be non-negative integers/, RangeError],
  ];
  for (const [feeds, message, kind] of cases) {
    await assert.rejects(session.run(feeds), (e) => {
      assert.ok(e instanceof kind, `${e.name}: ${e.message}`);
      assert.match(e.message, message);
      if (e instanceof RunnxError) assert.equal(e.code, 'ERR_RUNNX_INPUT');
      return true;
    });
  }
  await assert.rejects(session.run({ input_ids: ids() }, ['nope']), /'fetches' contains invalid output name: nope/);
  await assert.rejects(session.run({ input_ids: ids() }, { pooled: new Tensor(new Float32Array(64), [1, 64]) }), /pre-allocated output tensors are not supported/);
  // Ids past the vocabulary fail inside the graph, naming the node.
  const big = new Tensor('int64', [5000n, 1n], [1, 2]);
  await assert.rejects(session.run({ input_ids: big }), /node 'gather_\d+' \(Gather\): index 5000 is out of range/);
  // The session still works after all that.
  const out = await session.run({ input_ids: ids() });
  assert.deepEqual(out.pooled.dims, [1, 64]);
  await session.release();
  await assert.rejects(async () => session.run({ input_ids: ids() }), /released/);
});

test('Tensor construction rejects inconsistent data', () => {
  assert.throws(() => new Tensor('float32', [1, 2, 3], [2, 2]), /size \(4, from dims \[2, 2\]\) does not match data length \(3\)/);
  assert.throws(() => new Tensor('int64', new Int32Array(2)), /needs a BigInt64Array/);
  assert.throws(() => new Tensor('complex64', [1]), /Unsupported tensor type/);
  assert.throws(() => new Tensor('float32', [1], [0.5]), /non-negative integers/);
});

test('hundreds of corrupted models never take the process down', async () => {
  const original = readFileSync(MODELS.tinyBert());
  const r = rng(11);
  let loaded = 0;
  let rejected = 0;
  for (let k = 0; k < 300; k++) {
    const bytes = Buffer.from(original);
    const mode = k % 3;
    if (mode === 0) {
      for (let i = 0; i < 1 + Math.floor(r() * 8); i++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
    } else if (mode === 1) {
      // Corrupt the graph part (the weights come first in the file, the nodes after them).
      const from = Math.floor(bytes.length * 0.9);
      for (let i = 0; i < 4; i++) bytes[from + Math.floor(r() * (bytes.length - from))] = Math.floor(r() * 256);
    }
    const model = mode === 2 ? bytes.subarray(0, Math.floor(r() * bytes.length)) : bytes;
    try {
      const session = await InferenceSession.create(model);
      loaded++;
      try {
        await session.run({ input_ids: ids([1, 8]) });
      } catch (e) {
        assert.ok(e instanceof Error && e.message.startsWith('runnx: '), String(e));
      }
    } catch (e) {
      rejected++;
      assert.ok(e instanceof RunnxError, String(e));
      assert.doesNotMatch(e.message, /internal error/);
    }
  }
  assert.equal(loaded + rejected, 300);
  assert.ok(rejected > 0, 'no corrupted model was rejected');
});
