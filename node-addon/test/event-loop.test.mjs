// run() works on the libuv pool: timers keep firing while a long inference runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InferenceSession, Tensor } from 'runnx-node';
import { MODELS, randomFloats } from './helpers.mjs';

test('the event loop keeps ticking during a long run', async () => {
  // PP-OCRv4 det on a 960x960 image: close to a second at one thread.
  const session = await InferenceSession.create(MODELS.ocrDet(), { intraOpNumThreads: 1 });
  const x = new Tensor('float32', randomFloats(3 * 960 * 960, 7), [1, 3, 960, 960]);
  const ticks = [];
  const timer = setInterval(() => ticks.push(performance.now()), 5);
  const start = performance.now();
  const outputs = await session.run({ x });
  const end = performance.now();
  clearInterval(timer);
  const during = ticks.filter((t) => t > start && t < end);
  let gap = 0;
  for (let i = 1; i < during.length; i++) gap = Math.max(gap, during[i] - during[i - 1]);
  const ms = end - start;
  assert.deepEqual(outputs[session.outputNames[0]].dims, [1, 1, 960, 960]);
  assert.ok(ms > 150, `the run took only ${ms.toFixed(0)} ms: too short to show anything`);
  // A blocked loop would give no tick at all during the run; allow for a loaded CI machine.
  assert.ok(during.length >= (ms / 5) * 0.25, `${during.length} ticks in ${ms.toFixed(0)} ms`);
  assert.ok(gap < 100, `longest gap between ticks: ${gap.toFixed(0)} ms of a ${ms.toFixed(0)} ms run`);
  await session.release();
});
