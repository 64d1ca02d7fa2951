/**
 * Keys and values of the tokens processed so far, per layer, so that each generated token costs one
 * position of compute. Keys are stored transposed ([B, Hkv, headDim, T]) because that is the layout the
 * score matmul consumes without a transpose per step.
 */
import { tf } from '@memorize/tensor';
import type { TokenRows } from './model.js';

export class KVCache {
  private kTs: (tf.Tensor4D | undefined)[];
  private vs: (tf.Tensor4D | undefined)[];
  private tokenRows: number[][] = [];
  private maskRows: number[][] = [];

  constructor(readonly nLayers: number) {
    this.kTs = new Array(nLayers).fill(undefined);
    this.vs = new Array(nLayers).fill(undefined);
  }

  /** Positions held (including padded ones). */
  get length(): number {
    return this.maskRows[0]?.length ?? 0;
  }
  get batchSize(): number {
    return this.maskRows.length;
  }
  get tokens(): TokenRows {
    return this.tokenRows;
  }
  get mask(): TokenRows {
    return this.maskRows;
  }

  layer(i: number): { kT: tf.Tensor4D; v: tf.Tensor4D } | undefined {
    const kT = this.kTs[i];
    const v = this.vs[i];
    return kT && v ? { kT, v } : undefined;
  }

  /**
   * Replaces the contents after a forward pass: kv = [kT0, v0, kT1, v1, ...] covering the old contents plus
   * the chunk (the model concatenates them anyway, so the cache takes its result instead of concatenating
   * twice). Takes ownership of the tensors.
   */
  replace(kv: tf.Tensor4D[], tokens: TokenRows, mask: TokenRows): void {
    for (let i = 0; i < this.nLayers; i++) {
      this.kTs[i]?.dispose();
      this.vs[i]?.dispose();
      this.kTs[i] = tf.keep(kv[2 * i]);
      this.vs[i] = tf.keep(kv[2 * i + 1]);
    }
    if (this.tokenRows.length === 0) {
      this.tokenRows = tokens.map(() => []);
      this.maskRows = tokens.map(() => []);
    }
    tokens.forEach((row, r) => this.tokenRows[r].push(...row));
    mask.forEach((row, r) => this.maskRows[r].push(...row));
  }

  dispose(): void {
    for (const t of [...this.kTs, ...this.vs]) t?.dispose();
    this.kTs.fill(undefined);
    this.vs.fill(undefined);
    this.tokenRows = [];
    this.maskRows = [];
  }
}
