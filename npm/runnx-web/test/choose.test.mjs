// The build decision (lib/choose.js) for every kind of realm, without a browser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseBuild } from '../lib/choose.js';

const base = { numThreads: 0, proxy: false, realm: 'window', crossOriginIsolated: true, hardwareConcurrency: 8, workerAvailable: true };

test('automatic on the main thread: SIMD, no worker, no warning', () => {
  assert.deepEqual(chooseBuild(base), { build: 'simd', threads: 1, proxy: false });
});

test('automatic inside a worker of an isolated page: threads, at most 4', () => {
  assert.deepEqual(chooseBuild({ ...base, realm: 'dedicated-worker' }), { build: 'threads', threads: 4, proxy: false });
  // Two cores: half of them is one thread, so no pool at all.
  assert.deepEqual(chooseBuild({ ...base, realm: 'dedicated-worker', hardwareConcurrency: 2 }), { build: 'simd', threads: 1, proxy: false });
});

test('threads asked for on an isolated main thread run in a worker', () => {
  assert.deepEqual(chooseBuild({ ...base, numThreads: 2 }), { build: 'threads', threads: 2, proxy: true });
});

test('threads asked for without isolation: SIMD and a warning that says why', () => {
  const c = chooseBuild({ ...base, numThreads: 2, crossOriginIsolated: false });
  assert.equal(c.build, 'simd');
  assert.equal(c.threads, 1);
  assert.match(c.warning, /not cross-origin isolated/);
});

test('a service worker: no threads, no proxy, each with a warning', () => {
  const sw = { ...base, realm: 'service-worker', workerAvailable: false };
  assert.match(chooseBuild({ ...sw, numThreads: 2 }).warning, /cannot start Web Workers/);
  const p = chooseBuild({ ...sw, proxy: true });
  assert.equal(p.proxy, false);
  assert.match(p.warning, /proxy is ignored/);
});

test('numThreads 1 never warns; invalid values throw', () => {
  assert.deepEqual(chooseBuild({ ...base, numThreads: 1, crossOriginIsolated: false }), { build: 'simd', threads: 1, proxy: false });
  assert.throws(() => chooseBuild({ ...base, numThreads: -1 }), RangeError);
  assert.throws(() => chooseBuild({ ...base, numThreads: 1.5 }), RangeError);
});
