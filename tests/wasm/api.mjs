// The JavaScript surface of the wasm build (simd, in Node through the web glue):
// metadata, typed tensors, and that every failure is a thrown Error with a clear
// message, a panic included.   node tests/wasm/api.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadRunnx, root } from './load.mjs';
import { field, floatAttr, initializer, model, node, valueInfo } from './onnx-writer.mjs';

const runnx = await loadRunnx('simd');
const caseDir = (name) => path.join(root, '.cache/onnx-data/node', name);
const caseModel = (name) => readFileSync(path.join(caseDir(name), 'model.onnx'));
const proto = (name, file) => runnx.valueFromProto(readFileSync(path.join(caseDir(name), 'test_data_set_0', file)), 'tensor');
const oneNodeModel = (op) =>
  model([...node(['x'], 'y', 'the_node', op), ...field(11, valueInfo('x', 1, ['N', 3])), ...field(12, valueInfo('y', 1, ['N', 3]))]);
const throws = (f, pattern) => assert.throws(f, (e) => e instanceof Error && pattern.test(e.message), `expected an Error matching ${pattern}`);

// Build info.
const info = runnx.buildInfo();
assert.equal(info.build, 'simd');
assert.equal(info.simd128, true);
assert.match(info.gemmKernel, /simd128/);

// Metadata, symbolic dims, a run.
const relu = runnx.Session.create(oneNodeModel('Relu'));
assert.deepEqual(relu.inputNames, ['x']);
assert.deepEqual(relu.outputNames, ['y']);
assert.deepEqual(relu.inputMetadata, [{ name: 'x', isTensor: true, kind: 'tensor', type: 'float32', shape: ['N', 3] }]);
const y = relu.run({ x: { type: 'float32', data: new Float32Array([-1, 2, -3, 4, -5, 6]), dims: [2, 3] } }).y;
assert.equal(y.type, 'float32');
assert.deepEqual(y.dims, [2, 3]);
assert.deepEqual(Array.from(y.data), [0, 2, 0, 4, 0, 6]);

// Feed errors name the input and what was wrong.
throws(() => relu.run({ z: { type: 'float32', data: new Float32Array(3), dims: [1, 3] } }), /'z' is not an input.*inputs: x/);
throws(() => relu.run({}), /missing input 'x'/);
throws(() => relu.run({ x: { type: 'int32', data: new Int32Array(3), dims: [1, 3] } }), /input 'x': expected float.*got int32/);
throws(() => relu.run({ x: { type: 'float32', data: new Float32Array(4), dims: [1, 4] } }), /input 'x': expected float\[N,3\]/);
throws(() => relu.run({ x: { type: 'float32', data: new Float64Array(3), dims: [1, 3] } }), /must be a Float32Array, got Float64Array/);
throws(() => relu.run({ x: { type: 'float32', data: new Float32Array(5), dims: [1, 3] } }), /need 3 elements, the data has 5/);
throws(() => relu.run({ x: { type: 'float33', data: new Float32Array(3), dims: [1, 3] } }), /unknown tensor type 'float33'/);
throws(() => relu.run({ x: { type: 'float32', data: new Float32Array(3), dims: [1, -3] } }), /bad dimension/);
throws(() => relu.run(5), /feeds must be an object/);

// Model errors: not a model; a node the engine rejects names the node and op.
throws(() => runnx.Session.create(new Uint8Array([1, 2, 3, 4, 5])), /invalid model/);
throws(() => runnx.Session.create(oneNodeModel('NoSuchOp')), /the_node.*NoSuchOp/);
throws(() => runnx.Session.create(oneNodeModel('Relu'), { logLevel: 'loud' }), /logLevel must be/);
throws(() => runnx.Session.create(oneNodeModel('Relu'), { threads: 'many' }), /invalid session options/);

// int64 as BigInt64Array, bool as Uint8Array, float16 as Uint16Array, strings.
const argmax = runnx.Session.create(caseModel('test_argmax_default_axis_example'));
const idx = argmax.run({ data: proto('test_argmax_default_axis_example', 'input_0.pb') }).result;
assert.equal(idx.type, 'int64');
assert.ok(idx.data instanceof BigInt64Array);
const and = runnx.Session.create(caseModel('test_and2d'));
const both = and.run({ x: proto('test_and2d', 'input_0.pb'), y: proto('test_and2d', 'input_1.pb') }).and;
assert.equal(both.type, 'bool');
assert.ok(both.data instanceof Uint8Array);
const half = runnx.Session.create(caseModel('test_cast_FLOAT_to_FLOAT16'));
const h = half.run({ input: proto('test_cast_FLOAT_to_FLOAT16', 'input_0.pb') }).output;
assert.equal(h.type, 'float16');
assert.ok(h.data instanceof Uint16Array);
const strName = 'test_strnormalizer_export_monday_casesensintive_upper';
const upper = runnx.Session.create(caseModel(strName));
const words = upper.run({ x: { type: 'string', data: ['monday', 'tuesday', 'x', 'y'], dims: [4] } }).y;
assert.equal(words.type, 'string');
assert.deepEqual(words.data, ['TUESDAY', 'X', 'Y']);
assert.deepEqual(proto(strName, 'output_0.pb').type, 'string');

// MatMul + Add + activation: fused into the GEMM's epilogue (the simd128 kernel's
// store and activation code), against a float64 reference. Sizes leave edge tiles.
const acts = {
  Relu: [[], (v) => Math.max(v, 0)],
  LeakyRelu: [[floatAttr('alpha', 0.1)], (v) => (v < 0 ? 0.1 * v : v)],
  Sigmoid: [[], (v) => 1 / (1 + Math.exp(-v))],
  HardSigmoid: [[floatAttr('alpha', 0.2), floatAttr('beta', 0.5)], (v) => Math.min(1, Math.max(0, 0.2 * v + 0.5))],
  HardSwish: [[], (v) => v * Math.min(1, Math.max(0, v / 6 + 0.5))],
  Tanh: [[], Math.tanh],
};
const [M, K, N] = [37, 45, 29];
let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 4 - 2;
const a = Float32Array.from({ length: M * K }, rand);
const w = Float32Array.from({ length: K * N }, rand);
const bias = Float32Array.from({ length: N }, rand);
for (const [op, [attrs, f]] of Object.entries(acts)) {
  const m = runnx.Session.create(
    model([
      ...node(['x', 'w'], 'm', 'mm', 'MatMul'),
      ...node(['m', 'b'], 's', 'add', 'Add'),
      ...node(['s'], 'y', 'act', op, attrs),
      ...initializer('w', [K, N], w),
      ...initializer('b', [N], bias),
      ...field(11, valueInfo('x', 1, [M, K])),
      ...field(12, valueInfo('y', 1, [M, N])),
    ]),
  );
  const got = m.run({ x: { type: 'float32', data: a, dims: [M, K] } }).y.data;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = bias[j];
      for (let p = 0; p < K; p++) acc += a[i * K + p] * w[p * N + j];
      const want = f(acc);
      assert.ok(Math.abs(got[i * N + j] - want) <= 1e-4 * (1 + Math.abs(want)), `${op} at ${i},${j}: ${got[i * N + j]} vs ${want}`);
    }
  }
}

// Released sessions refuse to run.
relu.release();
throws(() => relu.run({ x: { type: 'float32', data: new Float32Array(3), dims: [1, 3] } }), /released/);

// A panic becomes an Error with its message (after console.error), and the instance
// then refuses work instead of misbehaving.
const consoleError = console.error;
let logged = '';
console.error = (m) => (logged += m);
throws(() => runnx.testPanic('deliberate'), /panicked.*deliberate/s);
console.error = consoleError;
assert.match(logged, /deliberate/);
throws(() => runnx.Session.create(oneNodeModel('Relu')), /earlier panic/);
console.log('wasm API: ok');
