/**
 * Kernels that tfjs-backend-wasm lacks but training needs. UnsortedSegmentSum is the gradient of
 * gather (embedding tables, per-document keys); without it any tape through a trainable gather throws
 * on wasm. It runs in JS over the wasm heap: gather gradients are small next to the matmuls.
 */
import * as tf from '@tensorflow/tfjs-core';

interface WasmBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * tfjs-backend-wasm's Slice copies the whole input out of the wasm heap (readSync) for every slice, which
 * makes split/slice O(input) each: splitting a [1024, 768] activation in three cost ~50 ms. This version
 * copies only the selected runs between heap views.
 */
function sliceViaViews(wasm: WasmBackendLike, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = wasm.makeOutput(size, x.dtype);
  const count = size.reduce((a, b) => a * b, 1);
  if (count === 0) return out;
  // Views are taken after makeOutput, which may grow (and so detach) the heap.
  const xs = wasm.typedArrayFromHeap(x);
  const os = wasm.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = new Array<number>(rank);
  let acc = 1;
  for (let i = rank - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= x.shape[i];
  }
  // Merge trailing axes taken whole into one contiguous run.
  let runAxis = rank - 1;
  while (runAxis > 0 && size[runAxis] === x.shape[runAxis]) runAxis--;
  const run = size.slice(runAxis).reduce((a, b) => a * b, 1);
  const outer = size.slice(0, runAxis);
  const idx = new Array<number>(runAxis).fill(0);
  let dst = 0;
  for (;;) {
    let src = begin[runAxis] * strides[runAxis];
    for (let i = 0; i < runAxis; i++) src += (begin[i] + idx[i]) * strides[i];
    for (let i = runAxis + 1; i < rank; i++) src += begin[i] * strides[i];
    os.set(xs.subarray(src, src + run), dst);
    dst += run;
    let k = runAxis - 1;
    while (k >= 0 && ++idx[k] === outer[k]) idx[k--] = 0;
    if (k < 0) break;
  }
  return out;
}

/**
 * Swaps wasm's kernel `name` for `replacement` (view-based, no copy of the whole input), keeping the original
 * for string tensors, which the views cannot hold.
 */
function replaceWasmKernel(name: string, replacement: tf.KernelFunc): void {
  swapWasmKernel(name, (original, args) => {
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    return x.dtype === 'string' ? original(args) : replacement(args);
  });
}

/**
 * Registers `run` as wasm's kernel `name`, handing it the kernel it replaces (to delegate the cases it does not
 * cover). Returns a function that puts the original back. No-op (returns a no-op) when wasm has no such kernel.
 */
export function swapWasmKernel(
  name: string,
  run: (original: tf.KernelFunc, args: Parameters<tf.KernelFunc>[0]) => ReturnType<tf.KernelFunc>,
): () => void {
  const original = tf.getKernel(name, 'wasm');
  if (!original) return () => {};
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...original, kernelFunc: (args) => run(original.kernelFunc, args) });
  return () => {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(original);
  };
}

let registered = false;

export function registerMissingWasmKernels(): void {
  if (registered) return;
  registered = true;
  registerRopeKernel();
  replaceWasmKernel(tf.Slice, (args) => {
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    const { begin, size } = args.attrs as unknown as { begin: number[]; size: number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    return sliceViaViews(args.backend as unknown as WasmBackendLike, x, b, s);
  });
  replaceWasmKernel(tf.SplitV, (args) => {
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((n) => {
      const size = [...x.shape];
      size[ax] = n;
      const out = sliceViaViews(args.backend as unknown as WasmBackendLike, x, [...begin], size);
      begin[ax] += n;
      return out;
    });
  });
  if (tf.getKernel(tf.UnsortedSegmentSum, 'wasm')) return;
  tf.registerKernel({
    kernelName: tf.UnsortedSegmentSum,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as unknown as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const numSegments = (attrs as unknown as { numSegments: number }).numSegments;
      const wasm = backend as unknown as WasmBackendLike;
      const xs = wasm.readSync(x.dataId);
      const ids = wasm.readSync(segmentIds.dataId);
      // segmentIds covers the leading axes of x; each id selects a row of `inner` values.
      const idCount = segmentIds.shape.reduce((a, b) => a * b, 1);
      const inner = idCount === 0 ? 0 : xs.length / idCount;
      const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
      const out = new Float32Array(numSegments * inner);
      for (let i = 0; i < idCount; i++) {
        const seg = ids[i];
        if (seg < 0 || seg >= numSegments) continue;
        const src = i * inner;
        const dst = seg * inner;
        for (let j = 0; j < inner; j++) out[dst + j] += xs[src + j];
      }
      return wasm.makeOutput(outShape, 'float32', undefined, out);
    },
  });
}

/** Name of the fused rotary-embedding kernel (wasm only; see libs/lm rope.ts for the op-based fallback). */
export const ROPE_KERNEL = 'MemorizeRope';

export interface RopeKernelAttrs {
  /** 'interleaved' pairs 2i with 2i+1, 'half' pairs i with i + rotaryDim/2. */
  style: 'interleaved' | 'half';
  rotaryDim: number;
}

/**
 * out = x * cos + partner(x) * sin for x [B, T, H, hd] and tables [B, T, 1, hd], in one pass over heap views.
 * Replaces reshape + reverse + 2 mul + add (the wasm Reverse kernel alone cost ~20 ms per call at
 * [4, 256, 8, 32]).
 */
export function registerRopeKernel(): void {
  if (tf.getKernel(ROPE_KERNEL, 'wasm')) return;
  tf.registerKernel({
    kernelName: ROPE_KERNEL,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, cos, sin } = inputs as unknown as { x: tf.TensorInfo; cos: tf.TensorInfo; sin: tf.TensorInfo };
      const { style, rotaryDim } = attrs as unknown as RopeKernelAttrs;
      const wasm = backend as unknown as WasmBackendLike;
      const out = wasm.makeOutput(x.shape, 'float32');
      const xs = wasm.typedArrayFromHeap(x);
      const cs = wasm.typedArrayFromHeap(cos);
      const ss = wasm.typedArrayFromHeap(sin);
      const os = wasm.typedArrayFromHeap(out);
      const [b, t, h, hd] = x.shape;
      const half = rotaryDim / 2;
      const partner = new Int32Array(hd);
      for (let i = 0; i < hd; i++) partner[i] = i >= rotaryDim ? i : style === 'interleaved' ? i ^ 1 : i < half ? i + half : i - half;
      for (let bt = 0; bt < b * t; bt++) {
        const tab = bt * hd;
        for (let head = 0; head < h; head++) {
          const base = (bt * h + head) * hd;
          for (let i = 0; i < hd; i++) os[base + i] = xs[base + i] * cs[tab + i] + xs[base + partner[i]] * ss[tab + i];
        }
      }
      return out;
    },
  });
}
