// ES-module entry: the CommonJS build re-exported, so both entries share one instance.
import runnx from './index.js';

export const {
  InferenceSession,
  Tensor,
  RunnxError,
  env,
  registerBackend,
  registeredBackendNames,
  resolveBackend,
  setHostVersion,
  isTensorLike,
  isTensorType,
  sizeOfDims,
  TYPED_ARRAY_OF,
  VERSION,
} = runnx;
export default runnx;
