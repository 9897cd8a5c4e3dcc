// Times a 512x512x512 f32 MatMul (both operands inputs) and a 1M-element Sigmoid
// through a runnx-wasm build in Node: median of 15 runs after 3 warm-ups.
//   node bench/wasm_matmul.mjs [DIR]   DIR: a build's web glue folder
//                                      (default npm/runnx-web/dist/simd/web)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { root } from '../tests/wasm/load.mjs';
import { field, model, node, valueInfo } from '../tests/wasm/onnx-writer.mjs';

const dir = path.resolve(process.argv[2] ?? path.join(root, 'npm/runnx-web/dist/simd/web'));
const runnx = await import(pathToFileURL(path.join(dir, 'runnx.js')).href);
runnx.initSync({ module: readFileSync(path.join(dir, 'runnx_bg.wasm')) });

function median(f) {
  for (let i = 0; i < 3; i++) f();
  const t = [];
  for (let i = 0; i < 15; i++) {
    const s = performance.now();
    f();
    t.push(performance.now() - s);
  }
  return t.sort((a, b) => a - b)[7];
}
const rand = (n) => Float32Array.from({ length: n }, () => Math.random() - 0.5);

const n = 512;
const mm = runnx.Session.create(
  model([...node(['a', 'b'], 'c', 'mm', 'MatMul'), ...field(11, valueInfo('a', 1, [n, n])), ...field(11, valueInfo('b', 1, [n, n])), ...field(12, valueInfo('c', 1, [n, n]))]),
);
const feeds = { a: { type: 'float32', data: rand(n * n), dims: [n, n] }, b: { type: 'float32', data: rand(n * n), dims: [n, n] } };
const tm = median(() => mm.run(feeds));
const len = 1 << 20;
const sg = runnx.Session.create(model([...node(['x'], 'y', 'sg', 'Sigmoid'), ...field(11, valueInfo('x', 1, [len])), ...field(12, valueInfo('y', 1, [len]))]));
const x = { x: { type: 'float32', data: rand(len), dims: [len] } };
const ts = median(() => sg.run(x));
const info = runnx.buildInfo();
console.log(`${path.relative(root, dir)} (${info.build}, gemm ${info.gemmKernel}): matmul ${n}^3 ${tm.toFixed(1)} ms (${((2 * n ** 3) / tm / 1e6).toFixed(1)} GFLOP/s), sigmoid 1M ${ts.toFixed(2)} ms`);
