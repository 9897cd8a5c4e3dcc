import { InferenceSession, Tensor } from 'runnx-node';
for (const threads of [1, 2]) {
const s = await InferenceSession.create('.cache/models/tiny_bert.onnx', { intraOpNumThreads: threads });
const t = new Tensor('int64', new BigInt64Array(16).fill(5n), [1, 16]);
for (let k = 0; k < 500; k++) await s.run({ input_ids: t });
const ts = [];
for (let k = 0; k < 2000; k++) { const a = performance.now(); await s.run({ input_ids: t }); ts.push(performance.now() - a); }
ts.sort((a, b) => a - b);
console.log(threads, 'median', ts[1000].toFixed(3), 'p10', ts[200].toFixed(3));
}
