// Drives two dedicated workers (worker.mjs), one per engine, on the same model and inputs:
// checks that their outputs agree, then times them in alternating blocks.
import { makeFeeds } from '../feeds.mjs';

function spawn() {
  const w = new Worker(new URL('./worker.mjs', import.meta.url), { type: 'module' });
  const call = (req) =>
    new Promise((ok, fail) => {
      w.onmessage = ({ data }) => (data.ok ? ok(data.result) : fail(new Error(data.error)));
      w.onerror = (e) => fail(new Error(e.message ?? 'worker error'));
      w.postMessage(req);
    });
  return { call, terminate: () => w.terminate() };
}

/** Largest |a - b| relative to the largest |b|, and whether every element is within rtol 1e-3 / atol 1e-4. */
function compare(a, b) {
  let worst = 0;
  let scale = 0;
  let ok = true;
  for (const [name, y] of Object.entries(b)) {
    const x = a[name];
    if (x === undefined || JSON.stringify(x.dims) !== JSON.stringify(y.dims)) return { ok: false, worst: Infinity, why: `output ${name} dims` };
    for (let i = 0; i < y.data.length; i++) {
      const d = Math.abs(Number(x.data[i]) - Number(y.data[i]));
      worst = Math.max(worst, d);
      scale = Math.max(scale, Math.abs(Number(y.data[i])));
      if (!(d <= 1e-4 + 1e-3 * Math.abs(Number(y.data[i])))) ok = false;
    }
  }
  return { ok, worst: scale > 0 ? worst / scale : worst };
}

window.bench = async ({ model, modelName, threads, runs, warmup, blocks }) => {
  const r = spawn();
  const o = spawn();
  try {
    const ri = await r.call({ op: 'init', engine: 'runnx', threads, model });
    const oi = await o.call({ op: 'init', engine: 'ort', threads, model });
    const feeds = makeFeeds(modelName, ri.inputMetadata);
    const check = compare(await r.call({ op: 'run', feeds }), await o.call({ op: 'run', feeds }));
    await r.call({ op: 'time', feeds, n: warmup });
    await o.call({ op: 'time', feeds, n: warmup });
    const tr = [];
    const to = [];
    const block = Math.max(1, Math.ceil(runs / blocks));
    for (let done = 0; done < runs; done += block) {
      const n = Math.min(block, runs - done);
      tr.push(...(await r.call({ op: 'time', feeds, n })));
      to.push(...(await o.call({ op: 'time', feeds, n })));
    }
    return { runnx: tr, ort: to, check, runnxInfo: ri.info, ortInfo: oi.info, isolated: self.crossOriginIsolated };
  } finally {
    r.terminate();
    o.terminate();
  }
};
window.benchReady = true;
