/**
 * tfjs kernels for the wasm backend that run the matrix products in OpenBLAS (libs/tensor/native/blas.c): MatMul's
 * BatchMatMul and _FusedMatMul (with a bias and no activation — what the frozen linears use). They read and write
 * the wasm heap in place, so the rest of the graph stays on tfjs-wasm and libs/lm and libs/memory do not change;
 * gradients of matMul are matMuls, so the backward pass runs here too. Anything these kernels do not cover (other
 * dtypes, activations, general batch broadcasting, empty operands) goes to the wasm kernel they replaced.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadBlas, type BlasAddon } from './blas.js';
import { swapWasmKernel } from './wasm-kernels.js';

interface WasmTensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}
interface WasmBackend {
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: string): WasmTensorInfo;
  wasm: { HEAPF32: Float32Array };
}
interface KernelArgs {
  inputs: Record<string, WasmTensorInfo | undefined>;
  backend: WasmBackend;
  attrs: { transposeA?: boolean; transposeB?: boolean; activation?: string };
}
type KernelFn = (args: KernelArgs) => WasmTensorInfo;

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The product through BLAS, or undefined when it is a case for the wasm kernel. */
function blasProduct(blas: BlasAddon, args: KernelArgs, bias: WasmTensorInfo | undefined): WasmTensorInfo | undefined {
  const { a, b } = args.inputs;
  if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32' || (bias && bias.dtype !== 'float32')) return undefined;
  const ta = args.attrs.transposeA === true;
  const tb = args.attrs.transposeB === true;
  const [ra, rb] = [a.shape.length, b.shape.length];
  if (ra < 2 || rb < 2) return undefined;
  const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = tb ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb || m === 0 || n === 0 || k === 0) return undefined;
  const batchA = size(a.shape.slice(0, -2));
  const batchB = size(b.shape.slice(0, -2));
  // Same batch dims, or one operand without batch (broadcast by a zero stride); anything else to wasm.
  const outer = batchA >= batchB ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  if (bias && size(bias.shape) !== n) return undefined;
  const backend = args.backend;
  const out = backend.makeOutput([...outer, m, n], 'float32');
  // After makeOutput: an allocation may have grown (and so replaced) the heap.
  const heap = backend.wasm.HEAPF32;
  const at = (t: WasmTensorInfo): number => backend.dataIdMap.get(t.dataId).memoryOffset / 4;
  blas.sgemmBatched(
    heap,
    Math.max(batchA, batchB),
    ta ? 1 : 0,
    tb ? 1 : 0,
    m,
    n,
    k,
    at(a),
    batchA === 1 ? 0 : m * k,
    at(b),
    batchB === 1 ? 0 : k * n,
    at(out),
    bias ? at(bias) : -1,
  );
  return out;
}

let restore: Array<() => void> | undefined;

/**
 * Replaces the wasm backend's BatchMatMul and _FusedMatMul with the BLAS ones (once; the wasm backend must be
 * registered). Throws, changing nothing, when the addon cannot be built or loaded.
 */
export function registerBlasKernels(): BlasAddon {
  const blas = loadBlas();
  if (restore) return blas;
  const swap = (name: string, run: (original: KernelFn, args: KernelArgs) => WasmTensorInfo): (() => void) =>
    swapWasmKernel(name, (original, args) => run(original as unknown as KernelFn, args as unknown as KernelArgs) as unknown as tf.TensorInfo);
  restore = [
    swap(tf.BatchMatMul, (original, args) => blasProduct(blas, args, undefined) ?? original(args)),
    swap(tf._FusedMatMul, (original, args) => {
      const { bias, preluActivationWeights } = args.inputs;
      const linear = (args.attrs.activation ?? 'linear') === 'linear' && !preluActivationWeights;
      return (linear ? blasProduct(blas, args, bias) : undefined) ?? original(args);
    }),
  ];
  return blas;
}

/** Puts wasm's own matrix-product kernels back (plain wasm chosen after wasm-blas in one process). */
export function unregisterBlasKernels(): void {
  for (const put of restore ?? []) put();
  restore = undefined;
}
