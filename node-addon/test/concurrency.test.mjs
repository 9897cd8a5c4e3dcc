// 32 concurrent run() calls on one session, each with its own input, return what the
// same inputs give when run one at a time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InferenceSession, Tensor } from 'runnx-node';
import { MODELS, randomFloats, randomIds, sameBits } from './helpers.mjs';

async function concurrentMatchesSequential(session, makeFeeds) {
  const feeds = Array.from({ length: 32 }, (_, k) => makeFeeds(k));
  const sequential = [];
  for (const f of feeds) sequential.push(await session.run(f));
  const concurrent = await Promise.all(feeds.map((f) => session.run(f)));
  for (let k = 0; k < feeds.length; k++) {
    for (const name of session.outputNames) {
      assert.deepEqual(concurrent[k][name].dims, sequential[k][name].dims);
      assert.ok(sameBits(concurrent[k][name].data, sequential[k][name].data), `call ${k}, output ${name}`);
    }
  }
  // Different inputs gave different outputs: the comparison above is not vacuous.
  const first = session.outputNames[0];
  assert.ok(!sameBits(concurrent[0][first].data, concurrent[1][first].data));
}

for (const threads of [1, 2]) {
  test(`32 concurrent runs of a transformer (${threads} thread(s))`, async () => {
    const session = await InferenceSession.create(MODELS.tinyBert(), { intraOpNumThreads: threads });
    // Sequence lengths differ between calls too.
    await concurrentMatchesSequential(session, (k) => {
      const seq = 8 + (k % 5) * 4;
      return { input_ids: new Tensor('int64', randomIds(2 * seq, 1000, 100 + k), [2, seq]) };
    });
  });

  test(`32 concurrent runs of a CNN (${threads} thread(s))`, async () => {
    const session = await InferenceSession.create(MODELS.ocrCls(), { intraOpNumThreads: threads });
    await concurrentMatchesSequential(session, (k) => ({
      x: new Tensor('float32', randomFloats(3 * 48 * 192, 200 + k), [1, 3, 48, 192]),
    }));
  });
}
