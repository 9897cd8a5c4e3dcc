// runnx-web against onnxruntime-web in one headless Chromium, on the same models and
// inputs, at 1 and 2 threads. Both engines run in dedicated module workers of one cross-
// origin isolated page (served from 127.0.0.1 with COOP/COEP by tests/browser/server.mjs):
// the same place for both, where threads need no proxy, and where latency is timed inside
// the worker (no message passing counted). runnx-web: its engine (lib/engine.js), the SIMD
// build at 1 thread, the threads build at n > 1; onnxruntime-web: its wasm backend
// (ort.wasm.min.mjs, one SIMD+threads binary) with env.wasm.numThreads = n. Runs alternate
// between the engines in blocks; outputs are checked to agree (rtol 1e-3, atol 1e-4).
// Writes a markdown table of medians and their ratio (runnx / onnxruntime-web).
//
//   (cd bench/web && npm ci)      # onnxruntime-web; runnx-web and playwright-core come from the root
//   node bench/web/compare_ort_web.mjs [--runs 20] [--warmup 3] [--threads 1,2] [--out bench/results-web.md] MODEL_OR_DIR...
//
// Models outside the repository are served by symlinking them into a temporary folder
// under bench/web/ (removed at the end).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { serve } from '../../tests/browser/server.mjs';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1,2' },
    blocks: { type: 'string', default: '4' },
    out: { type: 'string', default: 'bench/results-web.md' },
  },
});
const runs = Number(opts.runs);
const warmup = Number(opts.warmup);
const blocks = Number(opts.blocks);
const threadCounts = opts.threads.split(',').map(Number);
const models = positionals.flatMap((p) =>
  statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.onnx')).sort().map((f) => join(p, f)) : [p],
);
const CHROMIUM = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(existsSync);
if (models.length === 0 || !CHROMIUM) {
  console.error(CHROMIUM ? 'usage: node bench/web/compare_ort_web.mjs [--runs N] [--warmup N] [--threads 1,2] [--blocks 4] [--out FILE] MODEL_OR_DIR...' : 'no chromium (apt-get install -y chromium, or set CHROMIUM=path)');
  process.exit(2);
}
if (!existsSync(join(ROOT, 'bench/web/node_modules/onnxruntime-web'))) {
  console.error('onnxruntime-web is not installed: (cd bench/web && npm ci)');
  process.exit(2);
}

// Every model gets a URL under the served root: its repository path, or a symlink.
const linkDir = join(ROOT, 'bench/web/.models');
rmSync(linkDir, { recursive: true, force: true });
const modelUrl = (path) => {
  const abs = resolve(path);
  const rel = relative(ROOT, abs);
  if (!rel.startsWith('..')) return `/coi/${rel}`;
  mkdirSync(linkDir, { recursive: true });
  const link = join(linkDir, basename(abs));
  if (!existsSync(link)) symlinkSync(abs, link);
  return `/coi/bench/web/.models/${basename(abs)}`;
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const server = await serve(ROOT);
const origin = `http://127.0.0.1:${server.address().port}`;
const profile = join(os.tmpdir(), `runnx-bench-web-${process.pid}`);
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const loadBefore = os.loadavg()[0];
const rows = [];
let info = {};
let failed = false;
try {
  const page = await ctx.newPage();
  const log = [];
  page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  await page.goto(`${origin}/coi/bench/web/page.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 10000 });
  for (const model of models) {
    for (const threads of threadCounts) {
      let r;
      try {
        r = await page.evaluate((a) => window.bench(a), { model: modelUrl(model), modelName: basename(model), threads, runs, warmup, blocks });
      } catch (e) {
        failed = true;
        console.log(`FAIL ${basename(model)} ${threads} thread(s): ${e.message}\n    ${log.join('\n    ')}`);
        continue;
      }
      if (!r.isolated) throw new Error('the bench page is not cross-origin isolated');
      info = { runnx: r.runnxInfo, ort: r.ortInfo };
      if (!r.check.ok) failed = true;
      const row = { model: basename(model), threads, runnx: median(r.runnx), ort: median(r.ort), ...r.check, build: r.runnxInfo.build };
      rows.push(row);
      console.log(
        `${row.model} ${threads} thread(s): runnx-web ${row.runnx.toFixed(3)} ms (${row.build}), onnxruntime-web ${row.ort.toFixed(3)} ms, ratio ${(row.runnx / row.ort).toFixed(2)}, outputs ${r.check.ok ? 'agree' : 'DIFFER'} (max |diff| / max |output| ${r.check.worst.toExponential(1)})`,
      );
    }
  }
} finally {
  await ctx.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
  rmSync(linkDir, { recursive: true, force: true });
}

const chromiumVersion = (() => {
  try {
    return execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'Chromium';
  }
})();
const loadAfter = os.loadavg()[0];
const fmt = (ms) => (ms < 10 ? ms.toFixed(3) : ms.toFixed(1));
const shown = (p) => (relative(ROOT, resolve(p)).startsWith('..') ? `path/to/models/${basename(p)}` : relative(ROOT, resolve(p)));
const md = [
  '# runnx-web vs onnxruntime-web',
  '',
  `Median latency of one run (ms) over ${runs} runs after ${warmup} warm-up runs, in headless ${chromiumVersion}. Both engines run`,
  'in dedicated module workers of one cross-origin isolated page (COOP/COEP, served from 127.0.0.1), timed inside the worker;',
  `runs alternate between them in ${blocks} blocks, each block after an untimed run. Ratio = runnx / onnxruntime-web (below 1.0: runnx is faster).`,
  'Outputs checked to agree within rtol 1e-3, atol 1e-4.',
  '',
  `runnx-web ${info.runnx?.version ?? ''}: \`lib/engine.js\`, the SIMD build at 1 thread, the threads build (rayon on a Web Worker pool) at 2; gemm kernel ${info.runnx?.gemmKernel ?? '?'}.`,
  `onnxruntime-web ${info.ort?.version ?? ''}: wasm backend (\`ort.wasm.min.mjs\`, its SIMD+threads binary), \`env.wasm.numThreads\` = threads, graphOptimizationLevel 'all'.`,
  '',
  `Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, shared: load average ${loadBefore.toFixed(1)} at the start and ${loadAfter.toFixed(1)} at the end; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
  ...(Math.max(loadBefore, loadAfter) > os.cpus().length
    ? ['', '**The machine was oversubscribed** (load average above its core count): figures are noisy, and the 2-thread ones mostly measure how each engine copes with contention; rerun on a quiet machine for those.']
    : []),
  '',
  `Command: \`node bench/web/compare_ort_web.mjs --runs ${runs} --warmup ${warmup} --threads ${opts.threads} --blocks ${blocks} ${positionals.map(shown).join(' ')}\``,
  '',
  '| model | threads | runnx-web ms | onnxruntime-web ms | ratio | outputs agree (max abs diff / max abs output) |',
  '|---|---:|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.model} | ${r.threads} | ${fmt(r.runnx)} | ${fmt(r.ort)} | ${(r.runnx / r.ort).toFixed(2)} | ${r.ok ? 'yes' : 'NO'} (${r.worst.toExponential(1)}) |`),
  '',
].join('\n');
writeFileSync(opts.out, md);
console.log(`wrote ${opts.out}`);
process.exit(failed ? 1 : 0);
