/**
 * tfjs backend choice. Every lib imports tfjs through this module (`import { tf } from '@memorize/tensor'`)
 * so that one tfjs-core engine (and one registered backend) serves the whole process.
 *
 * Order when nothing is forced: tfjs-node-gpu -> tfjs-node -> wasm-blas -> wasm -> cpu. MEMORIZE_BACKEND=gpu|node|wasm-blas|wasm|cpu
 * (or `prefer`) forces one and fails loudly if it cannot start, rather than silently running 50x slower.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '@memorize/errors';
import { registerMissingWasmKernels } from './wasm-kernels.js';
import { registerBlasKernels, unregisterBlasKernels } from './blas-kernels.js';
import { enableGradients } from './gradients.js';

export { tf };

/** 'wasm-blas': the wasm backend with its matrix products in OpenBLAS (native addon, libs/tensor/native). */
export type BackendName = 'gpu' | 'node' | 'wasm-blas' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['gpu', 'node', 'wasm-blas', 'wasm', 'cpu'];

export interface BackendChoice {
  /** Our name for the backend that runs. */
  name: BackendName;
  /** tfjs's own backend name ('tensorflow', 'wasm', 'cpu'). */
  tfBackend: string;
  /** Why each backend tried before it (or forced) was not used; empty when the first choice worked. */
  rejected: Partial<Record<BackendName, string>>;
  /** True when MEMORIZE_BACKEND or `prefer` forced the choice. */
  forced: boolean;
}

export interface InitBackendOptions {
  /** Force a backend; defaults to process.env.MEMORIZE_BACKEND. */
  prefer?: BackendName;
  /** Receives one human-readable line per decision. Defaults to stderr. */
  logger?: (line: string) => void;
  /**
   * Register tfjs gradient functions (default true; about a second at first call). Inference-only callers
   * may pass false; enableGradients() can still be called later.
   */
  gradients?: boolean;
}

const require = createRequire(import.meta.url);
let current: Promise<BackendChoice> | undefined;
let currentKey: string | undefined;

function defaultLogger(line: string): void {
  process.stderr.write(`[memorize/tensor] ${line}\n`);
}

export function parseBackendName(value: string | undefined): BackendName | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.trim().toLowerCase();
  if ((BACKEND_ORDER as readonly string[]).includes(v)) return v as BackendName;
  throw new InvalidArgumentError(`MEMORIZE_BACKEND must be one of ${BACKEND_ORDER.join('|')}, got "${value}"`, 'MEMORIZE_BACKEND');
}

/** The folder holding tfjs-backend-wasm's .wasm binaries (Node does not find them by itself). */
export function wasmBinaryDir(): string {
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
}

async function tryNative(pkg: string): Promise<string> {
  // A variable specifier keeps TypeScript from requiring the optional package's types.
  const specifier: string = pkg;
  await import(specifier);
  if (!tf.findBackend('tensorflow')) throw new Error(`${pkg} loaded but registered no 'tensorflow' backend`);
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`tf.setBackend('tensorflow') failed`);
  return 'tensorflow';
}

let wasmPathsSet = false;
async function tryWasm(): Promise<string> {
  if (!wasmPathsSet) {
    setWasmPaths(wasmBinaryDir());
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend('wasm'))) throw new Error(`wasm backend failed to initialise (binaries in ${wasmBinaryDir()})`);
  registerMissingWasmKernels();
  return 'wasm';
}

async function tryCpu(): Promise<string> {
  if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend failed to initialise');
  return 'cpu';
}

let blasFacts = '';
async function tryWasmBlas(): Promise<string> {
  const backend = await tryWasm();
  const blas = registerBlasKernels();
  blasFacts = `OpenBLAS ${blas.threads()} threads, ${blas.config().trim()}`;
  return backend;
}

async function tryPlainWasm(): Promise<string> {
  unregisterBlasKernels();
  return tryWasm();
}

const starters: Record<BackendName, () => Promise<string>> = {
  gpu: () => tryNative('@tensorflow/tfjs-node-gpu'),
  node: () => tryNative('@tensorflow/tfjs-node'),
  'wasm-blas': tryWasmBlas,
  wasm: tryPlainWasm,
  cpu: tryCpu,
};

function describe(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/Cannot find (module|package)/.test(msg)) return 'not installed';
  return msg.split('\n')[0] ?? msg;
}

async function choose(prefer: BackendName | undefined, log: (line: string) => void): Promise<BackendChoice> {
  const rejected: Partial<Record<BackendName, string>> = {};
  const order = prefer ? [prefer] : BACKEND_ORDER;
  for (const name of order) {
    try {
      const tfBackend = await starters[name]();
      await tf.ready();
      const why = Object.entries(rejected)
        .map(([n, r]) => `${n}: ${r}`)
        .join('; ');
      const simd = (): string => `simd ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT')}`;
      const extra = name === 'wasm' ? ` (${simd()})` : name === 'wasm-blas' ? ` (${simd()}; matrix products in ${blasFacts})` : '';
      log(`backend ${name}${extra}${prefer ? ' forced by MEMORIZE_BACKEND' : ''}${why ? ` — not used: ${why}` : ''}`);
      return { name, tfBackend, rejected, forced: prefer !== undefined };
    } catch (err) {
      rejected[name] = describe(err);
    }
  }
  const why = Object.entries(rejected)
    .map(([n, r]) => `${n}: ${r}`)
    .join('; ');
  throw new FailedPreconditionError(`no tfjs backend could start (${why})`, 'MEMORIZE_BACKEND');
}

/**
 * Starts (once per process) the best available backend. Calls after the first return the same choice,
 * unless a different `prefer` is passed, which switches backends.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendChoice> {
  const choice = await startBackend(options);
  if (options.gradients !== false) await enableGradients();
  return choice;
}

function startBackend(options: InitBackendOptions): Promise<BackendChoice> {
  const prefer = options.prefer ?? parseBackendName(process.env.MEMORIZE_BACKEND);
  const key = prefer ?? 'auto';
  if (current && (currentKey === key || (key === 'auto' && currentKey !== undefined))) return current;
  currentKey = key;
  current = choose(prefer, options.logger ?? defaultLogger);
  current.catch(() => {
    current = undefined;
    currentKey = undefined;
  });
  return current;
}
