// Benchmark inputs, shared by bench/node and bench/web (plain JS: it runs in Node and in
// the browser). Like tests/models/check_models.py: ids < 1000, masks of ones, token types
// of zeros, images in [0, 1); symbolic dimensions are batch 1 and sequences of 128 (64 for
// the tiny BERT, its limit). Seeded, so both engines and every run see the same inputs.

const symbolSize = (modelName, symbol) => (/seq|sequence/i.test(symbol) ? (modelName.startsWith('tiny_bert') ? 64 : 128) : 1);

function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `{ name: { type, data, dims } }` for a model's input metadata (`{ name, type, shape }`,
 * onnxruntime's form); `modelName` is the file name (it picks the tiny BERT's length).
 */
export function makeFeeds(modelName, metadata) {
  const random = seeded(0);
  const feeds = {};
  for (const m of metadata) {
    const dims = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : symbolSize(modelName, String(d))));
    const n = dims.reduce((a, b) => a * b, 1);
    const name = m.name.toLowerCase();
    const value = () => (name.includes('mask') ? 1 : name.includes('token_type') ? 0 : Math.floor(random() * 1000));
    let data;
    if (m.type === 'int64') data = BigInt64Array.from({ length: n }, () => BigInt(value()));
    else if (m.type === 'int32') data = Int32Array.from({ length: n }, value);
    else if (m.type === 'float32') data = Float32Array.from({ length: n }, () => random());
    else throw new Error(`${modelName}: no input generator for ${m.type} input '${m.name}'`);
    feeds[m.name] = { type: m.type, data, dims };
  }
  return feeds;
}
