// runnx-web: onnxruntime-web's API (from runnx-common) over runnx compiled to WebAssembly.
import { type Env, env as commonEnv, registerBackend, setHostVersion } from 'runnx-common';
import { wasmBackend } from './backend.js';
import { type WasmFlags, wasmFlags } from './env.js';

export * from 'runnx-common';
export { type ActiveBuild, type WasmFlags } from './env.js';
export { chooseBuild, type Choice, type ChoiceInput, type RealmKind } from './choose.js';

wasmFlags(); // creates env.wasm with its defaults
/** runnx-common's env, with `env.wasm` typed. */
export const env = commonEnv as Env & { wasm: WasmFlags };

registerBackend('wasm', wasmBackend, 100);
registerBackend('cpu', wasmBackend, 90); // onnxruntime-web also answers 'cpu' with wasm
setHostVersion('web', '0.1.0');
