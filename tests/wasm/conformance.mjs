// The ONNX backend node cases through the WebAssembly build, in Node 20, through the
// `web` glue and initSync (the glue pages and workers load). Inputs and expected
// outputs are decoded by the module's valueFromProto; outputs are compared here in
// JavaScript with the native runner's rule (tests/conformance: numpy's allclose with
// rtol 1e-3, atol 1e-7, NaN equal to NaN; exact for integers, bool and strings).
//
//   node tests/wasm/conformance.mjs [--data DIR] [--build simd|threads]
//        [--expect FILE] [--write FILE] [--native FILE] [--verbose]
//
// Fails when a case of --expect fails, or when fewer cases pass than the native
// pass list (--native, default tests/conformance/passing-node.txt) minus 1%.
import { readFileSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadRunnx, root } from './load.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const dataDir = opt('--data', path.join(root, '.cache/onnx-data/node'));
const nativeList = opt('--native', path.join(root, 'tests/conformance/passing-node.txt'));
const expectList = opt('--expect', null);
const writeList = opt('--write', null);
const verbose = args.includes('--verbose');
const RTOL = 1e-3;
const ATOL = 1e-7;

const runnx = await loadRunnx(opt('--build', 'simd'));

const readLines = (f) => readFileSync(f, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

function numbered(dir, prefix) {
  const files = [];
  for (let i = 0; existsSync(path.join(dir, `${prefix}${i}.pb`)); i++) files.push(path.join(dir, `${prefix}${i}.pb`));
  return files;
}

// float16 / bfloat16 bits to numbers.
function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
const bf16View = new Float32Array(1);
const bf16Bits = new Uint32Array(bf16View.buffer);
function bf16ToFloat(h) {
  bf16Bits[0] = h << 16;
  return bf16View[0];
}

function numbers(t) {
  if (t.type === 'float16') return Array.from(t.data, halfToFloat);
  if (t.type === 'bfloat16') return Array.from(t.data, bf16ToFloat);
  return t.data;
}

function compareTensors(e, a) {
  if (a.type !== e.type) return `type ${a.type}, expected ${e.type}`;
  if (a.dims.length !== e.dims.length || a.dims.some((d, i) => d !== e.dims[i])) {
    return `shape [${a.dims}], expected [${e.dims}]`;
  }
  if (a.data.length !== e.data.length) return `${a.data.length} elements, expected ${e.data.length}`;
  const float = ['float32', 'float64', 'float16', 'bfloat16'].includes(e.type);
  const ev = numbers(e);
  const av = numbers(a);
  let bad = 0;
  let worst = -1;
  let worstErr = -1;
  for (let i = 0; i < ev.length; i++) {
    const x = ev[i];
    const y = av[i];
    let ok;
    if (!float) ok = x === y;
    else ok = (Number.isNaN(x) && Number.isNaN(y)) || x === y || Math.abs(x - y) <= ATOL + RTOL * Math.abs(x);
    if (!ok) {
      bad++;
      const err = float && !Number.isNaN(x) && !Number.isNaN(y) ? Math.abs(x - y) : Infinity;
      if (err > worstErr) [worst, worstErr] = [i, err];
    }
  }
  return bad ? `${bad} of ${ev.length} elements differ; worst at ${worst}: ${av[worst]}, expected ${ev[worst]}` : null;
}

// Values: tensors { type, data, dims }, sequences (arrays), empty optionals (null).
function compare(e, a) {
  if (e === null || a === null) return e === a ? null : `got ${a === null ? 'empty optional' : 'a value'}, expected ${e === null ? 'empty optional' : 'a value'}`;
  if (Array.isArray(e) || Array.isArray(a)) {
    if (!Array.isArray(e) || !Array.isArray(a)) return 'got a sequence where a tensor was expected, or the reverse';
    if (e.length !== a.length) return `sequence of ${a.length} items, expected ${e.length}`;
    for (let i = 0; i < e.length; i++) {
      const m = compare(e[i], a[i]);
      if (m) return `item ${i}: ${m}`;
    }
    return null;
  }
  return compareTensors(e, a);
}

// What kind of proto a value file holds, from the declared type.
const kindOf = (meta) => (meta.kind === 'sequence' || meta.kind === 'optional' ? meta.kind : 'tensor');

function runCase(dir) {
  let session;
  try {
    session = runnx.Session.create(readFileSync(path.join(dir, 'model.onnx')), { logLevel: 'warning' });
  } catch (e) {
    return `load: ${e.message}`;
  }
  try {
    const inputs = session.inputMetadata;
    const outputs = session.outputMetadata;
    const sets = readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
    for (const [k, set] of sets.entries()) {
      const inFiles = numbered(path.join(dir, set), 'input_');
      const outFiles = numbered(path.join(dir, set), 'output_');
      if (inFiles.length > inputs.length) return `${inFiles.length} input files for ${inputs.length} graph inputs`;
      const feeds = {};
      try {
        inFiles.forEach((f, i) => {
          feeds[inputs[i].name] = runnx.valueFromProto(readFileSync(f), kindOf(inputs[i]));
        });
      } catch (e) {
        return `read inputs: ${e.message}`;
      }
      let got;
      try {
        got = session.run(feeds);
      } catch (e) {
        return `run: ${e.message}`;
      }
      if (outFiles.length !== outputs.length) return `${outputs.length} outputs, expected ${outFiles.length}`;
      for (const [i, f] of outFiles.entries()) {
        let expected;
        try {
          expected = runnx.valueFromProto(readFileSync(f), kindOf(outputs[i]));
        } catch (e) {
          return `read output ${i}: ${e.message}`;
        }
        const m = compare(expected, got[outputs[i].name]);
        if (m) return `data set ${k}, output ${i} '${outputs[i].name}': ${m}`;
      }
    }
    return null;
  } finally {
    session.free();
  }
}

const cases = readdirSync(dataDir).filter((d) => existsSync(path.join(dataDir, d, 'model.onnx'))).sort();
const started = Date.now();
const passed = [];
const failed = new Map();
for (const name of cases) {
  const why = runCase(path.join(dataDir, name));
  if (why === null) passed.push(name);
  else {
    failed.set(name, why);
    if (verbose) console.log(`FAIL ${name}: ${why}`);
  }
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`wasm (${runnx.buildInfo().build}): ${passed.length} of ${cases.length} node cases pass (${seconds} s)`);

let ok = true;
const native = readLines(nativeList);
const nativeFailing = native.filter((n) => failed.has(n));
for (const n of nativeFailing) console.log(`  passes natively, fails in wasm: ${n}: ${failed.get(n)}`);
const floor = Math.ceil(native.length * 0.99);
if (passed.length < floor) {
  console.log(`FAIL: ${passed.length} pass, native passes ${native.length}: at least ${floor} (within 1%) must pass`);
  ok = false;
}
if (expectList) {
  const regressed = readLines(expectList).filter((n) => !passed.includes(n));
  for (const n of regressed) console.log(`FAIL: ${n} is in ${path.relative(root, expectList)} but fails: ${failed.get(n) ?? 'missing'}`);
  if (regressed.length) ok = false;
}
if (writeList) {
  writeFileSync(writeList, passed.join('\n') + '\n');
  console.log(`wrote ${passed.length} names to ${path.relative(root, writeList)}`);
}
process.exit(ok ? 0 : 1);
