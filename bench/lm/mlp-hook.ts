/**
 * The benchmark's memory hook, a residual MLP h + W2 gelu(W1 h + b1) + b2, as a module so ParallelModel's
 * workers can rebuild it (HookSpec) from its parameters.
 */
import { matMul2d, tf } from '@memorize/tensor';
import { gelu, type LayerHook } from '@memorize/lm';

export function createHook(p: Record<string, tf.Tensor>): LayerHook {
  const { w1, b1, w2, b2 } = p;
  const d = w1.shape[0];
  return (h) => {
    const [b, t] = h.shape;
    const x = tf.reshape(h, [b * t, d]) as tf.Tensor2D;
    // matMul2d: plain (untransposed) products in the backward pass too, which wasm runs ~6x faster.
    const mid = gelu(tf.add(matMul2d(x, w1 as tf.Tensor2D), b1)) as tf.Tensor2D;
    return tf.add(h, tf.reshape(tf.add(matMul2d(mid, w2 as tf.Tensor2D), b2), [b, t, d])) as tf.Tensor3D;
  };
}
