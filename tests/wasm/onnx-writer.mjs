// A tiny ONNX (protobuf) writer for tests and benchmarks: enough for small graphs
// of float32 tensors with initializers and float attributes.
//   model([...node(ins, out, name, op, attrs), ...initializer(name, dims, values),
//          ...field(11, valueInfo(name, elemType, dims)), ...field(12, valueInfo(...))])
// Field numbers are onnx.proto's (GraphProto: node 1, initializer 5, input 11, output 12).
const varint = (n) => {
  const out = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n);
  return out;
};
export const field = (num, bytes) => [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes];
const int = (num, v) => [...varint(num << 3), ...varint(v)];
const str = (num, s) => field(num, [...new TextEncoder().encode(s)]);
const dims = (ds) => ds.map((d) => field(1, typeof d === 'number' ? int(1, d) : str(2, d))).flat();
export const valueInfo = (name, elem, ds) => [...str(1, name), ...field(2, field(1, [...int(1, elem), ...field(2, dims(ds))]))];
export const floatAttr = (name, v) => {
  const b = new Uint8Array(new Float32Array([v]).buffer);
  return field(5, [...str(1, name), 0x15, ...b, ...int(20, 1)]);
};
export const node = (ins, out, name, op, attrs = []) => field(1, [...ins.flatMap((i) => str(1, i)), ...str(2, out), ...str(3, name), ...str(4, op), ...attrs.flat()]);
export const initializer = (name, ds, values) =>
  field(5, [...ds.flatMap((d) => int(1, d)), ...int(2, 1), ...str(8, name), ...field(9, [...new Uint8Array(new Float32Array(values).buffer)])]);
export const model = (graph) => new Uint8Array([...int(1, 8), ...field(8, [...str(1, ''), ...int(2, 17)]), ...field(7, [...graph, ...str(2, 'g')])]);
