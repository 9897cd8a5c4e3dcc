// The Node example in the repository's README runs as written (from the repository root).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MODELS, ROOT } from './helpers.mjs';

test('the README Node example runs as written', () => {
  MODELS.tinyBert(); // the example's model is in place
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- node-example -->\s*```js\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'README.md has no <!-- node-example --> js block');
  const code = block[1];
  assert.ok(code.trim().split('\n').length <= 5, 'the example is longer than five lines');
  // Next to the repository's node_modules, so that 'runnx-node' resolves as for a user.
  const file = join(ROOT, 'node-addon', 'test', '.readme-example.mjs');
  writeFileSync(file, code);
  try {
    const out = execFileSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8' });
    assert.match(out, /\[ 1, 64 \]/);
  } finally {
    rmSync(file, { force: true });
  }
});
