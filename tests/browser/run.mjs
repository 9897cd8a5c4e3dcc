// Browser tests of runnx-web in headless Chromium (playwright-core driving the system
// chromium): each scenario loads a fresh page, runs a CNN and the transformer, and
// compares the outputs with the native engine (`runnx run`, target/release) within
// rtol 1e-3 / atol 1e-4. Usage: node tests/browser/run.mjs [scenario...]
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { allClose, MODELS, randomFloats, randomIds, ROOT, runCli } from '../../node-addon/test/helpers.mjs';
import { serve } from './server.mjs';

const CHROMIUM = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(existsSync);
if (!CHROMIUM) {
  console.error('no chromium found (apt-get install -y chromium, or set CHROMIUM=path)');
  process.exit(1);
}

const MODEL_CASES = [
  { label: 'ocr-cls CNN', path: MODELS.ocrCls(), url: '.cache/models/ch_ppocr_mobile_v2.0_cls_infer.onnx',
    feeds: { x: { type: 'float32', dims: [1, 3, 48, 192], data: randomFloats(3 * 48 * 192, 1) } } },
  { label: 'tiny BERT', path: MODELS.tinyBert(), url: '.cache/models/tiny_bert.onnx',
    feeds: { input_ids: { type: 'int64', dims: [2, 24], data: randomIds(2 * 24, 1000, 4) } } },
];

// page: harness page path prefix ('' plain, 'coi/' isolated); check: what `active` must say.
const SCENARIOS = {
  'a-simd-main': { prefix: '', wasm: { numThreads: 1, wasmPaths: '/npm/runnx-web/dist/' }, check: (r) => expectActive(r, 'simd', 1, false) && noWarning(r) && feedsKept(r) },
  'b-threads-isolated': { prefix: 'coi/', wasm: { numThreads: 2 }, check: (r) => expectActive(r, 'threads', 2, true) && noWarning(r) },
  'c-proxy-worker': {
    prefix: '', wasm: { numThreads: 1, proxy: true }, viewFeeds: [1],
    check: (r, k) => expectActive(r, 'simd', 1, true) && noWarning(r) && (k === 1 ? feedsKept(r) : feedsMoved(r)),
  },
  'd-service-worker-module': { prefix: '', sw: 'module', check: (r) => expectActive(r, 'simd', 1, false) && noWarning(r) },
  'e-service-worker-classic': { prefix: '', sw: 'classic', check: (r) => expectActive(r, 'simd', 1, false) && noWarning(r) },
  'f-threads-not-isolated': {
    prefix: '', wasm: { numThreads: 2 },
    check: (r) => expectActive(r, 'simd', 1, false) && assert(r.warnings.some((w) => /not cross-origin isolated/.test(w)), 'a console.warn about cross-origin isolation'),
  },
};

// Failures reach the page as rejected promises with clear messages, on the main thread
// and across the proxy worker; a thread-pool worker script that does not load (served
// as 404 under /coi/nopool/) fails session creation instead of hanging.
const ERRORS = {
  'garbage model': /invalid model/,
  'missing feed': /input 'input_ids' is missing in 'feeds'/,
  'wrong type': /input 'input_ids': expected int64/,
  'wrong rank': /input 'input_ids': expected int64\[/,
  'index out of range': /node 'gather_\d+' \(Gather\): index 5000 is out of range/,
};
const ERROR_SCENARIOS = {
  'h-errors-main': { prefix: '', wasm: { numThreads: 1, proxy: false } },
  'i-errors-proxy': { prefix: '', wasm: { numThreads: 1, proxy: true } },
  'j-pool-worker-missing': { prefix: 'coi/nopool/', wasm: { numThreads: 2 } },
};

function assert(ok, what) {
  if (!ok) throw new Error(`expected ${what}`);
  return true;
}
function expectActive(r, build, threads, proxy) {
  const a = r.active ?? {};
  return assert(a.build === build && a.threads === threads && a.proxy === proxy, `env.wasm.active ${build}/${threads} threads/proxy ${proxy}, got ${JSON.stringify(a)}`);
}
// Whole feed buffers move to the proxy worker; reusing such a tensor is a clear error.
function feedsMoved(r) {
  return assert(r.feedBuffers.detached === r.inputNames.length, `every feed buffer transferred, got ${JSON.stringify(r.feedBuffers)}`) &&
    assert(/moved to the proxy worker by an earlier run/.test(r.rerunError ?? ''), `a second run with moved feeds to reject clearly, got ${r.rerunError}`);
}
// Without a worker feeds stay put; with one, views into larger buffers are copied, leaving
// the caller's buffer whole.
function feedsKept(r) {
  return assert(r.feedBuffers.detached === 0 && r.feedBuffers.parentsIntact, `view feeds left in place, got ${JSON.stringify(r.feedBuffers)}`);
}
function noWarning(r) {
  return assert(r.warnings.length === 0, `no warning, got ${JSON.stringify(r.warnings)}`);
}

const wanted = process.argv.slice(2);
const scenarios = Object.entries(SCENARIOS).filter(([name]) => wanted.length === 0 || wanted.some((w) => name.startsWith(w)));

const t0 = Date.now();
const expected = MODEL_CASES.map((m) => runCli(m.path, m.feeds, 1));
const server = await serve(ROOT);
const origin = `http://127.0.0.1:${server.address().port}`;
const profile = mkdtempSync(join(tmpdir(), 'runnx-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failures = 0;
let total = scenarios.length;
try {
  for (const [name, s] of scenarios) {
    const { page, log } = await harnessPage();
    try {
      await page.goto(`${origin}/${s.prefix}tests/browser/pages/harness.html`);
      await page.waitForFunction(() => window.harnessReady === true, null, { timeout: 10000 });
      for (const [k, m] of MODEL_CASES.entries()) {
        const feeds = Object.fromEntries(Object.entries(m.feeds).map(([n, f]) => [n, { ...f, data: Array.from(f.data, Number) }]));
        const args = { wasm: s.wasm, kind: s.sw, model: `/${s.prefix}${m.url}`, feeds, view: s.viewFeeds?.includes(k) ?? false };
        const r = await page.evaluate((a) => (a.kind ? window.runServiceWorker(a) : window.runCase(a)), args);
        s.check(r, k);
        for (const [out, want] of Object.entries(expected[k])) {
          const got = r.outputs[out];
          assert(got !== undefined, `output '${out}'`);
          assert(JSON.stringify(got.dims) === JSON.stringify(want.dims), `${out} dims ${want.dims}, got ${got.dims}`);
          const { ok, worst } = allClose(got.data, Array.from(want.data, Number));
          assert(ok, `${out} within rtol 1e-3/atol 1e-4 of native (worst |diff| ${worst})`);
          console.log(`ok   ${name} ${m.label} ${out}: worst |diff| ${worst.toExponential(2)}; ${r.active.build} ${r.active.threads} thread(s)${r.active.proxy ? ' in a worker' : ''}; ${s.sw ? 'install' : 'create'} ${r.createMs.toFixed(0)} ms, run ${r.runMs.toFixed(0)} ms`);
        }
      }
    } catch (e) {
      failures++;
      console.log(`FAIL ${name}: ${e.message}\n  page console:\n    ${log.join('\n    ')}`);
    } finally {
      await page.close();
    }
  }
  for (const [name, e] of Object.entries(ERROR_SCENARIOS)) {
    if (wanted.length > 0 && !wanted.some((w) => name.startsWith(w))) continue;
    total++;
    if (!(await errorScenario(name, e))) failures++;
  }
  if (wanted.length === 0 || wanted.some((w) => 'g-readme'.startsWith(w))) {
    total++;
    if (!(await readmeExample())) failures++;
  }
} finally {
  await ctx.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`${total - failures}/${total} scenarios passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(failures === 0 ? 0 : 1);

// The README's browser example, as written, in a module script of the isolated page.
async function readmeExample() {
  const block = /<!-- browser-example -->\s*```js\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const page = await ctx.newPage();
  const log = [];
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  try {
    assert(block !== null, 'a <!-- browser-example --> js block in README.md');
    assert(block[1].trim().split('\n').length <= 5, 'the README example to be at most five lines');
    await page.goto(`${origin}/coi/tests/browser/pages/harness.html`);
    const printed = page.waitForEvent('console', { predicate: (m) => m.type() === 'log', timeout: 20000 });
    await page.addScriptTag({ type: 'module', content: block[1] });
    const text = (await printed).text();
    assert(/^threads 2 \[1, 64\]/.test(text), `the example to print "threads 2 [1, 64] ...", got "${text}"`);
    console.log(`ok   g-readme: printed "${text}"`);
    return true;
  } catch (e) {
    console.log(`FAIL g-readme: ${e.message}\n    ${log.join('\n    ')}`);
    return false;
  } finally {
    await page.close();
  }
}

// A new page whose console and errors are collected in `log`.
async function harnessPage() {
  const page = await ctx.newPage();
  const log = [];
  page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  return { page, log };
}

async function errorScenario(name, s) {
  const { page, log } = await harnessPage();
  try {
    await page.goto(`${origin}/${s.prefix}tests/browser/pages/harness.html`);
    await page.waitForFunction(() => window.harnessReady === true, null, { timeout: 10000 });
    const model = `/${s.prefix}.cache/models/tiny_bert.onnx`;
    const r = await page.evaluate((a) => window.runErrors(a).catch((e) => ({ createError: String(e?.message ?? e) })), { wasm: s.wasm, model });
    if (name === 'j-pool-worker-missing') {
      assert(/thread-pool worker \d failed to start/.test(r.createError ?? ''), `session creation to reject naming the pool worker, got ${JSON.stringify(r)}`);
      console.log(`ok   ${name}: ${r.createError}`);
      return true;
    }
    assert(r.createError === undefined, `the model to load, got ${r.createError}`);
    for (const [what, pattern] of Object.entries(ERRORS)) {
      assert(pattern.test(r.messages[what]), `${what}: a rejection matching ${pattern}, got "${r.messages[what]}"`);
      console.log(`ok   ${name} ${what}: ${r.messages[what]}`);
    }
    assert(r.afterwards.length > 0, 'a valid run after the errors');
    console.log(`ok   ${name}: a valid run still works afterwards (${r.active.build}${r.active.proxy ? ' in a worker' : ''})`);
    return true;
  } catch (e) {
    console.log(`FAIL ${name}: ${e.message}\n  page console:\n    ${log.join('\n    ')}`);
    return false;
  } finally {
    await page.close();
  }
}
