// Tensors as JSON for the Service Worker examples: { type, dims, data: number[] }.
// A plain script with no import/export, so that both a module Service Worker (import
// './json-tensors.js') and a classic one (importScripts) load it; it sets self.runnxJson.
self.runnxJson = {
  /** JSON feeds -> what the glue takes ({ type, dims, data: TypedArray }). */
  decodeFeeds(feeds) {
    const arrays = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array, int8: Int8Array, bool: Uint8Array };
    const out = {};
    for (const [name, f] of Object.entries(feeds)) {
      if (f.type === 'int64') out[name] = { type: f.type, dims: f.dims, data: BigInt64Array.from(f.data, BigInt) };
      else if (f.type === 'string') out[name] = { type: f.type, dims: f.dims, data: f.data.map(String) };
      else if (arrays[f.type]) out[name] = { type: f.type, dims: f.dims, data: arrays[f.type].from(f.data) };
      else throw new Error(`feed '${name}': type '${f.type}' is not supported over JSON`);
    }
    return out;
  },
  /** Glue outputs -> JSON-able values (64-bit integers become numbers). */
  encodeOutputs(outputs) {
    const out = {};
    for (const [name, v] of Object.entries(outputs)) {
      out[name] = { type: v.type, dims: v.dims, data: Array.from(v.data, (x) => (typeof x === 'bigint' ? Number(x) : x)) };
    }
    return out;
  },
  /** POST <scope>infer with { feeds } -> { outputs, build } or { error } (status 400). */
  async answer(request, run, buildInfo) {
    try {
      const { feeds } = await request.json();
      const outputs = await run(self.runnxJson.decodeFeeds(feeds));
      return Response.json({ outputs: self.runnxJson.encodeOutputs(outputs), build: buildInfo() });
    } catch (e) {
      return Response.json({ error: String(e && e.message ? e.message : e) }, { status: 400 });
    }
  },
};
