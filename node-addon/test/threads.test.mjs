// intraOpNumThreads sets the size of the session's kernel thread pool.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { InferenceSession, Tensor } from 'runnx-node';
import { MODELS, randomFloats } from './helpers.mjs';

const osThreads = () => Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]);

test('intraOpNumThreads: each session owns a pool of that many threads', { skip: process.platform !== 'linux' && 'needs /proc' }, async () => {
  const x = new Tensor('float32', randomFloats(3 * 48 * 192, 1), [1, 3, 48, 192]);
  // Warm up libuv's pool so that only the sessions' pools change the count below.
  const warm = await InferenceSession.create(MODELS.ocrCls(), { intraOpNumThreads: 1 });
  await Promise.all(Array.from({ length: 8 }, () => warm.run({ x })));
  for (const threads of [1, 3]) {
    const before = osThreads();
    const session = await InferenceSession.create(MODELS.ocrCls(), { intraOpNumThreads: threads });
    await session.run({ x });
    assert.equal(osThreads() - before, threads, `threads added by a session with intraOpNumThreads ${threads}`);
  }
});
