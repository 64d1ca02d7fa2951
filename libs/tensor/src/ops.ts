/**
 * Ops tuned for the backends we run on. tfjs-backend-wasm multiplies untransposed 2-D matrices through
 * XNNPACK (~20+ GFLOP/s here) but falls back to a slow loop for transposed operands (~6x slower) and for
 * batched (rank-3) products with a batch above 1 (~25x slower). tfjs's matMul gradient uses transposed
 * operands, so these helpers transpose explicitly (cheap, memory-bound) and keep every product plain.
 */
import * as tf from '@tensorflow/tfjs-core';

const plainMatMul = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const a = inputs[0] as tf.Tensor2D;
  const b = inputs[1] as tf.Tensor2D;
  const save = inputs[2] as tf.GradSaveFunc;
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as tf.Tensor2D[];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
}) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/** a [m, k] x b [k, n], with a backward pass that avoids transposed matmuls. */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return plainMatMul(a, b);
}

/**
 * Batched a [n, m, k] x b [n, k, p]. On wasm this runs n plain 2-D products (XNNPACK) instead of the batched
 * kernel's slow loop; elsewhere it is tf.matMul.
 */
export function batchMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const n = a.shape[0];
  if (n === 1 || tf.getBackend() !== 'wasm') return tf.matMul(a, b);
  const [, m, k] = a.shape;
  const p = b.shape[2];
  const as = tf.split(a, n, 0);
  const bs = tf.split(b, n, 0);
  const outs = as.map((ai, i) => tf.reshape(matMul2d(tf.reshape(ai, [m, k]), tf.reshape(bs[i], [k, p])), [1, m, p]));
  return tf.concat(outs, 0) as tf.Tensor3D;
}
