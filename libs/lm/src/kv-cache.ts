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

  /**
   * A cache holding given contents: `layers[i]` the keys (transposed, [B, Hkv, headDim, T]) and values
   * ([B, Hkv, T, headDim]) of layer i, `tokens` and `mask` their rows [B][T]. Takes ownership of the tensors.
   */
  static fromLayers(layers: readonly { kT: tf.Tensor4D; v: tf.Tensor4D }[], tokens: TokenRows, mask: TokenRows): KVCache {
    const cache = new KVCache(layers.length);
    layers.forEach((l, i) => {
      cache.kTs[i] = tf.keep(l.kT);
      cache.vs[i] = tf.keep(l.v);
    });
    cache.tokenRows = tokens.map((r) => [...r]);
    cache.maskRows = mask.map((r) => [...r]);
    return cache;
  }

  /** A new cache of the rows `rows` of this one (in that order, repeats allowed); this cache is unchanged. */
  gatherRows(rows: readonly number[]): KVCache {
    const index = tf.tensor1d(rows as number[], 'int32');
    try {
      const layers = this.kTs.map((kT, i) => ({ kT: tf.gather(kT!, index, 0), v: tf.gather(this.vs[i]!, index, 0) }));
      return KVCache.fromLayers(
        layers,
        rows.map((r) => this.tokenRows[r]),
        rows.map((r) => this.maskRows[r]),
      );
    } finally {
      index.dispose();
    }
  }

  /**
   * Row `row`'s keys and values at `positions` (e.g. its real ones, padding skipped), batch 1, per layer: new
   * tensors owned by the caller; this cache is unchanged.
   */
  rowAt(row: number, positions: readonly number[]): { kT: tf.Tensor4D; v: tf.Tensor4D }[] {
    return tf.tidy(() => {
      const index = tf.tensor1d(positions as number[], 'int32');
      return this.kTs.map((kT, i) => {
        const v = this.vs[i]!;
        return {
          kT: tf.gather(tf.slice(kT!, [row, 0, 0, 0], [1, -1, -1, -1]), index, 3),
          v: tf.gather(tf.slice(v, [row, 0, 0, 0], [1, -1, -1, -1]), index, 2),
        };
      }) as unknown as tf.TensorContainer;
    }) as unknown as { kT: tf.Tensor4D; v: tf.Tensor4D }[];
  }

  /** Hands the layers' tensors to the caller (who then owns them) and empties the cache. */
  detach(): { kT: tf.Tensor4D; v: tf.Tensor4D }[] {
    const out = this.kTs.map((kT, i) => ({ kT: kT!, v: this.vs[i]! }));
    this.kTs.fill(undefined);
    this.vs.fill(undefined);
    this.tokenRows = [];
    this.maskRows = [];
    return out;
  }

  dispose(): void {
    for (const t of [...this.kTs, ...this.vs]) t?.dispose();
    this.kTs.fill(undefined);
    this.vs.fill(undefined);
    this.tokenRows = [];
    this.maskRows = [];
  }
}
