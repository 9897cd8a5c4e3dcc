// Request body -> feeds, checked against the model's metadata. Throws BadRequest (-> 400).
import { Tensor } from 'runnx-node';

export class BadRequest extends Error {}

const MAX_ELEMENTS = 1 << 24;
const INT_RANGE = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], uint64: [0, Number.MAX_SAFE_INTEGER],
};

function checkDims(name, dims, declared) {
  if (!Array.isArray(dims) || dims.length > 8 || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new BadRequest(`inputs.${name}.dims must be an array of at most 8 non-negative integers`);
  }
  if (declared && declared.length !== dims.length) {
    throw new BadRequest(`inputs.${name}.dims has rank ${dims.length}, the model expects [${declared.join(', ')}]`);
  }
  declared?.forEach((d, k) => {
    if (typeof d === 'number' && d >= 0 && d !== dims[k]) {
      throw new BadRequest(`inputs.${name}.dims[${k}] is ${dims[k]}, the model expects ${d}`);
    }
  });
  const size = dims.reduce((a, b) => a * b, 1);
  if (size > MAX_ELEMENTS) throw new BadRequest(`inputs.${name} has ${size} elements, at most ${MAX_ELEMENTS} are accepted`);
  return size;
}

function checkData(name, type, data, size) {
  if (!Array.isArray(data) || data.length !== size) {
    throw new BadRequest(`inputs.${name}.data must be a flat array of ${size} elements (the product of dims)`);
  }
  const bad = (what) => new BadRequest(`inputs.${name}.data must hold ${what}`);
  if (type === 'string') {
    if (!data.every((v) => typeof v === 'string')) throw bad('strings');
    return data;
  }
  if (type === 'bool') {
    if (!data.every((v) => typeof v === 'boolean')) throw bad('booleans');
    return data;
  }
  const range = INT_RANGE[type];
  if (range) {
    if (!data.every((v) => Number.isInteger(v) && v >= range[0] && v <= range[1])) throw bad(`${type} integers`);
    return type.endsWith('64') ? data.map(BigInt) : data;
  }
  if (!data.every((v) => typeof v === 'number' && Number.isFinite(v))) throw bad('finite numbers');
  return data;
}

/** `{ inputs: { NAME: { type?, dims, data } }, outputs?: [NAME] }` -> [feeds, fetches]. */
export function parseInferRequest(body, session) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('the body must be a JSON object');
  const { inputs, outputs } = body;
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    throw new BadRequest(`"inputs" must be an object keyed by input name (${session.inputNames.join(', ')})`);
  }
  for (const name of Object.keys(inputs)) {
    if (!session.inputNames.includes(name)) throw new BadRequest(`unknown input "${name}" (inputs: ${session.inputNames.join(', ')})`);
  }
  const feeds = {};
  for (const meta of session.inputMetadata) {
    const input = inputs[meta.name];
    if (typeof input !== 'object' || input === null) throw new BadRequest(`input "${meta.name}" is missing`);
    const type = input.type ?? meta.type;
    if (meta.type !== undefined && type !== meta.type) throw new BadRequest(`inputs.${meta.name}.type is ${type}, the model expects ${meta.type}`);
    if (typeof type !== 'string') throw new BadRequest(`inputs.${meta.name}.type is required`);
    const size = checkDims(meta.name, input.dims, meta.shape);
    feeds[meta.name] = new Tensor(type, checkData(meta.name, type, input.data, size), input.dims);
  }
  if (outputs !== undefined) {
    if (!Array.isArray(outputs) || outputs.length === 0 || !outputs.every((o) => session.outputNames.includes(o))) {
      throw new BadRequest(`"outputs" must be a non-empty array of output names (${session.outputNames.join(', ')})`);
    }
  }
  return [feeds, outputs];
}

/** A tensor as JSON: int64/uint64 as numbers when safe, strings otherwise. */
export function tensorToJson(t) {
  const data = Array.from(t.data, (v) =>
    typeof v === 'bigint' ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v,
  );
  return { type: t.type, dims: t.dims, data: t.type === 'bool' ? data.map(Boolean) : data };
}
