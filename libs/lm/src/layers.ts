/**
 * Frozen building blocks. Base weights are plain tensors (never tf.Variables) and every op that touches
 * them is written so that the tape produces gradients for activations only: a training step through the
 * base model then costs one input-gradient matmul per linear layer instead of two.
 */
import { tf } from '@memorize/tensor';

/**
 * y = x W (+ b) with W stored [in, out]. Stored this way because tfjs-wasm's matmul with transposeB
 * is ~6x slower than without; the backward pass needs W^T, which is built on first use and cached.
 */
export class FrozenLinear {
  private wT: tf.Tensor2D | undefined;
  private readonly fn: (x: tf.Tensor2D) => tf.Tensor2D;

  constructor(
    readonly w: tf.Tensor2D,
    readonly b?: tf.Tensor1D,
  ) {
    this.fn = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const x = inputs[0] as tf.Tensor2D;
      const value = tf.fused.matMul({ a: x, b: this.w, bias: this.b }) as tf.Tensor2D;
      // wasm's transposed matMul is several times slower than a plain one, so there a transposed copy of W is
      // worth its memory; elsewhere (tensorflow/webgl) it would double the frozen weights' footprint.
      const gradFunc = (dy: tf.Tensor) =>
        tf.getBackend() === 'wasm' ? tf.matMul(dy as tf.Tensor2D, this.transposed()) : tf.matMul(dy as tf.Tensor2D, this.w, false, true);
      return { value, gradFunc };
    }) as (x: tf.Tensor2D) => tf.Tensor2D;
  }

  get inDim(): number {
    return this.w.shape[0];
  }
  get outDim(): number {
    return this.w.shape[1];
  }

  private transposed(): tf.Tensor2D {
    if (!this.wT) this.wT = tf.keep(tf.transpose(this.w));
    return this.wT;
  }

  /** Applies to [..., in] and returns [..., out]. */
  apply<T extends tf.Tensor>(x: T): T {
    const shape = x.shape;
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const y = this.fn(tf.reshape(x, [rows, this.inDim]));
    return tf.reshape(y, [...shape.slice(0, -1), this.outDim]) as T;
  }

  dispose(): void {
    this.w.dispose();
    this.b?.dispose();
    this.wT?.dispose();
  }
}

export function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, eps: number): T {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), weight) as T;
}

export function layerNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, bias: tf.Tensor1D | undefined, eps: number): T {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), -1, true);
  const normed = tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), weight);
  return (bias ? tf.add(normed, bias) : normed) as T;
}

export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x)) as T;
}

/** Exact (erf) GELU, HF's "gelu". */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)) as T;
}

/** tanh-approximated GELU, HF's "gelu_new" / "gelu_pytorch_tanh". */
export function geluTanh<T extends tf.Tensor>(x: T): T {
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1)) as T;
}

/**
 * A linear layer whose weight and bias are inputs of the tape too: y = x W (+ b) through plain differentiable ops,
 * for full-parameter training (the training view of a model, see trainableWeights). Inference keeps FrozenLinear.
 */
export class TrainableLinear extends FrozenLinear {
  override apply<T extends tf.Tensor>(x: T): T {
    const shape = x.shape;
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const xw = tf.matMul(tf.reshape(x, [rows, this.inDim]) as tf.Tensor2D, this.w);
    const y = this.b ? tf.add(xw, this.b) : xw;
    return tf.reshape(y, [...shape.slice(0, -1), this.outDim]) as T;
  }
}
