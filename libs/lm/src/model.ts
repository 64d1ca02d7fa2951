/**
 * A decoder-only transformer (Llama family or GPT-NeoX) over frozen weights, with a hook point after every
 * block and an optional KV cache. Inputs are token id rows of equal length; padding is described by an
 * attention mask (1 = real token) and may sit on either side.
 */
import { batchMatMul, tf } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';
import type { ModelConfig } from './config.js';
import { FrozenLinear, gelu, geluTanh, layerNorm, rmsNorm, silu } from './layers.js';
import { RopeTables, type RopeBatchTables } from './rope.js';
import { KVCache } from './kv-cache.js';

export interface Norm {
  weight: tf.Tensor1D;
  bias?: tf.Tensor1D;
}

export interface Block {
  attnNorm: Norm;
  /** Fused q|k|v projection [dim, (nHeads + 2 nKvHeads) headDim]; q columns carry the 1/sqrt(headDim) scale. */
  qkv: FrozenLinear;
  out: FrozenLinear;
  mlpNorm: Norm;
  /** Llama: SwiGLU gate (w1). Absent for GPT-NeoX. */
  gate?: FrozenLinear;
  /** Llama: w3; GPT-NeoX: dense_h_to_4h. */
  up: FrozenLinear;
  /** Llama: w2; GPT-NeoX: dense_4h_to_h. */
  down: FrozenLinear;
}

export interface ModelWeights {
  /** [vocab, dim]; looked up with gather outside any gradient path. */
  embed: tf.Tensor2D;
  blocks: Block[];
  finalNorm: Norm;
  /** [dim, vocab]. */
  classifier: FrozenLinear;
}

export type TokenRows = readonly (readonly number[])[];

/** Per-call information handed to hooks; rows line up with the batch. */
export interface HookContext {
  /** The block the hook follows (0-based). */
  layer: number;
  batchSize: number;
  /** Length of the current chunk (the T of h). */
  seqLen: number;
  /** Token ids of the current chunk, [B][T] (padding included, see attentionMask). */
  tokens: TokenRows;
  /** Token ids already in the KV cache before this chunk, [B][past] (empty rows without a cache). */
  pastTokens: TokenRows;
  /** 1 for real cached tokens, 0 for cached padding, [B][past] (aligned with pastTokens). */
  pastAttentionMask: TokenRows;
  /** Absolute position of each token, [B][T]. */
  positions: TokenRows;
  /** 1 for real tokens, 0 for padding, [B][T]. */
  attentionMask: TokenRows;
  /** Caller-supplied per-row document ids (passed through untouched). */
  docIds?: readonly (string | number | undefined)[];
  /**
   * Caller-supplied per-row context tokens (passed through untouched): what a row's prompt is, independent
   * of the continuation being scored or generated, e.g. for a memory whose mask comes from the prompt.
   */
  rowContext?: readonly (readonly number[] | undefined)[];
}

/** Transforms the residual stream after a block; must return a tensor of the same shape. */
export type LayerHook = (h: tf.Tensor3D, ctx: HookContext) => tf.Tensor3D;

export interface ForwardOptions {
  /** layer (0-based block index) -> hook applied to the residual stream right after that block. */
  hooks?: ReadonlyMap<number, LayerHook>;
  /** [B][T], 1 = real token, 0 = padding. Default: all ones. */
  attentionMask?: TokenRows;
  docIds?: readonly (string | number | undefined)[];
  rowContext?: HookContext['rowContext'];
  /** When given, keys/values of this call are appended to it and attention also covers its contents. */
  cache?: KVCache;
  /** With a cache: attend to its contents but leave it as it is (several continuations of one cached prefix). */
  readOnlyCache?: boolean;
  /** Compute the output only at the last position of each row (generation). */
  lastOnly?: boolean;
  /** 'logits' (default): [B, T, vocab]; 'hidden': the final-normed residual stream [B, T, dim]. */
  output?: 'logits' | 'hidden';
}

const MASKED = -1e9;

/**
 * softmax(q kT + mask) v for q [n, g*t, hd], kT [n, hd, tk], v [n, tk, hd] (n = batch x kv heads, g query
 * heads per kv head), with the backward pass written out: five plain batched products and the softmax
 * gradient, instead of the tape's chain through per-head split/concat/reshape gradients.
 */
function attend(q: tf.Tensor3D, kT: tf.Tensor3D, v: tf.Tensor3D, mask: tf.Tensor4D, scoreShape: [number, number, number, number]): tf.Tensor3D {
  const [n, m] = q.shape;
  const tk = kT.shape[2];
  const fn = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qi, kTi, vi] = inputs as tf.Tensor3D[];
    const save = inputs[3] as tf.GradSaveFunc;
    const scores = tf.reshape(batchMatMul(qi, kTi), scoreShape);
    const probs = tf.reshape(tf.softmax(tf.add(scores, mask)), [n, m, tk]) as tf.Tensor3D;
    save([qi, kTi, vi, probs]);
    return {
      value: batchMatMul(probs, vi),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, skT, sv, sp] = saved as tf.Tensor3D[];
        const dCtx = dy as tf.Tensor3D;
        const dProbs = batchMatMul(dCtx, tf.transpose(sv, [0, 2, 1]));
        const dV = batchMatMul(tf.transpose(sp, [0, 2, 1]), dCtx);
        const dScores = tf.mul(sp, tf.sub(dProbs, tf.sum(tf.mul(dProbs, sp), -1, true))) as tf.Tensor3D;
        const dQ = batchMatMul(dScores, tf.transpose(skT, [0, 2, 1]));
        const dKT = batchMatMul(tf.transpose(sq, [0, 2, 1]), dScores);
        return [dQ, dKT, dV];
      },
    };
  }) as (q: tf.Tensor3D, kT: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor3D;
  return fn(q, kT, v);
}

export class TransformerModel {
  readonly rope: RopeTables;
  private current: { weights: ModelWeights; fingerprint: string };

  constructor(
    readonly config: ModelConfig,
    weights: ModelWeights,
    /** sha256 of the canonical config and the loaded weights' bytes, hex. */
    fingerprint: string,
    /** RoPE tables to share (a view of the same model over other weights); computed from the config by default. */
    rope?: RopeTables,
  ) {
    this.current = { weights, fingerprint };
    this.rope = rope ?? new RopeTables(config.headDim, config.rotaryDim, config.ropeStyle, config.ropeTheta, config.maxSeqLen);
  }

  get weights(): ModelWeights {
    return this.current.weights;
  }

  /** sha256 of the canonical config and the weights' bytes, hex (of the weights now held, after any replaceWeights). */
  get fingerprint(): string {
    return this.current.fingerprint;
  }

  /**
   * Swaps in new weights of the same shapes (a full-parameter training step) with their fingerprint, in one
   * assignment: a forward pass sees either the old weights or the new ones. The old tensors are disposed.
   */
  replaceWeights(weights: ModelWeights, fingerprint: string): void {
    const old = this.current.weights;
    this.current = { weights, fingerprint };
    disposeWeights(old);
  }

  newCache(): KVCache {
    return new KVCache(this.config.nLayers);
  }

  private norm<T extends tf.Tensor>(x: T, n: Norm): T {
    return this.config.arch === 'llama' ? rmsNorm(x, n.weight, this.config.normEps) : layerNorm(x, n.weight, n.bias, this.config.normEps);
  }

  private act<T extends tf.Tensor>(x: T): T {
    switch (this.config.hiddenAct) {
      case 'silu':
        return silu(x);
      case 'gelu':
        return gelu(x);
      case 'gelu_tanh':
        return geluTanh(x);
      case 'relu':
        return tf.relu(x);
    }
  }

  private mlp(x: tf.Tensor3D, blk: Block): tf.Tensor3D {
    const up = blk.up.apply(x);
    const hidden = blk.gate ? tf.mul(this.act(blk.gate.apply(x)), up) : this.act(up);
    return blk.down.apply(hidden as tf.Tensor3D);
  }

  /**
   * Self-attention of the chunk x [B, T, dim] over (cache contents + chunk). Returns the block's attention
   * output and the keys (transposed, [B, Hkv, hd, past+T]) and values ([B, Hkv, past+T, hd]) of cache + chunk.
   */
  private attention(
    x: tf.Tensor3D,
    blk: Block,
    layer: number,
    tables: RopeBatchTables,
    mask: tf.Tensor4D,
    cache: KVCache | undefined,
  ): { y: tf.Tensor3D; kT: tf.Tensor4D; v: tf.Tensor4D } {
    const { nHeads, nKvHeads, headDim } = this.config;
    const [b, t] = x.shape;
    const qDim = nHeads * headDim;
    const kvDim = nKvHeads * headDim;
    const qkv = blk.qkv.apply(x);
    const [qFlat, kFlat, vFlat] = tf.split(qkv, [qDim, kvDim, kvDim], 2);
    const q = this.rope.apply(tf.reshape(qFlat, [b, t, nHeads, headDim]), tables);
    const k = this.rope.apply(tf.reshape(kFlat, [b, t, nKvHeads, headDim]), tables);
    const kTNew = tf.transpose(k, [0, 2, 3, 1]) as tf.Tensor4D;
    const vNew = tf.transpose(tf.reshape(vFlat, [b, t, nKvHeads, headDim]), [0, 2, 1, 3]) as tf.Tensor4D;
    const past = cache?.layer(layer);
    const kT = past ? tf.concat([past.kT, kTNew], 3) : kTNew;
    const v = past ? tf.concat([past.v, vNew], 2) : vNew;
    const tk = kT.shape[3];
    const group = nHeads / nKvHeads;
    // Query heads sharing a KV head are stacked along the row axis so one batched matmul serves the group.
    const n = b * nKvHeads;
    const qT = tf.reshape(tf.transpose(q, [0, 2, 1, 3]), [n, group * t, headDim]) as tf.Tensor3D;
    const ctx = attend(qT, tf.reshape(kT, [n, headDim, tk]), tf.reshape(v, [n, tk, headDim]), mask, [b, nHeads, t, tk]);
    const merged = tf.reshape(tf.transpose(tf.reshape(ctx, [b, nHeads, t, headDim]), [0, 2, 1, 3]), [b, t, qDim]);
    return { y: blk.out.apply(merged as tf.Tensor3D), kT, v };
  }

  /** Additive mask [B, 1, T, past+T]: causal, and padded keys hidden. */
  private buildMask(chunkMask: TokenRows, pastMask: TokenRows, t: number): tf.Tensor4D {
    const b = chunkMask.length;
    const past = pastMask[0]?.length ?? 0;
    const tk = past + t;
    const m = new Float32Array(b * t * tk);
    for (let r = 0; r < b; r++) {
      const keyOk = [...pastMask[r], ...chunkMask[r]];
      for (let i = 0; i < t; i++) {
        const row = (r * t + i) * tk;
        for (let j = 0; j < tk; j++) {
          if (j > past + i || keyOk[j] === 0) m[row + j] = MASKED;
        }
      }
    }
    return tf.tensor4d(m, [b, 1, t, tk]);
  }

  /** Checks token rows and returns [B, T]. */
  private checkTokens(tokens: TokenRows): [number, number] {
    const b = tokens.length;
    if (b === 0) throw new InvalidArgumentError('tokens: empty batch', 'tokens');
    const t = tokens[0].length;
    if (t === 0) throw new InvalidArgumentError('tokens: empty rows', 'tokens');
    const v = this.config.vocabSize;
    for (const row of tokens) {
      if (row.length !== t) throw new InvalidArgumentError('tokens: rows must have equal length (pad them)', 'tokens');
      for (const id of row) {
        if (!Number.isInteger(id) || id < 0 || id >= v) throw new InvalidArgumentError(`tokens: id ${id} outside vocabulary [0, ${v})`, 'tokens');
      }
    }
    return [b, t];
  }

  /**
   * Runs the model. With a cache, the chunk continues the cached sequence and the cache is extended.
   * Returns logits [B, T, vocab] (or [B, 1, vocab] with lastOnly), or hidden states with output 'hidden'.
   */
  forward(tokens: TokenRows, options: ForwardOptions = {}): tf.Tensor3D {
    const [b, t] = this.checkTokens(tokens);
    const cache = options.cache;
    const chunkMask = options.attentionMask ?? tokens.map((row) => row.map(() => 1));
    if (chunkMask.length !== b || chunkMask.some((r) => r.length !== t)) {
      throw new InvalidArgumentError('attentionMask must have the shape of tokens', 'attentionMask');
    }
    if (cache && cache.length > 0 && cache.batchSize !== b) {
      throw new InvalidArgumentError(`cache holds ${cache.batchSize} rows, got ${b}`, 'cache');
    }
    const pastMask: TokenRows = cache && cache.length > 0 ? cache.mask.map((r) => [...r]) : tokens.map(() => []);
    // Copies: the cache's rows grow after this call, while hooks may keep their context.
    const pastTokens: TokenRows = cache && cache.length > 0 ? cache.tokens.map((r) => [...r]) : tokens.map(() => []);
    const pastLen = pastMask[0]?.length ?? 0;
    if (pastLen + t > this.config.maxSeqLen) {
      throw new InvalidArgumentError(`sequence of ${pastLen + t} tokens exceeds the model's ${this.config.maxSeqLen}`, 'tokens');
    }
    const positions = chunkMask.map((row, r) => {
      let p = pastMask[r].reduce((a, m) => a + (m ? 1 : 0), 0);
      return row.map((m) => (m ? p++ : Math.max(p - 1, 0)));
    });
    const hooks = options.hooks;
    if (hooks) {
      for (const layer of hooks.keys()) {
        if (!Number.isInteger(layer) || layer < 0 || layer >= this.config.nLayers) {
          throw new InvalidArgumentError(`hook layer ${layer} outside [0, ${this.config.nLayers})`, 'hooks');
        }
      }
    }

    const result = tf.tidy(() => {
      const tables = this.rope.tablesFor(positions);
      const mask = this.buildMask(chunkMask, pastMask, t);
      const ids = tf.tensor1d(tokens.flat(), 'int32');
      let h = tf.reshape(tf.gather(this.weights.embed, ids), [b, t, this.config.dim]) as tf.Tensor3D;
      const newKV: tf.Tensor4D[] = [];
      this.weights.blocks.forEach((blk, layer) => {
        const attn = this.attention(this.norm(h, blk.attnNorm), blk, layer, tables, mask, cache);
        newKV.push(attn.kT, attn.v);
        if (this.config.parallelResidual) {
          h = tf.addN([h, attn.y, this.mlp(this.norm(h, blk.mlpNorm), blk)]);
        } else {
          h = tf.add(h, attn.y);
          h = tf.add(h, this.mlp(this.norm(h, blk.mlpNorm), blk));
        }
        const hook = hooks?.get(layer);
        if (hook) {
          const ctx: HookContext = {
            layer,
            batchSize: b,
            seqLen: t,
            tokens,
            pastTokens,
            pastAttentionMask: pastMask,
            positions,
            attentionMask: chunkMask,
            docIds: options.docIds,
            rowContext: options.rowContext,
          };
          const out = hook(h, ctx);
          if (out.shape.length !== 3 || out.shape.some((d, i) => d !== h.shape[i])) {
            throw new InvalidArgumentError(`hook at layer ${layer} returned shape [${out.shape}], expected [${h.shape}]`, 'hooks');
          }
          h = out;
        }
      });
      if (options.lastOnly) h = tf.slice(h, [0, t - 1, 0], [b, 1, this.config.dim]);
      const normed = this.norm(h, this.weights.finalNorm);
      const out = options.output === 'hidden' ? normed : this.weights.classifier.apply(normed);
      return { out, kv: cache && !options.readOnlyCache ? newKV : [] };
    });
    if (cache && !options.readOnlyCache) cache.replace(result.kv, tokens, chunkMask);
    return result.out;
  }

  /** Number of parameters of the base model. */
  get parameterCount(): number {
    const w = this.weights;
    const lin = (l?: FrozenLinear) => (l ? l.w.size + (l.b?.size ?? 0) : 0);
    const norm = (n: Norm) => n.weight.size + (n.bias?.size ?? 0);
    let n = w.embed.size + norm(w.finalNorm) + (this.config.tieEmbeddings ? 0 : lin(w.classifier));
    for (const blk of w.blocks)
      n += norm(blk.attnNorm) + norm(blk.mlpNorm) + lin(blk.qkv) + lin(blk.out) + lin(blk.gate) + lin(blk.up) + lin(blk.down);
    return n;
  }

  dispose(): void {
    disposeWeights(this.weights);
  }
}

/** Disposes every tensor of a set of runtime weights. */
export function disposeWeights(w: ModelWeights): void {
  const disposeNorm = (n: Norm) => {
    n.weight.dispose();
    n.bias?.dispose();
  };
  w.embed.dispose();
  disposeNorm(w.finalNorm);
  w.classifier.dispose();
  for (const blk of w.blocks) {
    disposeNorm(blk.attnNorm);
    disposeNorm(blk.mlpNorm);
    for (const l of [blk.qkv, blk.out, blk.gate, blk.up, blk.down]) l?.dispose();
  }
}
