/**
 * Rotary position embeddings, both pairings, as rope(x) = x * cos + swap(x) * sinSigned where swap exchanges
 * the two members of each rotated pair (a reshape + reverse, no gather so gradients need no scatter kernel)
 * and the sign of the rotation is folded into the sin table. Tables are computed once per model in float32
 * the way llama2.c's run.c does (powf/cosf on float32 operands).
 */
import { ROPE_KERNEL, tf } from '@memorize/tensor';
import type { RopeStyle } from './config.js';

export interface RopeBatchTables {
  cos: tf.Tensor4D;
  sin: tf.Tensor4D;
  /** -sin, for the backward pass (the inverse rotation). */
  negSin: tf.Tensor4D;
}

export class RopeTables {
  /** [maxSeqLen * headDim] cos per position and dim (1 beyond rotaryDim). */
  readonly cos: Float32Array;
  /** [maxSeqLen * headDim] signed sin (0 beyond rotaryDim). */
  readonly sin: Float32Array;

  constructor(
    readonly headDim: number,
    readonly rotaryDim: number,
    readonly style: RopeStyle,
    readonly theta: number,
    readonly maxSeqLen: number,
  ) {
    const f = Math.fround;
    this.cos = new Float32Array(maxSeqLen * headDim).fill(1);
    this.sin = new Float32Array(maxSeqLen * headDim);
    const half = rotaryDim / 2;
    for (let j = 0; j < half; j++) {
      const freq = f(1 / f(Math.pow(theta, f((2 * j) / rotaryDim))));
      for (let p = 0; p < maxSeqLen; p++) {
        const val = f(p * freq);
        const c = Math.cos(val);
        const s = Math.sin(val);
        const base = p * headDim;
        // lo is the member that receives -x_hi*sin, hi the one that receives +x_lo*sin.
        const [lo, hi] = style === 'interleaved' ? [2 * j, 2 * j + 1] : [j, j + half];
        this.cos[base + lo] = c;
        this.cos[base + hi] = c;
        this.sin[base + lo] = -s;
        this.sin[base + hi] = s;
      }
    }
  }

  /**
   * cos and sin tables for the given positions ([rows][cols] absolute positions), shaped [rows, cols, 1, headDim]
   * to broadcast over heads of [B, T, H, headDim].
   */
  tablesFor(positions: readonly (readonly number[])[]): RopeBatchTables {
    const rows = positions.length;
    const cols = positions[0]?.length ?? 0;
    const hd = this.headDim;
    const cos = new Float32Array(rows * cols * hd);
    const sin = new Float32Array(rows * cols * hd);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const p = Math.min(Math.max(positions[r][c], 0), this.maxSeqLen - 1);
        const dst = (r * cols + c) * hd;
        cos.set(this.cos.subarray(p * hd, p * hd + hd), dst);
        sin.set(this.sin.subarray(p * hd, p * hd + hd), dst);
      }
    }
    return {
      cos: tf.tensor4d(cos, [rows, cols, 1, hd]),
      sin: tf.tensor4d(sin, [rows, cols, 1, hd]),
      negSin: tf.tensor4d(
        sin.map((v) => -v),
        [rows, cols, 1, hd],
      ),
    };
  }

  /** Exchanges the members of each rotated pair of x [B, T, H, headDim]; dims past rotaryDim pass through. */
  private swap(x: tf.Tensor4D): tf.Tensor4D {
    const [b, t, h, hd] = x.shape;
    const rd = this.rotaryDim;
    const rot = rd === hd ? x : tf.slice(x, [0, 0, 0, 0], [b, t, h, rd]);
    const pairs =
      this.style === 'interleaved' ? tf.reverse(tf.reshape(rot, [b, t, h, rd / 2, 2]), 4) : tf.reverse(tf.reshape(rot, [b, t, h, 2, rd / 2]), 3);
    const swapped = tf.reshape(pairs, [b, t, h, rd]) as tf.Tensor4D;
    if (rd === hd) return swapped;
    return tf.concat([swapped, tf.slice(x, [0, 0, 0, rd], [b, t, h, hd - rd])], 3);
  }

  /** Rotates x [B, T, H, headDim] with tables from tablesFor. */
  apply(x: tf.Tensor4D, tables: RopeBatchTables): tf.Tensor4D {
    if (this.rotaryDim === 0) return x;
    if (tf.getBackend() === 'wasm' && tf.getKernel(ROPE_KERNEL, 'wasm')) {
      // One fused pass; rope is orthogonal per pair, so its transpose is the rotation with sin negated.
      const attrs = { style: this.style, rotaryDim: this.rotaryDim };
      const run = (v: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor) =>
        tf.engine().runKernel(ROPE_KERNEL, { x: v, cos, sin }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
      const rotate = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
        // The tables die with the forward pass's scope; save() keeps copies for the backward pass.
        (inputs[1] as tf.GradSaveFunc)([tables.cos, tables.negSin]);
        return {
          value: run(inputs[0] as tf.Tensor, tables.cos, tables.sin),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(dy, saved[0], saved[1]),
        };
      }) as (v: tf.Tensor4D) => tf.Tensor4D;
      return rotate(x);
    }
    return tf.add(tf.mul(x, tables.cos), tf.mul(this.swap(x), tables.sin));
  }
}
