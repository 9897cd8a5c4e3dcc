// Process-wide settings, shaped like onnxruntime-common's `env`.

export interface Env {
  /** Log level for messages the hosts print. */
  logLevel?: 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
  debug?: boolean;
  /** Package versions: `common`, and each host that is loaded (`node`, `web`). */
  readonly versions: { readonly common: string; readonly node?: string; readonly web?: string };
  /** Host-specific flags (e.g. `env.wasm` in the browser). */
  [name: string]: unknown;
}

export const VERSION = '0.1.0';

// Shared between the ES-module and CommonJS copies of this package.
const ENV_KEY = Symbol.for('runnx.env');
const g = globalThis as { [ENV_KEY]?: Env };
export const env: Env = (g[ENV_KEY] ??= { logLevel: 'warning', debug: false, versions: { common: VERSION } });

/** For hosts: record the host package's version in `env.versions`. */
export function setHostVersion(host: 'node' | 'web', version: string): void {
  (env.versions as Record<string, string>)[host] = version;
}
