// Every .onnx file of a folder, loaded once at start: name (file name without .onnx) -> session.
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InferenceSession } from 'runnx-node';

export async function loadModels(dir, options) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort();
  if (files.length === 0) throw new Error(`no .onnx model in ${dir}`);
  const models = new Map();
  for (const file of files) {
    const start = performance.now();
    const session = await InferenceSession.create(join(dir, file), options);
    const name = basename(file, '.onnx');
    models.set(name, session);
    console.log(`loaded ${name} in ${(performance.now() - start).toFixed(0)} ms (inputs: ${session.inputNames.join(', ')})`);
  }
  return models;
}
