// Builds the addon: `cargo build --release --workspace` (the addon with the rest of the
// workspace: a `-p runnx-node` build unifies features differently and would compile the
// engine a second time next to setup.sh's workspace build), copies the library to
// runnx_node.node, then compiles the TypeScript wrapper (ts/ -> lib/).
//   node scripts/build.mjs [--skip-cargo]
// CARGO_TARGET_DIR is honoured (default: the workspace's target/).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const workspace = resolve(here, '..');
const run = (cmd, args, cwd) => {
  try {
    execFileSync(cmd, args, { cwd, stdio: 'inherit' });
  } catch {
    process.exit(1); // the tool printed why
  }
};

if (!process.argv.includes('--skip-cargo')) {
  run('cargo', ['build', '--release', '--workspace'], workspace);
  const target = resolve(workspace, process.env.CARGO_TARGET_DIR ?? 'target', 'release');
  const name = { darwin: 'librunnx_node.dylib', win32: 'runnx_node.dll' }[process.platform] ?? 'librunnx_node.so';
  const lib = join(target, name);
  if (!existsSync(lib)) {
    console.error(`build: ${lib} was not produced`);
    process.exit(1);
  }
  copyFileSync(lib, join(here, 'runnx_node.node'));
}
run(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', join(here, 'tsconfig.json')], here);
