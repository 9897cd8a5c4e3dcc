// runnx-web through a bundler: `vite build` of this app, the built output served from
// 127.0.0.1 (tests/browser/server.mjs), the page opened in headless Chromium; the outputs
// it shows must match the native engine's (`runnx run`, target/release) on the same
// input within rtol 1e-3 / atol 1e-4. Usage: node tests/vite-app/test.mjs
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { allClose, MODELS, ROOT, runCli } from '../../node-addon/test/helpers.mjs';
import { serve } from '../browser/server.mjs';
import { INPUT } from './src/input.js';

const APP = join(ROOT, 'tests/vite-app');
const CHROMIUM = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(existsSync);
if (!CHROMIUM) {
  console.error('no chromium found (apt-get install -y chromium, or set CHROMIUM=path)');
  process.exit(1);
}
const vite = join(APP, 'node_modules/vite/bin/vite.js');
if (!existsSync(vite)) {
  console.error('vite is not installed: (cd tests/vite-app && npm ci)');
  process.exit(1);
}

const t0 = Date.now();
execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: APP, stdio: 'inherit' });
const t1 = Date.now();
const expected = runCli(MODELS.tinyBert(), { [INPUT.name]: { type: INPUT.type, dims: INPUT.dims, data: BigInt64Array.from(INPUT.ids, BigInt) } }, 1);

const server = await serve(ROOT);
const origin = `http://127.0.0.1:${server.address().port}`;
const profile = mkdtempSync(join(tmpdir(), 'runnx-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failures = 0;
try {
// The app on the main thread; in runnx-web's proxy worker (a chunk Vite bundled); and
// with the threads build at 2 threads on a cross-origin-isolated page (the proxy worker
// plus one thread-pool worker, chunks Vite bundled too).
const CASES = [
  { name: 'main-thread', prefix: '', query: '', workers: 0, active: { build: 'simd', threads: 1, proxy: false } },
  { name: 'proxy-worker', prefix: '', query: '&proxy', workers: 1, active: { build: 'simd', threads: 1, proxy: true } },
  { name: 'threads', prefix: '/coi', query: '&threads=2', workers: 2, active: { build: 'threads', threads: 2, proxy: true } },
];
for (const c of CASES) {
  const log = [];
  const page = await ctx.newPage();
  // Context-wide, so that the workers' requests count too.
  const fetched = [];
  const onRequest = (r) => fetched.push(new URL(r.url()).pathname.replace(/^\/coi\//, '/'));
  ctx.on('request', onRequest);
  try {
    page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
    await page.goto(`${origin}${c.prefix}/tests/vite-app/dist/index.html?model=${encodeURIComponent(`${c.prefix}/.cache/models/tiny_bert.onnx`)}${c.query}`);
    await page.waitForFunction(() => document.body.dataset.result || document.body.dataset.error, null, { timeout: 20000 });
    const error = await page.evaluate(() => document.body.dataset.error);
    if (error) throw new Error(`the page failed: ${error}`);
    const shown = await page.textContent('#result');
    const got = JSON.parse(await page.evaluate(() => document.body.dataset.result));
    const active = { build: got.active.build, threads: got.active.threads, proxy: got.active.proxy };
    if (JSON.stringify(active) !== JSON.stringify(c.active)) throw new Error(`env.wasm.active ${JSON.stringify(c.active)}, got ${JSON.stringify(active)}`);
    // The wasm (and the worker) came from the bundle's assets, rewritten by Vite, not the package's files.
    const wasm = fetched.filter((p) => p.endsWith('.wasm'));
    if (wasm.length !== 1 || !wasm[0].startsWith('/tests/vite-app/dist/assets/')) throw new Error(`expected one wasm fetched from the bundle's assets, got ${JSON.stringify(wasm)}`);
    const workers = fetched.filter((p) => /^\/tests\/vite-app\/dist\/assets\/(pool-)?worker-[^/]+\.js$/.test(p));
    if (workers.length !== c.workers) throw new Error(`expected ${c.workers} worker script(s) from the bundle's assets, got ${JSON.stringify(workers)}`);
    if (fetched.some((p) => p.startsWith('/npm/'))) throw new Error(`the page fetched package files directly: ${fetched.filter((p) => p.startsWith('/npm/'))}`);
    const names = Object.keys(expected);
    if (names.length === 0) throw new Error('the native engine produced no outputs');
    for (const name of names) {
      const o = got.outputs[name];
      if (!o) throw new Error(`the page shows no output '${name}'`);
      if (JSON.stringify(o.dims) !== JSON.stringify(expected[name].dims)) throw new Error(`${name} dims ${expected[name].dims}, got ${o.dims}`);
      const { ok: close, worst } = allClose(o.data, Array.from(expected[name].data, Number));
      if (!close) throw new Error(`${name} not within rtol 1e-3/atol 1e-4 of native (worst |diff| ${worst})`);
      console.log(`ok   vite-app ${c.name} ${name} [${o.dims}]: worst |diff| ${worst.toExponential(2)}; wasm ${wasm[0].split('/').pop()}, ${workers.length} worker(s)`);
    }
    console.log(`  page shows: ${shown.replaceAll('\n', '\n              ')}`);
  } catch (e) {
    failures++;
    console.log(`FAIL vite-app ${c.name}: ${e.message}\n  page console:\n    ${log.join('\n    ')}`);
  } finally {
    ctx.off('request', onRequest);
    await page.close();
  }
}
} finally {
  await ctx.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`vite-app: ${failures === 0 ? 'passed' : 'FAILED'} (vite build ${((t1 - t0) / 1000).toFixed(1)} s, total ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
process.exit(failures === 0 ? 0 : 1);
