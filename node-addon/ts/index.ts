// runnx-node: onnxruntime-node's API (from runnx-common) over the native runnx engine.
import { registerBackend, setHostVersion } from 'runnx-common';
import { nodeBackend } from './backend';

export * from 'runnx-common';
export { RunnxError } from './backend';

registerBackend('cpu', nodeBackend, 100);
setHostVersion('node', '0.1.0');
