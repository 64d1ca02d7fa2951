/**
 * The native BLAS addon (libs/tensor/native/blas.c): OpenBLAS sgemm over the wasm backend's heap. Built on first
 * use with the system C compiler against Node's headers and libopenblas (0.2 s; no node-gyp, no download), into
 * native/build/ — or ahead of time with `npm run build:native` (e.g. in an image with a read-only tree). Without a
 * compiler, Node's headers or libopenblas-dev, {@link loadBlas} throws an error saying which is missing, and the
 * backend choice falls back to plain wasm.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BlasAddon {
  /** See blas.c: C_i = op(A_i) op(B_i) (+ bias) for each batch i, operands addressed by float offsets in `heap`; biasOffset -1 = none. */
  sgemmBatched(
    heap: Float32Array,
    batch: number,
    transA: number,
    transB: number,
    m: number,
    n: number,
    k: number,
    aOffset: number,
    aStride: number,
    bOffset: number,
    bStride: number,
    cOffset: number,
    biasOffset: number,
  ): void;
  /** OpenBLAS's thread count (OPENBLAS_NUM_THREADS, default: the cores). */
  threads(): number;
  /** OpenBLAS's build description (version, core, threading). */
  config(): string;
}

const nativeDir = fileURLToPath(new URL('../native/', import.meta.url));
export const blasSource = join(nativeDir, 'blas.c');
export const blasBinary = join(nativeDir, 'build', 'memorize_blas.node');

/** Node's C headers: beside the running node (official builds) or where Debian puts them. */
function nodeIncludeDir(): string {
  const candidates = [join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node'];
  const found = candidates.find((d) => existsSync(join(d, 'node_api.h')));
  if (!found) throw new Error(`Node's headers (node_api.h) are not installed (looked in ${candidates.join(', ')})`);
  return found;
}

/** Compiles the addon (atomically: a temp file renamed into place). Throws saying what is missing. */
export function buildBlas(): string {
  const include = nodeIncludeDir();
  mkdirSync(dirname(blasBinary), { recursive: true });
  const temp = `${blasBinary}.${process.pid}.tmp`;
  const compiler = process.env.CC || 'cc';
  try {
    execFileSync(
      compiler,
      ['-O2', '-shared', '-fPIC', '-DNODE_GYP_MODULE_NAME=memorize_blas', `-I${include}`, blasSource, '-o', temp, '-lopenblas'],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 },
    );
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error(`no C compiler (${compiler}) to build the BLAS addon`, { cause: error });
    const stderr = e.stderr?.toString() ?? '';
    if (/cblas\.h/.test(stderr)) throw new Error('libopenblas-dev is not installed (cblas.h not found)', { cause: error });
    if (/-lopenblas|openblas/.test(stderr)) throw new Error('libopenblas-dev is not installed (cannot link -lopenblas)', { cause: error });
    throw new Error(`building the BLAS addon failed: ${stderr.split('\n').find((l) => l.trim()) ?? e.message}`, { cause: error });
  }
  renameSync(temp, blasBinary);
  return blasBinary;
}

let loaded: BlasAddon | undefined;

/** The addon, built first if it is missing or older than its source. */
export function loadBlas(): BlasAddon {
  if (loaded) return loaded;
  if (process.env.MEMORIZE_NO_NATIVE_BUILD === '1' && !existsSync(blasBinary)) {
    throw new Error('the BLAS addon is not built and MEMORIZE_NO_NATIVE_BUILD=1 forbids building it');
  }
  const stale = !existsSync(blasBinary) || statSync(blasBinary).mtimeMs < statSync(blasSource).mtimeMs;
  if (stale) buildBlas();
  // OpenBLAS's idle threads spin ~2^28 cycles (~0.1 s) before sleeping: CPU burnt after every product, which a
  // server stopping a cancelled call should not spend. 2^22 cycles (~2 ms) keeps back-to-back products fast.
  // Read by OpenBLAS when the addon loads it; a value the user set wins.
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '22';
  loaded = createRequire(import.meta.url)(blasBinary) as BlasAddon;
  return loaded;
}
