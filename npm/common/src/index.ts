// runnx's JavaScript API, shared by every host package.
export { Tensor, type TypedTensor, type TensorConstructor, isTensorLike, isTensorType, sizeOfDims, TYPED_ARRAY_OF } from './tensor.js';
export { InferenceSession, type InferenceSessionFactory } from './inference-session.js';
export { env, setHostVersion, VERSION, type Env } from './env.js';
export {
  registerBackend,
  registeredBackendNames,
  resolveBackend,
  type Backend,
  type InferenceSessionHandler,
  type TensorRecord,
} from './backend.js';
