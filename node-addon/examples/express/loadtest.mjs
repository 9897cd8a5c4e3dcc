// Starts the service on 127.0.0.1 with the given models, checks its answers (valid and
// invalid requests), runs a bounded autocannon load, then checks graceful shutdown.
//   node loadtest.mjs [--duration 20] [--connections 16] [--out RESULTS.md] TINY_BERT.onnx [MORE.onnx...]
// The first model must be the tiny BERT of tests/models/make_transformer.py (the load
// uses it). Exits non-zero on any wrong answer, error or non-2xx response under load.
import autocannon from 'autocannon';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { InferenceSession, Tensor } from 'runnx-node';

const { values: opts, positionals: modelFiles } = parseArgs({
  allowPositionals: true,
  options: { duration: { type: 'string', default: '20' }, connections: { type: 'string', default: '16' }, out: { type: 'string' } },
});
if (modelFiles.length === 0) {
  console.error('usage: node loadtest.mjs [--duration S] [--connections N] [--out FILE] TINY_BERT.onnx [MORE.onnx...]');
  process.exit(2);
}
const duration = Number(opts.duration);
const connections = Number(opts.connections);
const here = dirname(fileURLToPath(import.meta.url));

// The models folder: links to the given files.
const modelsDir = mkdtempSync(join(tmpdir(), 'runnx-express-'));
for (const f of modelFiles) symlinkSync(resolve(f), join(modelsDir, basename(f)));
const bert = basename(modelFiles[0], '.onnx');

function startServer() {
  const child = spawn(process.execPath, [join(here, 'server.mjs')], {
    env: { ...process.env, MODELS_DIR: modelsDir, HOST: '127.0.0.1', PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
  const listening = new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`server did not start in 60 s:\n${out}`)), 60000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      process.stdout.write(`  server: ${chunk}`);
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on('exit', () => fail(new Error(`server exited before listening:\n${out}`)));
  });
  return { child, listening, exited };
}

const post = (base, path, body) =>
  fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

async function rss(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)[1]);
}

const ids = (n, seed) => Array.from({ length: n }, (_, k) => (k * 7919 + seed * 104729) % 1000);
const inferBody = (batch, seq, seed) => ({ inputs: { input_ids: { dims: [batch, seq], data: ids(batch * seq, seed) } }, outputs: ['pooled'] });

/** Valid requests give what runnx-node gives in this process; invalid ones their 4xx. */
async function checkAnswers(base) {
  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 200);
  const local = await InferenceSession.create(modelFiles[0], { intraOpNumThreads: 1 });
  const body = { inputs: { input_ids: { type: 'int64', dims: [2, 12], data: ids(24, 3) } } };
  const res = await post(base, `/v1/models/${bert}/infer`, body);
  assert.equal(res.status, 200);
  const json = await res.json();
  const expected = await local.run({ input_ids: new Tensor('int64', body.inputs.input_ids.data, [2, 12]) });
  for (const name of local.outputNames) {
    assert.deepEqual(json.outputs[name].dims, expected[name].dims);
    // float32 -> JSON number -> float32 is exact.
    assert.deepEqual(Float32Array.from(json.outputs[name].data), expected[name].data, `${name} differs from a direct run`);
  }
  const bad = [
    ['{"inputs": {', 400, /JSON/],
    [{}, 400, /"inputs" must be an object/],
    [{ inputs: { input_ids: { dims: [1, 2], data: [1, 2, 3] } } }, 400, /flat array of 2 elements/],
    [{ inputs: { input_ids: { dims: [4], data: [1, 2, 3, 4] } } }, 400, /rank 1/],
    [{ inputs: { input_ids: { dims: [1, 2], data: [1, 'x'] } } }, 400, /int64 integers/],
    [{ inputs: { input_ids: { type: 'float32', dims: [1, 1], data: [1] } } }, 400, /expects int64/],
    [{ inputs: { input_ids: { dims: [1, 1], data: [1] }, mask: {} } }, 400, /unknown input "mask"/],
    [{ inputs: { input_ids: { dims: [1, 1], data: [1] } }, outputs: ['nope'] }, 400, /"outputs" must be/],
    [{ inputs: { input_ids: { dims: [1, 2], data: [1, 5000] } } }, 422, /index 5000 is out of range/],
  ];
  for (const [b, status, message] of bad) {
    const r = await post(base, `/v1/models/${bert}/infer`, b);
    assert.equal(r.status, status, JSON.stringify(b));
    assert.match((await r.json()).error, message);
  }
  const missing = await post(base, '/v1/models/nope/infer', body);
  assert.equal(missing.status, 404);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  for (const name of ['http_requests_total', 'http_request_duration_seconds_bucket', 'inference_duration_seconds_bucket', 'process_resident_memory_bytes']) {
    assert.ok(metrics.includes(name), `/metrics lacks ${name}`);
  }
  await local.release();
  console.log(`answers: 1 valid request matches a direct run; ${bad.length + 1} invalid requests got their 4xx`);
}

async function load(base) {
  const result = await autocannon({
    url: `${base}/v1/models/${bert}/infer`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(inferBody(1, 16, 1)),
    connections,
    duration,
  });
  return result;
}

/** SIGTERM while inferences run: they all finish with 200, then the process exits 0. */
async function checkShutdown(base, server) {
  const heavy = Array.from({ length: 4 }, (_, k) => post(base, `/v1/models/${bert}/infer`, inferBody(256, 64, k)));
  let seen = 0;
  for (let i = 0; i < 5000 && seen < heavy.length; i++) {
    seen = (await (await fetch(`${base}/healthz`)).json()).inFlight;
  }
  assert.equal(seen, heavy.length, 'the heavy requests never ran together');
  server.child.kill('SIGTERM');
  const responses = await Promise.all(heavy);
  for (const r of responses) {
    assert.equal(r.status, 200);
    assert.deepEqual((await r.json()).outputs.pooled.dims, [256, 64]);
  }
  const { code, signal } = await server.exited;
  assert.equal(code, 0, `server exit: code ${code}, signal ${signal}`);
  await assert.rejects(fetch(`${base}/healthz`), 'the server still accepts connections');
  console.log(`shutdown: SIGTERM with ${seen} inferences in flight; all finished with 200; exit code 0`);
}

const server = startServer();
try {
  const base = await server.listening;
  await checkAnswers(base);
  const loadBefore = os.loadavg()[0];
  const before = await rss(base);
  const r = await load(base);
  const after = await rss(base);
  const mb = (b) => (b / 2 ** 20).toFixed(1);
  const summary = [
    `requests ${r.requests.total} in ${r.duration.toFixed(1)} s, ${connections} connections: ${r.requests.average.toFixed(0)} req/s`,
    `latency p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms (max ${r.latency.max} ms)`,
    `errors ${r.errors}, timeouts ${r.timeouts}, non-2xx ${r.non2xx}`,
    `server RSS before ${mb(before)} MiB, after ${mb(after)} MiB`,
  ];
  console.log(summary.map((l) => `load: ${l}`).join('\n'));
  assert.equal(r.errors, 0, 'connection errors under load');
  assert.equal(r.timeouts, 0, 'timeouts under load');
  assert.equal(r.non2xx, 0, 'non-2xx responses under load');
  assert.ok(r.requests.total > 0);
  await checkShutdown(base, server);
  if (opts.out) {
    const md = [
      '# Express example: bounded load test',
      '',
      `Command: \`node node-addon/examples/express/loadtest.mjs --duration ${duration} --connections ${connections} ${modelFiles.map((f) => `.cache/models/${basename(f)}`).join(' ')}\``,
      '',
      `Request: \`POST /v1/models/${bert}/infer\` with 16 token ids (int64 [1, 16]), \`outputs: ["pooled"]\` (64 floats back).`,
      `Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores shared by autocannon and the server (load average ${loadBefore.toFixed(1)} before the run: other work was running too); Node ${process.version}.`,
      '',
      '| measure | value |',
      '|---|---:|',
      `| requests | ${r.requests.total} in ${r.duration.toFixed(1)} s |`,
      `| throughput | ${r.requests.average.toFixed(0)} req/s |`,
      `| latency p50 | ${r.latency.p50} ms |`,
      `| latency p99 | ${r.latency.p99} ms |`,
      `| errors / timeouts / non-2xx | ${r.errors} / ${r.timeouts} / ${r.non2xx} |`,
      `| server RSS before / after | ${mb(before)} / ${mb(after)} MiB |`,
      '',
    ].join('\n');
    writeFileSync(opts.out, md);
  }
} catch (e) {
  server.child.kill('SIGKILL');
  throw e;
} finally {
  rmSync(modelsDir, { recursive: true, force: true });
}
