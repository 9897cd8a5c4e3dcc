// Loads the native addon (runnx_node.node, built from this folder's Rust crate) and
// describes what it exports.

import { join } from 'node:path';

export interface NativeValueInfo {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: Array<number | string | null>;
}

export interface NativeTensor {
  name: string;
  type: string;
  dims: number[];
  /** The TypedArray's bytes (numeric and bool) or the strings. */
  data: Uint8Array | string[];
}

export interface NativeSession {
  readonly inputs: NativeValueInfo[];
  readonly outputs: NativeValueInfo[];
  readonly threads: number;
  run(feeds: NativeTensor[], fetches: string[]): Promise<NativeTensor[]>;
  release(): void;
}

export interface NativeBinding {
  createSession(source: string | Uint8Array, options: { threads: number; optimize: boolean }): Promise<NativeSession>;
}

/** RUNNX_NODE_BINARY overrides where the addon is loaded from. */
export const BINARY_PATH = process.env.RUNNX_NODE_BINARY ?? join(__dirname, '..', 'runnx_node.node');

function load(): NativeBinding {
  try {
    return require(BINARY_PATH) as NativeBinding;
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new Error(
      `runnx-node: cannot load the native addon ${BINARY_PATH} (${reason}). ` +
        'Build it with `npm run build -w runnx-node` from the repository root.',
    );
  }
}

export const binding: NativeBinding = load();
