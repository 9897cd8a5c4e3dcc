// Shared by the runnx-node tests: repository paths, seeded inputs, .npy files and the
// native CLI (`runnx run`) as the reference.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CACHE = join(ROOT, '.cache');

/** A model that scripts/setup.sh puts in .cache; a clear failure when it is missing. */
export function model(relative) {
  const path = join(CACHE, relative);
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/setup.sh first`);
  return path;
}

export const MODELS = {
  tinyBert: () => model('models/tiny_bert.onnx'),
  ocrCls: () => model('models/ch_ppocr_mobile_v2.0_cls_infer.onnx'),
  ocrDet: () => model('models/ch_PP-OCRv4_det_infer.onnx'),
  squeezenet: () => model('onnx-data/light/light_squeezenet.onnx'),
};

/** mulberry32: a small seeded generator, uniform in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomFloats(n, seed) {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

export function randomIds(n, vocab, seed) {
  const r = rng(seed);
  return BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * vocab)));
}

const NPY_DESCR = { float32: '<f4', int64: '<i8', int32: '<i4', float64: '<f8', uint8: '|u1', bool: '|b1' };

export function writeNpy(path, type, dims, data) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${NPY_DESCR[type]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

export function readNpy(path) {
  const buf = readFileSync(path);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const dims = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const type = Object.keys(NPY_DESCR).find((t) => NPY_DESCR[t] === descr);
  const bytes = buf.subarray(start + headerLen);
  const copy = new Uint8Array(bytes).buffer; // aligned
  const ctor = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array, float64: Float64Array, uint8: Uint8Array, bool: Uint8Array }[type];
  return { type, dims, data: new ctor(copy) };
}

/** Outputs of the native CLI (`runnx run ... --format npy`) for the given feeds. */
export function runCli(modelPath, feeds, threads = 1) {
  const target = resolve(ROOT, process.env.CARGO_TARGET_DIR ?? 'target');
  const cli = join(target, 'release', process.platform === 'win32' ? 'runnx.exe' : 'runnx');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: cargo build --release -p runnx-cli`);
  const dir = mkdtempSync(join(tmpdir(), 'runnx-node-'));
  try {
    const args = ['run', modelPath, '-o', join(dir, 'out'), '--format', 'npy', '--threads', String(threads)];
    for (const [name, t] of Object.entries(feeds)) {
      const file = join(dir, `${name.replace(/[^A-Za-z0-9_]/g, '_')}.npy`);
      writeNpy(file, t.type, t.dims, t.data);
      args.push('--input', `${name}=${file}`);
    }
    const stdout = execFileSync(cli, args, { encoding: 'utf8' });
    // One "name: description" line per output, in graph order.
    const names = stdout.trim().split('\n').map((l) => l.slice(0, l.indexOf(':')));
    return Object.fromEntries(names.map((n, k) => [n, readNpy(join(dir, 'out', `output_${k}.npy`))]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bit-exact equality of two TypedArrays (NaN payloads included). */
export function sameBits(a, b) {
  if (a.length !== b.length || a.constructor !== b.constructor) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return Buffer.compare(x, y) === 0;
}

/** Largest |a-b| and whether every element is within atol + rtol*|b|. */
export function allClose(a, b, rtol = 1e-3, atol = 1e-4) {
  let worst = 0;
  let ok = a.length === b.length;
  for (let i = 0; ok && i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    worst = Math.max(worst, d);
    if (!(d <= atol + rtol * Math.abs(b[i]))) ok = false;
  }
  return { ok, worst };
}
