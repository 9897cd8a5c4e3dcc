// Compiled (not run) by `npm test`: the published types let strict TypeScript code written
// for onnxruntime-node compile against runnx-node.
import { InferenceSession, Tensor, type TypedTensor, env, RunnxError } from 'runnx-node';

export async function classify(path: string, pixels: Float32Array): Promise<number> {
  const session: InferenceSession = await InferenceSession.create(path, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 2,
    graphOptimizationLevel: 'all',
  });
  const input: TypedTensor<'float32'> = new Tensor('float32', pixels, [1, 3, 224, 224]);
  const ids: TypedTensor<'int64'> = new Tensor('int64', [1, 2, 3], [1, 3]);
  const feeds: InferenceSession.FeedsType = { [session.inputNames[0]]: input, ids };
  const meta = session.inputMetadata[0];
  if (meta.isTensor) console.log(meta.type, meta.shape.join('x'));
  try {
    const out = await session.run(feeds, [session.outputNames[0]]);
    const logits = out[session.outputNames[0]].data as Float32Array;
    return logits.indexOf(Math.max(...logits));
  } catch (e) {
    if (e instanceof RunnxError && e.code === 'ERR_RUNNX_INPUT') return -1;
    throw e;
  } finally {
    console.log(env.versions.node);
    await session.release();
  }
}
