// InferenceSession: onnxruntime-common's API over whichever backend the host registered.
// This layer checks arguments and wraps results; the backend loads and runs.

import { resolveBackend, type InferenceSessionHandler, type TensorRecord } from './backend.js';
import { isTensorLike, Tensor } from './tensor.js';

export declare namespace InferenceSession {
  type OnnxValueMapType = { readonly [name: string]: Tensor };
  type NullableOnnxValueMapType = { readonly [name: string]: Tensor | null };
  type FeedsType = OnnxValueMapType;
  type FetchesType = readonly string[] | NullableOnnxValueMapType;
  type ReturnType = OnnxValueMapType;

  interface ExecutionProviderOption {
    readonly name: string;
  }
  type ExecutionProviderConfig = string | ExecutionProviderOption;

  interface SessionOptions {
    /** Backends to try, in order (runnx-node: 'cpu'; runnx-web: 'wasm', 'webgpu'). */
    executionProviders?: readonly ExecutionProviderConfig[];
    /** Threads for the kernels of one run; 0 or absent: one per core. */
    intraOpNumThreads?: number;
    /** Accepted for compatibility; runnx runs the nodes of a graph in order. */
    interOpNumThreads?: number;
    /** 'disabled' turns runnx's graph passes off; every other level turns them all on. */
    graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
    /** Accepted for compatibility; runnx always runs nodes in order. */
    executionMode?: 'sequential' | 'parallel';
    /** Accepted for compatibility; no effect in runnx. */
    enableCpuMemArena?: boolean;
    /** Accepted for compatibility; no effect in runnx. */
    enableMemPattern?: boolean;
    logId?: string;
    logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
    logVerbosityLevel?: number;
    /** Backend-specific settings. */
    extra?: Record<string, unknown>;
  }

  interface RunOptions {
    logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
    logVerbosityLevel?: number;
    tag?: string;
    extra?: Record<string, unknown>;
  }

  interface ValueMetadataBase {
    readonly name: string;
  }
  interface NonTensorValueMetadata extends ValueMetadataBase {
    readonly isTensor: false;
  }
  interface TensorValueMetadata extends ValueMetadataBase {
    readonly isTensor: true;
    /** The element type; absent when the model does not declare it. */
    readonly type: Tensor.Type | undefined;
    /** Fixed sizes as numbers, symbolic ones by name, unknown ones as -1. */
    readonly shape: ReadonlyArray<number | string>;
  }
  type ValueMetadata = NonTensorValueMetadata | TensorValueMetadata;
}

export interface InferenceSession {
  run(feeds: InferenceSession.FeedsType, options?: InferenceSession.RunOptions): Promise<InferenceSession.ReturnType>;
  run(
    feeds: InferenceSession.FeedsType,
    fetches: InferenceSession.FetchesType,
    options?: InferenceSession.RunOptions,
  ): Promise<InferenceSession.ReturnType>;
  release(): Promise<void>;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly InferenceSession.ValueMetadata[];
}

export interface InferenceSessionFactory {
  /** From a file path (Node) or a URL (browser). */
  create(uri: string, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  create(buffer: ArrayBufferLike, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  create(
    buffer: ArrayBufferLike,
    byteOffset: number,
    byteLength?: number,
    options?: InferenceSession.SessionOptions,
  ): Promise<InferenceSession>;
  create(buffer: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
}

type SessionOptions = InferenceSession.SessionOptions;
type RunOptions = InferenceSession.RunOptions;

function optionsArg(v: unknown): SessionOptions {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null) throw new TypeError("'options' must be an object.");
  const options = v as SessionOptions;
  const threads = options.intraOpNumThreads;
  if (threads !== undefined && (!Number.isSafeInteger(threads) || threads < 0)) {
    throw new RangeError(`'intraOpNumThreads' must be a non-negative integer, got ${String(threads)}`);
  }
  return options;
}

function providerNames(options: SessionOptions): string[] {
  const eps = options.executionProviders ?? [];
  if (!Array.isArray(eps)) throw new TypeError("'executionProviders' must be an array.");
  return eps.map((ep) => {
    const name = typeof ep === 'string' ? ep : (ep as { name?: unknown })?.name;
    if (typeof name !== 'string') throw new TypeError(`invalid execution provider: ${JSON.stringify(ep)}`);
    return name;
  });
}

function isArrayBufferLike(v: unknown): v is ArrayBufferLike {
  return v instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer);
}

/** The model source and options from `create`'s overloads. */
function createArgs(arg0: unknown, arg1: unknown, arg2: unknown, arg3: unknown): [string | Uint8Array, SessionOptions] {
  if (typeof arg0 === 'string' || arg0 instanceof Uint8Array) {
    return [arg0, optionsArg(arg1)];
  }
  if (isArrayBufferLike(arg0)) {
    if (typeof arg1 !== 'number') return [new Uint8Array(arg0), optionsArg(arg1)];
    const byteOffset = arg1;
    const byteLength = typeof arg2 === 'number' ? arg2 : arg0.byteLength - byteOffset;
    if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset > arg0.byteLength) {
      throw new RangeError(`'byteOffset' is out of range [0, ${arg0.byteLength}].`);
    }
    if (!Number.isSafeInteger(byteLength) || byteLength < 0 || byteOffset + byteLength > arg0.byteLength) {
      throw new RangeError(`'byteLength' is out of range [0, ${arg0.byteLength - byteOffset}].`);
    }
    return [new Uint8Array(arg0, byteOffset, byteLength), optionsArg(typeof arg2 === 'number' ? arg3 : arg2)];
  }
  throw new TypeError("Unexpected argument[0]: must be 'path' (a string) or 'buffer' (a Uint8Array or ArrayBuffer).");
}

class InferenceSessionImpl implements InferenceSession {
  private constructor(private handler: InferenceSessionHandler | undefined) {}

  static async create(arg0: unknown, arg1?: unknown, arg2?: unknown, arg3?: unknown): Promise<InferenceSession> {
    const [source, options] = createArgs(arg0, arg1, arg2, arg3);
    const { backend } = await resolveBackend(providerNames(options));
    return new InferenceSessionImpl(await backend.createInferenceSessionHandler(source, options));
  }

  private get live(): InferenceSessionHandler {
    if (this.handler === undefined) throw new Error('The session has been released.');
    return this.handler;
  }

  get inputNames(): readonly string[] {
    return this.live.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.live.outputNames;
  }
  get inputMetadata(): readonly InferenceSession.ValueMetadata[] {
    return this.live.inputMetadata;
  }
  get outputMetadata(): readonly InferenceSession.ValueMetadata[] {
    return this.live.outputMetadata;
  }

  run(feeds: InferenceSession.FeedsType, options?: RunOptions): Promise<InferenceSession.ReturnType>;
  run(feeds: InferenceSession.FeedsType, fetches: InferenceSession.FetchesType, options?: RunOptions): Promise<InferenceSession.ReturnType>;
  async run(feeds: unknown, arg1?: unknown, arg2?: unknown): Promise<InferenceSession.ReturnType> {
    const handler = this.live;
    if (typeof feeds !== 'object' || feeds === null || isTensorLike(feeds) || Array.isArray(feeds)) {
      throw new TypeError("'feeds' must be an object that use input names as keys and OnnxValue as corresponding values.");
    }
    const feedMap = feeds as { readonly [name: string]: unknown };
    for (const [name, value] of Object.entries(feedMap)) {
      if (!isTensorLike(value)) throw new TypeError(`feed '${name}' is not a Tensor.`);
    }
    for (const name of handler.inputNames) {
      if (feedMap[name] === undefined) throw new Error(`input '${name}' is missing in 'feeds'.`);
    }
    const [fetches, options] = this.fetchesAndOptions(arg1, arg2);
    const results = await handler.run(feedMap as InferenceSession.FeedsType, fetches, options);
    const out: { [name: string]: Tensor } = {};
    for (const [name, r] of Object.entries(results)) {
      out[name] = r instanceof Tensor ? r : new Tensor(r.type, (r as TensorRecord).data, r.dims);
    }
    return out;
  }

  /** onnxruntime's rules: an array of output names, or an object whose keys are output names, then options. */
  private fetchesAndOptions(arg1: unknown, arg2: unknown): [string[], RunOptions] {
    const outputNames = this.live.outputNames;
    const options = (v: unknown): RunOptions => {
      if (v === undefined) return {};
      if (typeof v !== 'object' || v === null) throw new TypeError("'options' must be an object.");
      return v as RunOptions;
    };
    if (arg1 === undefined) return [[...outputNames], {}];
    if (typeof arg1 !== 'object' || arg1 === null) throw new TypeError("Unexpected argument[1]: must be 'fetches' or 'options'.");
    if (isTensorLike(arg1)) throw new TypeError("'fetches' cannot be a Tensor");
    if (Array.isArray(arg1)) {
      if (arg1.length === 0) throw new TypeError("'fetches' cannot be an empty array.");
      for (const name of arg1) {
        if (typeof name !== 'string') throw new TypeError("'fetches' must be a string array or an object.");
        if (!outputNames.includes(name)) throw new RangeError(`'fetches' contains invalid output name: ${name}.`);
      }
      return [[...arg1] as string[], options(arg2)];
    }
    const keys = Object.keys(arg1).filter((k) => outputNames.includes(k));
    if (keys.length === 0) return [[...outputNames], options(arg1)];
    for (const k of keys) {
      if ((arg1 as Record<string, unknown>)[k] !== null) {
        throw new TypeError(`'fetches.${k}': pre-allocated output tensors are not supported by runnx; pass null.`);
      }
    }
    return [keys, options(arg2)];
  }

  async release(): Promise<void> {
    const handler = this.handler;
    this.handler = undefined;
    await handler?.dispose();
  }
}

export const InferenceSession: InferenceSessionFactory = InferenceSessionImpl;
