// The Node backend of runnx-common's InferenceSession: sessions live in the native addon,
// which loads and runs models on the libuv thread pool (the event loop stays free).
//
// Feed data is passed as a byte view of the caller's TypedArray (no copy; do not write
// to a feed's data until its run() settles). Outputs come back as TypedArrays over
// memory the engine produced them in (no copy).

import {
  type Backend,
  type InferenceSession,
  type InferenceSessionHandler,
  type Tensor,
  type TensorRecord,
  isTensorType,
  sizeOfDims,
  TYPED_ARRAY_OF,
} from 'runnx-common';
import { binding, type NativeSession, type NativeTensor, type NativeValueInfo } from './binding';

/** Errors from the engine: `code` is 'ERR_RUNNX_INPUT' for invalid feeds, 'ERR_RUNNX' otherwise. */
export class RunnxError extends Error {
  constructor(
    message: string,
    readonly code: 'ERR_RUNNX_INPUT' | 'ERR_RUNNX',
  ) {
    super(message);
    this.name = 'RunnxError';
  }
}

function fromNativeError(e: unknown): Error {
  if (!(e instanceof Error)) return new RunnxError(String(e), 'ERR_RUNNX');
  const code = (e as { code?: unknown }).code === 'InvalidArg' ? 'ERR_RUNNX_INPUT' : 'ERR_RUNNX';
  return new RunnxError(e.message, code);
}

function metadata(info: NativeValueInfo): InferenceSession.ValueMetadata {
  if (!info.isTensor) return { name: info.name, isTensor: false };
  const type = isTensorType(info.type) ? info.type : undefined;
  const shape = (info.shape ?? []).map((d) => (d === null ? -1 : d));
  return { name: info.name, isTensor: true, type, shape };
}

function toNative(name: string, t: Tensor): NativeTensor {
  const dims = Array.from(t.dims);
  sizeOfDims(dims); // non-negative integers, or a RangeError naming them
  if (t.type === 'string') {
    if (!Array.isArray(t.data)) throw new TypeError(`feed '${name}': a 'string' tensor needs an array of strings`);
    return { name, type: t.type, dims, data: t.data };
  }
  const ctor = TYPED_ARRAY_OF[t.type];
  if (!(t.data instanceof ctor)) {
    throw new TypeError(`feed '${name}': a '${t.type}' tensor needs a ${ctor.name}`);
  }
  const d = t.data;
  return { name, type: t.type, dims, data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) };
}

function fromNative(o: NativeTensor): TensorRecord {
  if (!isTensorType(o.type)) throw new RunnxError(`output '${o.name}' has an unknown type '${o.type}'`, 'ERR_RUNNX');
  if (o.type === 'string' || Array.isArray(o.data)) {
    return { type: o.type, dims: o.dims, data: o.data as string[] };
  }
  const ctor = TYPED_ARRAY_OF[o.type];
  const bytes = o.data;
  const data = new ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / ctor.BYTES_PER_ELEMENT) as Tensor.DataType;
  return { type: o.type, dims: o.dims, data };
}

class NodeSessionHandler implements InferenceSessionHandler {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly InferenceSession.ValueMetadata[];

  constructor(private readonly native: NativeSession) {
    const inputs = native.inputs;
    const outputs = native.outputs;
    this.inputNames = Object.freeze(inputs.map((i) => i.name));
    this.outputNames = Object.freeze(outputs.map((o) => o.name));
    this.inputMetadata = Object.freeze(inputs.map(metadata));
    this.outputMetadata = Object.freeze(outputs.map(metadata));
  }

  /** Intra-op threads of this session (runnx extension, not in onnxruntime). */
  get threads(): number {
    return this.native.threads;
  }

  async run(
    feeds: { readonly [name: string]: Tensor },
    fetches: readonly string[],
  ): Promise<{ [name: string]: TensorRecord }> {
    const native = Object.entries(feeds).map(([name, t]) => toNative(name, t));
    let outputs: NativeTensor[];
    try {
      outputs = await this.native.run(native, [...fetches]);
    } catch (e) {
      throw fromNativeError(e);
    }
    const result: { [name: string]: TensorRecord } = {};
    for (const o of outputs) result[o.name] = fromNative(o);
    return result;
  }

  async dispose(): Promise<void> {
    this.native.release();
  }
}

const MAX_THREADS = 1024;

export const nodeBackend: Backend = {
  async init(): Promise<void> {},

  async createInferenceSessionHandler(
    source: string | Uint8Array,
    options: InferenceSession.SessionOptions,
  ): Promise<InferenceSessionHandler> {
    const threads = options.intraOpNumThreads ?? 0;
    if (threads > MAX_THREADS) throw new RangeError(`'intraOpNumThreads' is ${threads}; at most ${MAX_THREADS} are supported`);
    const native = {
      threads,
      optimize: options.graphOptimizationLevel !== 'disabled',
    };
    try {
      return new NodeSessionHandler(await binding.createSession(source, native));
    } catch (e) {
      throw fromNativeError(e);
    }
  },
};
