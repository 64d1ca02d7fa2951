/**
 * Turns checkpoint tensors (HF names and [out, in] layout, whatever file they came from) into the model's
 * runtime layout: [in, out] matrices, q|k|v fused into one matrix with the attention scale folded into q.
 * Tensors are read one at a time and released after conversion, so peak memory stays near one copy of the
 * model plus one tensor.
 */
import { createHash, type Hash } from 'node:crypto';
import { betweenSlices, tf, type SliceOptions } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';
import { canonicalConfigJson, type ModelConfig } from './config.js';
import { FrozenLinear } from './layers.js';
import { TransformerModel, type Block, type ModelWeights, type Norm } from './model.js';

export interface RawTensor {
  data: Float32Array;
  shape: number[];
  /** The bytes as stored in the file (fed to the fingerprint). Defaults to data's bytes. */
  raw?: Uint8Array;
}

/** Where weights come from: a file reader, or memory (random init, tests). Names are HF names. */
export interface WeightSource {
  has(name: string): boolean;
  read(name: string): RawTensor;
  /** Human-readable origin, for error messages. */
  describe: string;
}

/** Accumulates the model fingerprint: sha256(canonical config JSON, then name + shape + bytes of each tensor read). */
export class Fingerprinter {
  private readonly hash: Hash = createHash('sha256');
  constructor(config: ModelConfig) {
    this.hash.update(canonicalConfigJson(config));
  }
  add(name: string, t: RawTensor): void {
    this.hash.update(`\n${name}[${t.shape.join(',')}]\n`);
    const bytes = t.raw ?? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    this.hash.update(bytes);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

function expectShape(src: WeightSource, name: string, t: RawTensor, shape: number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new InvalidArgumentError(`${src.describe}: tensor "${name}" has shape [${t.shape.join(',')}], config implies [${shape.join(',')}]`, name);
  }
}

interface Part {
  /** [rows, inDim] row-major ([out, in] layout). */
  data: Float32Array;
  rows: number;
  scale: number;
}

/** Packs [out, in] parts side by side into one [in, sumOut] matrix (the transposed, fused layout). */
function packColumns(parts: Part[], inDim: number): Float32Array {
  const total = parts.reduce((a, p) => a + p.rows, 0);
  const out = new Float32Array(inDim * total);
  let offset = 0;
  for (const p of parts) {
    for (let o = 0; o < p.rows; o++) {
      const src = o * inDim;
      const col = offset + o;
      if (p.scale === 1) for (let i = 0; i < inDim; i++) out[i * total + col] = p.data[src + i];
      else for (let i = 0; i < inDim; i++) out[i * total + col] = p.data[src + i] * p.scale;
    }
    offset += p.rows;
  }
  return out;
}

class Reader {
  readonly fp: Fingerprinter;
  constructor(
    readonly src: WeightSource,
    config: ModelConfig,
  ) {
    this.fp = new Fingerprinter(config);
  }
  get(name: string, shape: number[]): RawTensor {
    if (!this.src.has(name)) throw new InvalidArgumentError(`${this.src.describe}: missing tensor "${name}"`, name);
    const t = this.src.read(name);
    expectShape(this.src, name, t, shape);
    this.fp.add(name, t);
    return t;
  }
  optional(name: string, shape: number[]): RawTensor | undefined {
    return this.src.has(name) ? this.get(name, shape) : undefined;
  }
  vector(name: string, n: number): tf.Tensor1D {
    return tf.tensor1d(this.get(name, [n]).data);
  }
  optionalVector(name: string, n: number): tf.Tensor1D | undefined {
    const t = this.optional(name, [n]);
    return t ? tf.tensor1d(t.data) : undefined;
  }
  /** An [out, in] checkpoint matrix as a frozen [in, out] linear layer. */
  linear(name: string, outDim: number, inDim: number, biasName?: string): FrozenLinear {
    const w = this.get(name, [outDim, inDim]);
    const packed = packColumns([{ data: w.data, rows: outDim, scale: 1 }], inDim);
    const bias = biasName ? this.optionalVector(biasName, outDim) : undefined;
    return new FrozenLinear(tf.tensor2d(packed, [inDim, outDim]), bias);
  }
}

function fusedQkv(
  parts: { q: Float32Array; k: Float32Array; v: Float32Array },
  bias: { q: Float32Array; k: Float32Array; v: Float32Array } | undefined,
  c: ModelConfig,
): FrozenLinear {
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  const scale = 1 / Math.sqrt(c.headDim);
  const w = packColumns(
    [
      { data: parts.q, rows: qDim, scale },
      { data: parts.k, rows: kvDim, scale: 1 },
      { data: parts.v, rows: kvDim, scale: 1 },
    ],
    c.dim,
  );
  let b: tf.Tensor1D | undefined;
  if (bias) {
    const all = new Float32Array(qDim + 2 * kvDim);
    all.set(
      bias.q.map((x) => x * scale),
      0,
    );
    all.set(bias.k, qDim);
    all.set(bias.v, qDim + kvDim);
    b = tf.tensor1d(all);
  }
  return new FrozenLinear(tf.tensor2d(w, [c.dim, qDim + 2 * kvDim]), b);
}

function llamaBlock(r: Reader, c: ModelConfig, i: number): Block {
  const p = `model.layers.${i}.`;
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  const attnNorm: Norm = { weight: r.vector(`${p}input_layernorm.weight`, c.dim) };
  const q = r.get(`${p}self_attn.q_proj.weight`, [qDim, c.dim]).data;
  const k = r.get(`${p}self_attn.k_proj.weight`, [kvDim, c.dim]).data;
  const v = r.get(`${p}self_attn.v_proj.weight`, [kvDim, c.dim]).data;
  const qb = r.optional(`${p}self_attn.q_proj.bias`, [qDim]);
  const kb = r.optional(`${p}self_attn.k_proj.bias`, [kvDim]);
  const vb = r.optional(`${p}self_attn.v_proj.bias`, [kvDim]);
  const bias = qb && kb && vb ? { q: qb.data, k: kb.data, v: vb.data } : undefined;
  return {
    attnNorm,
    qkv: fusedQkv({ q, k, v }, bias, c),
    out: r.linear(`${p}self_attn.o_proj.weight`, c.dim, qDim, `${p}self_attn.o_proj.bias`),
    mlpNorm: { weight: r.vector(`${p}post_attention_layernorm.weight`, c.dim) },
    gate: r.linear(`${p}mlp.gate_proj.weight`, c.hiddenDim, c.dim),
    up: r.linear(`${p}mlp.up_proj.weight`, c.hiddenDim, c.dim),
    down: r.linear(`${p}mlp.down_proj.weight`, c.dim, c.hiddenDim),
  };
}

/** GPT-NeoX stores q|k|v interleaved per head ([H, 3, hd] rows); split them into three [H*hd] blocks. */
function splitNeoxQkv(data: Float32Array, c: ModelConfig, inDim: number): { q: Float32Array; k: Float32Array; v: Float32Array } {
  const hd = c.headDim;
  const parts = [0, 1, 2].map(() => new Float32Array(c.nHeads * hd * inDim));
  for (let h = 0; h < c.nHeads; h++) {
    for (let s = 0; s < 3; s++) {
      const src = (h * 3 * hd + s * hd) * inDim;
      parts[s].set(data.subarray(src, src + hd * inDim), h * hd * inDim);
    }
  }
  return { q: parts[0], k: parts[1], v: parts[2] };
}

function neoxBlock(r: Reader, c: ModelConfig, i: number): Block {
  const p = `gpt_neox.layers.${i}.`;
  const d = c.dim;
  const norm = (n: string): Norm => ({ weight: r.vector(`${p}${n}.weight`, d), bias: r.optionalVector(`${p}${n}.bias`, d) });
  const attnNorm = norm('input_layernorm');
  const w = r.get(`${p}attention.query_key_value.weight`, [3 * d, d]).data;
  const b = r.optional(`${p}attention.query_key_value.bias`, [3 * d]);
  return {
    attnNorm,
    qkv: fusedQkv(splitNeoxQkv(w, c, d), b ? splitNeoxQkv(b.data, c, 1) : undefined, c),
    out: r.linear(`${p}attention.dense.weight`, d, d, `${p}attention.dense.bias`),
    mlpNorm: norm('post_attention_layernorm'),
    up: r.linear(`${p}mlp.dense_h_to_4h.weight`, c.hiddenDim, d, `${p}mlp.dense_h_to_4h.bias`),
    down: r.linear(`${p}mlp.dense_4h_to_h.weight`, d, c.hiddenDim, `${p}mlp.dense_4h_to_h.bias`),
  };
}

/** Builds the runtime model from a weight source, computing the fingerprint on the way. */
export function buildModel(config: ModelConfig, src: WeightSource): TransformerModel {
  return runSteps(buildSteps(config, src));
}

/** Runs a build that pauses between steps (see {@link buildSteps}) to its end, synchronously. */
export function runSteps<T>(steps: Generator<void, T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * {@link buildModel} as steps: it pauses after the embedding and after each block, so an async caller can yield
 * to the event loop and stop between them ({@link runStepsInSlices}). Stopped early (`return()`), it disposes
 * every tensor it made.
 */
export function* buildSteps(config: ModelConfig, src: WeightSource): Generator<void, TransformerModel> {
  const r = new Reader(src, config);
  const c = config;
  const created: { dispose(): void }[] = [];
  let built = false;
  try {
    const isLlama = c.arch === 'llama';
    const embedName = isLlama ? 'model.embed_tokens.weight' : 'gpt_neox.embed_in.weight';
    const embedRaw = r.get(embedName, [c.vocabSize, c.dim]);
    const embed = tf.tensor2d(embedRaw.data, [c.vocabSize, c.dim]);
    created.push(embed);
    yield;
    const blocks: Block[] = [];
    for (let i = 0; i < c.nLayers; i++) {
      const blk = isLlama ? llamaBlock(r, c, i) : neoxBlock(r, c, i);
      blocks.push(blk);
      created.push({
        dispose: () => {
          for (const t of [blk.attnNorm.weight, blk.attnNorm.bias, blk.mlpNorm.weight, blk.mlpNorm.bias]) t?.dispose();
          for (const l of [blk.qkv, blk.out, blk.gate, blk.up, blk.down]) l?.dispose();
        },
      });
      yield;
    }
    const finalNorm: Norm = isLlama
      ? { weight: r.vector('model.norm.weight', c.dim) }
      : { weight: r.vector('gpt_neox.final_layer_norm.weight', c.dim), bias: r.optionalVector('gpt_neox.final_layer_norm.bias', c.dim) };
    const headName = isLlama ? 'lm_head.weight' : 'embed_out.weight';
    let classifier: FrozenLinear;
    if (c.tieEmbeddings) {
      classifier = new FrozenLinear(tf.tensor2d(packColumns([{ data: embedRaw.data, rows: c.vocabSize, scale: 1 }], c.dim), [c.dim, c.vocabSize]));
    } else {
      classifier = r.linear(headName, c.vocabSize, c.dim);
    }
    const weights: ModelWeights = { embed, blocks, finalNorm, classifier };
    const model = new TransformerModel(config, weights, r.fp.digest());
    built = true;
    return model;
  } finally {
    // An error, or a caller that stopped the build early: nothing made so far outlives it.
    if (!built) for (const t of created) t.dispose();
  }
}

/** Runs a build's steps with `betweenSlices` between them: cancellable, the event loop served between steps. */
export async function runStepsInSlices<T>(steps: Generator<void, T>, slices: SliceOptions): Promise<T> {
  try {
    for (;;) {
      const next = steps.next();
      if (next.done) return next.value;
      await betweenSlices(slices);
    }
  } finally {
    // Stopped early (abort, error): let the build clean up (its finally blocks run).
    steps.return(undefined as T);
  }
}

/** A weight source over in-memory tensors (random init, tests, conversions). */
export function memorySource(tensors: Map<string, { data: Float32Array; shape: number[] }>, describe = 'memory'): WeightSource {
  return {
    describe,
    has: (name) => tensors.has(name),
    read: (name) => {
      const t = tensors.get(name);
      if (!t) throw new InvalidArgumentError(`${describe}: missing tensor "${name}"`, name);
      return t;
    },
  };
}
