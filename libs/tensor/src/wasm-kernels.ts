/**
 * Kernels that tfjs-backend-wasm lacks but training needs. UnsortedSegmentSum is the gradient of
 * gather (embedding tables, per-document keys); without it any tape through a trainable gather throws
 * on wasm. It runs in JS over the wasm heap: gather gradients are small next to the matmuls.
 */
import * as tf from '@tensorflow/tfjs-core';

interface WasmBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues): tf.TensorInfo;
}

let registered = false;

export function registerMissingWasmKernels(): void {
  if (registered) return;
  registered = true;
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
