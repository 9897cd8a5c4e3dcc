// runnx-node against onnxruntime-node, in one process, on the same models and inputs, at
// 1 and 2 threads. Runs alternate between the two engines in blocks (a few runnx runs, a
// few onnxruntime runs, ...) so that load from elsewhere on the machine hits both alike,
// while one engine's idle threads do not spin against the other's runs. Writes a markdown
// table of median latencies and their ratio (runnx / onnxruntime: below 1.0 means runnx
// is faster) and checks that the outputs agree (rtol 1e-3, atol 1e-4).
//
//   cd bench/node && ONNXRUNTIME_NODE_INSTALL=skip npm ci && cd ../..
//   node bench/node/compare_ort_node.mjs [--runs 30] [--warmup 5] [--threads 1,2] [--out bench/results-node.md] MODEL_OR_DIR...
//
// runnx-node comes from the repository's npm workspace (npm ci && npm run build at the root).
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import * as runnx from 'runnx-node';
import { makeFeeds } from '../feeds.mjs';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1,2' },
    out: { type: 'string', default: 'bench/results-node.md' },
  },
});
const runs = Number(opts.runs);
const warmup = Number(opts.warmup);
const threadCounts = opts.threads.split(',').map(Number);
const models = positionals.flatMap((p) =>
  statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.onnx')).sort().map((f) => join(p, f)) : [p],
);
if (models.length === 0) {
  console.error('usage: node bench/node/compare_ort_node.mjs [--runs N] [--warmup N] [--threads 1,2] [--out FILE] MODEL_OR_DIR...');
  process.exit(2);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Largest |runnx - onnxruntime| relative to the largest |onnxruntime| output, and the rtol/atol check. */
function maxDiff(a, b) {
  let worst = 0;
  let scale = 0;
  let ok = true;
  for (const name of Object.keys(b)) {
    const x = a[name].data;
    const y = b[name].data;
    for (let i = 0; i < y.length; i++) {
      const d = Math.abs(Number(x[i]) - Number(y[i]));
      worst = Math.max(worst, d);
      scale = Math.max(scale, Math.abs(Number(y[i])));
      if (!(d <= 1e-4 + 1e-3 * Math.abs(Number(y[i])))) ok = false;
    }
  }
  return { ok, worst: scale > 0 ? worst / scale : worst };
}

async function time(run) {
  const t = performance.now();
  await run();
  return performance.now() - t;
}

const BLOCKS = 4;
const loadBefore = os.loadavg()[0];
const rows = [];
for (const model of models) {
  for (const threads of threadCounts) {
    const r = await runnx.InferenceSession.create(model, { intraOpNumThreads: threads });
    const o = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      executionProviders: ['cpu'],
    });
    const spec = makeFeeds(basename(model), r.inputMetadata);
    const rFeeds = Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, new runnx.Tensor(v.type, v.data, v.dims)]));
    const oFeeds = Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, new ort.Tensor(v.type, v.data, v.dims)]));
    const check = maxDiff(await r.run(rFeeds), await o.run(oFeeds));
    for (let i = 0; i < warmup; i++) {
      await r.run(rFeeds);
      await o.run(oFeeds);
    }
    const tr = [];
    const to = [];
    // Blocks of runs, alternating between the engines; each block starts with an untimed
    // run so that the other engine's idle (spinning) threads have gone quiet.
    const block = Math.max(1, Math.ceil(runs / BLOCKS));
    for (let done = 0; done < runs; done += block) {
      const n = Math.min(block, runs - done);
      await r.run(rFeeds);
      for (let i = 0; i < n; i++) tr.push(await time(() => r.run(rFeeds)));
      await o.run(oFeeds);
      for (let i = 0; i < n; i++) to.push(await time(() => o.run(oFeeds)));
    }
    const row = { model: basename(model), threads, runnx: median(tr), ort: median(to), ...check };
    rows.push(row);
    console.log(
      `${row.model} ${threads} thread(s): runnx ${row.runnx.toFixed(3)} ms, onnxruntime ${row.ort.toFixed(3)} ms, ratio ${(row.runnx / row.ort).toFixed(2)}, outputs ${check.ok ? 'agree' : 'DIFFER'} (max |diff| / max |output| ${check.worst.toExponential(1)})`,
    );
    await r.release();
    await o.release();
  }
}

const fmt = (ms) => (ms < 10 ? ms.toFixed(3) : ms.toFixed(1));
const md = [
  '# runnx-node vs onnxruntime-node',
  '',
  `Median latency of \`session.run()\` (ms) over ${runs} runs after ${warmup} warm-up runs, both engines in one Node process,`,
  `runs alternating between them in ${BLOCKS} blocks each. Ratio = runnx / onnxruntime (below 1.0: runnx is faster).`,
  `Outputs checked to agree within rtol 1e-3, atol 1e-4. onnxruntime-node ${ort.env.versions.node ?? ''}, intraOpNumThreads = threads, interOpNumThreads 1, sequential.`,
  '',
  `Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, shared: load average ${loadBefore.toFixed(1)} at the start and ${os.loadavg()[0].toFixed(1)} at the end; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
  ...(Math.max(loadBefore, os.loadavg()[0]) > os.cpus().length
    ? ['', '**The machine was oversubscribed** (load average above its core count): the 2-thread figures mostly measure how each engine copes with contention, not its speed-up; rerun on a quiet machine for those.']
    : []),
  '',
  `Command: \`node bench/node/compare_ort_node.mjs --runs ${runs} --warmup ${warmup} --threads ${opts.threads} ${positionals.map((p) => (p.includes('shared/models') ? `path/to/models/${basename(p)}` : p)).join(' ')}\``,
  '',
  '| model | threads | runnx-node ms | onnxruntime-node ms | ratio | outputs agree (max abs diff / max abs output) |',
  '|---|---:|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.model} | ${r.threads} | ${fmt(r.runnx)} | ${fmt(r.ort)} | ${(r.runnx / r.ort).toFixed(2)} | ${r.ok ? 'yes' : 'NO'} (${r.worst.toExponential(1)}) |`),
  '',
].join('\n');
writeFileSync(opts.out, md);
console.log(`wrote ${opts.out}`);
