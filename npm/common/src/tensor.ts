// Tensor: element type, row-major data and dims, shaped like onnxruntime-common's Tensor
// so code moves over with an import change. Host-free: no DOM, no Node APIs.
//
// Differences from onnxruntime-common (see README.md in this package):
// - data always lives on the CPU (`location` is 'cpu'); no GPU buffer/texture/MLTensor
//   tensors, and no image helpers (fromImage, toDataURL, toImageData);
// - 4-bit types (int4/uint4) are not supported.

/** What a tensor of type T exposes. */
interface TypedTensorBase<T extends Tensor.Type> {
  readonly dims: readonly number[];
  readonly type: T;
  readonly data: Tensor.DataTypeMap[T];
  /** Number of elements (the product of dims). */
  readonly size: number;
  readonly location: Tensor.DataLocation;
  /** The data (already on the CPU: resolves immediately). */
  getData(releaseData?: boolean): Promise<Tensor.DataTypeMap[T]>;
  /** Drops this tensor's reference to its data. */
  dispose(): void;
  /** Same data, new dims (no copy). */
  reshape(dims: readonly number[]): TypedTensor<T>;
}

export declare namespace Tensor {
  interface DataTypeMap {
    float32: Float32Array;
    uint8: Uint8Array;
    int8: Int8Array;
    uint16: Uint16Array;
    int16: Int16Array;
    int32: Int32Array;
    int64: BigInt64Array;
    string: string[];
    bool: Uint8Array;
    /** IEEE half-precision bit patterns. */
    float16: Uint16Array;
    float64: Float64Array;
    uint32: Uint32Array;
    uint64: BigUint64Array;
  }

  interface ElementTypeMap {
    float32: number;
    uint8: number;
    int8: number;
    uint16: number;
    int16: number;
    int32: number;
    int64: bigint;
    string: string;
    bool: boolean;
    float16: number;
    float64: number;
    uint32: number;
    uint64: bigint;
  }

  type Type = keyof DataTypeMap;
  type DataType = DataTypeMap[Type];
  type ElementType = ElementTypeMap[Type];
  type DataLocation = 'none' | 'cpu';
}

export interface TypedTensor<T extends Tensor.Type> extends TypedTensorBase<T> {}
export interface Tensor extends TypedTensorBase<Tensor.Type> {}

type NumericType = Exclude<Tensor.Type, 'string' | 'bool' | 'int64' | 'uint64'>;

export interface TensorConstructor {
  new (type: 'string', data: Tensor.DataTypeMap['string'] | readonly string[], dims?: readonly number[]): TypedTensor<'string'>;
  new (type: 'bool', data: Tensor.DataTypeMap['bool'] | readonly boolean[], dims?: readonly number[]): TypedTensor<'bool'>;
  new (type: 'uint8', data: Uint8ClampedArray, dims?: readonly number[]): TypedTensor<'uint8'>;
  new <T extends 'uint64' | 'int64'>(
    type: T,
    data: Tensor.DataTypeMap[T] | readonly bigint[] | readonly number[],
    dims?: readonly number[],
  ): TypedTensor<T>;
  new <T extends NumericType>(type: T, data: Tensor.DataTypeMap[T] | readonly number[], dims?: readonly number[]): TypedTensor<T>;
  new (data: Float32Array, dims?: readonly number[]): TypedTensor<'float32'>;
  new (data: Int8Array, dims?: readonly number[]): TypedTensor<'int8'>;
  new (data: Uint8Array, dims?: readonly number[]): TypedTensor<'uint8'>;
  new (data: Uint8ClampedArray, dims?: readonly number[]): TypedTensor<'uint8'>;
  new (data: Uint16Array, dims?: readonly number[]): TypedTensor<'uint16'>;
  new (data: Int16Array, dims?: readonly number[]): TypedTensor<'int16'>;
  new (data: Int32Array, dims?: readonly number[]): TypedTensor<'int32'>;
  new (data: BigInt64Array, dims?: readonly number[]): TypedTensor<'int64'>;
  new (data: readonly string[], dims?: readonly number[]): TypedTensor<'string'>;
  new (data: readonly boolean[], dims?: readonly number[]): TypedTensor<'bool'>;
  new (data: Float64Array, dims?: readonly number[]): TypedTensor<'float64'>;
  new (data: Uint32Array, dims?: readonly number[]): TypedTensor<'uint32'>;
  new (data: BigUint64Array, dims?: readonly number[]): TypedTensor<'uint64'>;
  new (
    type: Tensor.Type,
    data: Tensor.DataType | readonly number[] | readonly string[] | readonly bigint[] | readonly boolean[],
    dims?: readonly number[],
  ): Tensor;
  new (data: Tensor.DataType, dims?: readonly number[]): Tensor;
}

type TypedArrayConstructor =
  | Float32ArrayConstructor
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Float64ArrayConstructor
  | Uint32ArrayConstructor
  | BigUint64ArrayConstructor;

/** The TypedArray class that holds each non-string type. */
export const TYPED_ARRAY_OF: { readonly [T in Exclude<Tensor.Type, 'string'>]: TypedArrayConstructor } = {
  float32: Float32Array,
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  bool: Uint8Array,
  float16: Uint16Array,
  float64: Float64Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
};

/** The type a TypedArray implies when no type is given (Uint16Array means uint16). */
const TYPE_OF_ARRAY: ReadonlyArray<[TypedArrayConstructor | Uint8ClampedArrayConstructor, Tensor.Type]> = [
  [Float32Array, 'float32'],
  [Uint8Array, 'uint8'],
  [Uint8ClampedArray, 'uint8'],
  [Int8Array, 'int8'],
  [Uint16Array, 'uint16'],
  [Int16Array, 'int16'],
  [Int32Array, 'int32'],
  [BigInt64Array, 'int64'],
  [Float64Array, 'float64'],
  [Uint32Array, 'uint32'],
  [BigUint64Array, 'uint64'],
];

export function isTensorType(t: unknown): t is Tensor.Type {
  return typeof t === 'string' && (t === 'string' || Object.prototype.hasOwnProperty.call(TYPED_ARRAY_OF, t));
}

/** Dims must be non-negative safe integers; returns their product. */
export function sizeOfDims(dims: readonly unknown[]): number {
  let size = 1;
  for (const d of dims) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(`Tensor dims must be non-negative integers, got [${dims.map(String).join(', ')}]`);
    }
    size *= d;
  }
  if (!Number.isSafeInteger(size)) {
    throw new RangeError(`Tensor dims [${dims.join(', ')}] have too many elements`);
  }
  return size;
}

type AnyData = Tensor.DataType | readonly number[] | readonly string[] | readonly bigint[] | readonly boolean[] | Uint8ClampedArray;

function dataFor(type: Tensor.Type, data: AnyData): Tensor.DataType {
  if (type === 'string') {
    if (!Array.isArray(data) || !data.every((s) => typeof s === 'string')) {
      throw new TypeError("A 'string' tensor needs an array of strings");
    }
    return data.slice() as string[];
  }
  const ctor = TYPED_ARRAY_OF[type];
  if (Array.isArray(data)) {
    if (type === 'bool') {
      return Uint8Array.from(data as readonly unknown[], (b) => (b ? 1 : 0));
    }
    if (type === 'int64' || type === 'uint64') {
      const bigints = (data as readonly unknown[]).map((v) => toBigInt(v, type));
      return type === 'int64' ? BigInt64Array.from(bigints) : BigUint64Array.from(bigints);
    }
    if (!data.every((v) => typeof v === 'number')) {
      throw new TypeError(`A '${type}' tensor needs numbers`);
    }
    return (ctor as Float32ArrayConstructor).from(data as readonly number[]);
  }
  if (type === 'uint8' && data instanceof Uint8ClampedArray) {
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  }
  if (!(data instanceof ctor)) {
    const got = (data as object)?.constructor?.name ?? typeof data;
    throw new TypeError(`A '${type}' tensor needs a ${ctor.name}, got ${got}`);
  }
  return data as Tensor.DataType;
}

function toBigInt(v: unknown, type: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  throw new TypeError(`A '${type}' tensor needs integers or bigints, got ${String(v)}`);
}

function inferType(data: unknown): Tensor.Type {
  if (Array.isArray(data)) {
    if (data.length > 0 && data.every((v) => typeof v === 'string')) return 'string';
    if (data.length > 0 && data.every((v) => typeof v === 'boolean')) return 'bool';
    return 'float32';
  }
  for (const [ctor, type] of TYPE_OF_ARRAY) {
    if (data instanceof ctor) return type;
  }
  throw new TypeError('Tensor data must be a TypedArray or an array of numbers, bigints, booleans or strings');
}

class TensorImpl implements Tensor {
  readonly type: Tensor.Type;
  readonly dims: readonly number[];
  readonly size: number;
  private dataValue: Tensor.DataType | undefined;

  constructor(arg0: Tensor.Type | AnyData, arg1?: AnyData | readonly number[], arg2?: readonly number[]) {
    let type: Tensor.Type;
    let data: AnyData;
    let dims: readonly number[] | undefined;
    if (typeof arg0 === 'string') {
      if (!isTensorType(arg0)) {
        throw new TypeError(`Unsupported tensor type: ${arg0}`);
      }
      if (arg1 === undefined) {
        throw new TypeError('Tensor data is missing');
      }
      type = arg0;
      data = arg1;
      dims = arg2;
    } else {
      type = inferType(arg0);
      data = arg0;
      if (arg1 !== undefined && !Array.isArray(arg1)) {
        throw new TypeError('Tensor dims must be an array');
      }
      dims = arg1 as readonly number[] | undefined;
    }
    const typed = dataFor(type, data);
    const shape = dims === undefined ? [typed.length] : Array.from(dims);
    if (dims !== undefined && !Array.isArray(dims)) {
      throw new TypeError('Tensor dims must be an array');
    }
    const size = sizeOfDims(shape);
    if (size !== typed.length) {
      throw new RangeError(`Tensor's size (${size}, from dims [${shape.join(', ')}]) does not match data length (${typed.length})`);
    }
    this.type = type;
    this.dims = Object.freeze(shape);
    this.size = size;
    this.dataValue = typed;
  }

  get data(): Tensor.DataType {
    if (this.dataValue === undefined) {
      throw new Error('The tensor has been disposed');
    }
    return this.dataValue;
  }

  get location(): Tensor.DataLocation {
    return this.dataValue === undefined ? 'none' : 'cpu';
  }

  async getData(): Promise<Tensor.DataType> {
    return this.data;
  }

  dispose(): void {
    this.dataValue = undefined;
  }

  reshape(dims: readonly number[]): Tensor {
    return new TensorImpl(this.type, this.data, dims);
  }
}

export const Tensor = TensorImpl as TensorConstructor;

/** Whether `v` looks like a tensor (duck-typed, so tensors from another copy of this package pass). */
export function isTensorLike(v: unknown): v is Tensor {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as { type?: unknown; dims?: unknown; data?: unknown };
  return isTensorType(t.type) && Array.isArray(t.dims) && t.data !== undefined;
}
