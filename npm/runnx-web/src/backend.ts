// The 'wasm' backend of runnx-common's InferenceSession: picks the build (choose.ts),
// loads it in this realm or in a proxy worker, and converts tensors at the boundary.

import {
  type Backend,
  env,
  type InferenceSession,
  type InferenceSessionHandler,
  isTensorType,
  type Tensor,
  type TensorRecord,
} from 'runnx-common';
import { chooseBuild, currentRealm } from './choose.js';
import { type EngineConfig, type EngineSession, loadEngine, modelBytes, type PlainMetadata, type PlainTensor, type SessionInfo } from './engine.js';
import { type ActiveBuild, setActive, wasmFlags, wasmSourceOf } from './env.js';
import { ProxyWorker } from './proxy-main.js';

/** Sessions are created either here or in the proxy worker. */
type Runner =
  | { kind: 'local'; engine: Awaited<ReturnType<typeof loadEngine>> }
  | { kind: 'proxy'; worker: ProxyWorker };

let runner: Runner | undefined;

async function start(): Promise<Runner> {
  const flags = wasmFlags();
  const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number }; Worker?: unknown };
  const choice = chooseBuild({
    numThreads: flags.numThreads,
    proxy: flags.proxy === true,
    realm: currentRealm(),
    crossOriginIsolated: g.crossOriginIsolated === true,
    hardwareConcurrency: g.navigator?.hardwareConcurrency ?? 1,
    workerAvailable: typeof g.Worker === 'function',
  });
  if (choice.warning !== undefined) console.warn(`runnx-web: ${choice.warning}`);
  const config: EngineConfig = {
    build: choice.build,
    threads: choice.threads,
    wasm: wasmSourceOf(flags, choice.build),
    initTimeout: flags.initTimeout ?? 30000,
  };
  let r: Runner;
  let info;
  if (choice.proxy) {
    // The default is written out as `new Worker(new URL(...), ...)` so that bundlers
    // (Vite, webpack 5) see it, bundle the worker entry and rewrite its URL.
    const worker = new ProxyWorker(flags.workerUrl ?? new Worker(new URL('./workers/worker.js', import.meta.url), { type: 'module' }));
    info = await worker.init(config);
    r = { kind: 'proxy', worker };
  } else {
    const engine = await loadEngine(config);
    info = engine.info;
    r = { kind: 'local', engine };
  }
  const active: ActiveBuild = { ...info, proxy: choice.proxy, ...(choice.warning === undefined ? {} : { warning: choice.warning }) };
  setActive(active);
  if (env.logLevel === 'verbose' || env.logLevel === 'info') {
    console.info(`runnx-web: ${info.build} build, ${info.threads} thread(s)${choice.proxy ? ', in a worker' : ''}, gemm ${info.gemmKernel}`);
  }
  return r;
}

function toPlain(name: string, t: Tensor): PlainTensor {
  const dims = Array.from(t.dims);
  if (t.type === 'string') {
    if (!Array.isArray(t.data)) throw new TypeError(`feed '${name}': a 'string' tensor needs an array of strings`);
    return { type: t.type, dims, data: t.data };
  }
  return { type: t.type, dims, data: t.data as Exclude<PlainTensor['data'], string[]> };
}

function fromPlain(name: string, v: PlainTensor): TensorRecord {
  if (v === null || typeof v !== 'object' || !isTensorType(v.type)) {
    throw new Error(`runnx-web: output '${name}' is not a tensor (sequences and optionals are not supported by InferenceSession)`);
  }
  return { type: v.type, dims: v.dims, data: v.data as Tensor.DataType };
}

function metadata(m: PlainMetadata): InferenceSession.ValueMetadata {
  if (!m.isTensor) return { name: m.name, isTensor: false };
  return {
    name: m.name,
    isTensor: true,
    type: m.type !== undefined && isTensorType(m.type) ? m.type : undefined,
    shape: (m.shape ?? []).map((d) => (d === null ? -1 : d)),
  };
}

class WasmSessionHandler implements InferenceSessionHandler {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly InferenceSession.ValueMetadata[];

  constructor(
    info: SessionInfo,
    private readonly exec: {
      run(feeds: Record<string, PlainTensor>, fetches: string[]): Promise<Record<string, PlainTensor>>;
      release(): Promise<void>;
    },
  ) {
    this.inputNames = Object.freeze([...info.inputNames]);
    this.outputNames = Object.freeze([...info.outputNames]);
    this.inputMetadata = Object.freeze(info.inputMetadata.map(metadata));
    this.outputMetadata = Object.freeze(info.outputMetadata.map(metadata));
  }

  async run(feeds: { readonly [name: string]: Tensor }, fetches: readonly string[]): Promise<{ [name: string]: TensorRecord }> {
    const plain: Record<string, PlainTensor> = {};
    for (const [name, t] of Object.entries(feeds)) plain[name] = toPlain(name, t);
    const outputs = await this.exec.run(plain, [...fetches]);
    const result: { [name: string]: TensorRecord } = {};
    for (const [name, v] of Object.entries(outputs)) result[name] = fromPlain(name, v);
    return result;
  }

  dispose(): Promise<void> {
    return this.exec.release();
  }
}

function localHandler(session: EngineSession): WasmSessionHandler {
  return new WasmSessionHandler(session, {
    run: async (feeds, fetches) => session.run(feeds, fetches),
    release: async () => session.release(),
  });
}

export const wasmBackend: Backend = {
  async init(): Promise<void> {
    runner ??= await start();
  },

  async createInferenceSessionHandler(source, options): Promise<InferenceSessionHandler> {
    runner ??= await start();
    const opts = { optimize: options.graphOptimizationLevel !== 'disabled', logLevel: env.logLevel };
    if (runner.kind === 'local') return localHandler(runner.engine.createSession(await modelBytes(source), opts));
    const worker = runner.worker;
    const { session, info } = await worker.create(source, opts);
    return new WasmSessionHandler(info, {
      run: (feeds, fetches) => worker.run(session, feeds, fetches),
      release: () => worker.release(session),
    });
  },
};
