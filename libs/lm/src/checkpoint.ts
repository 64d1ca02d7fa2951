/**
 * The inverse of the loaders, for full-parameter training: a model's runtime weights as checkpoint tensors (HF
 * names, [out, in] matrices, q|k|v unfused, the attention scale taken out of q), a differentiable view of such
 * tensors as runtime weights (the training forward), and the writer of an HF folder (config.json in the HF Llama
 * schema that configFromHf reads, model.safetensors, the tokenizer) that loadModel reads back to the same logits.
 * Llama-architecture models only.
 */
import { basename, dirname, join } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { tf, writeSafetensors, type TensorToWrite } from '@memorize/tensor';
import { FailedPreconditionError, InvalidArgumentError } from '@memorize/errors';
import { readRegularFile, writeFileAtomic } from '@memorize/files';
import type { HiddenAct, ModelConfig } from './config.js';
import { TrainableLinear } from './layers.js';
import type { Block, ModelWeights, Norm, TransformerModel } from './model.js';
import type { TensorMap } from './init.js';
import { openHfWeights } from './loaders/hf.js';

/** Full-parameter training and the HF writer handle the Llama family (RMSNorm, RoPE, SwiGLU, GQA). */
export function checkTrainableArchitecture(config: ModelConfig, field = 'model'): void {
  if (config.arch !== 'llama') {
    throw new FailedPreconditionError(`full-parameter training and SaveModel support Llama-architecture models only, not ${config.arch}`, field);
  }
}

/** The [out, in] matrix of columns [c0, c1) of a runtime [in, total] matrix, divided by `scale`. */
function columns(src: Float32Array, inDim: number, total: number, c0: number, c1: number, scale = 1): Float32Array {
  const rows = c1 - c0;
  const out = new Float32Array(rows * inDim);
  for (let o = 0; o < rows; o++) {
    const col = c0 + o;
    if (scale === 1) for (let i = 0; i < inDim; i++) out[o * inDim + i] = src[i * total + col];
    else for (let i = 0; i < inDim; i++) out[o * inDim + i] = src[i * total + col] / scale;
  }
  return out;
}

function hfNames(config: ModelConfig, i: number) {
  const p = `model.layers.${i}.`;
  return {
    attnNorm: `${p}input_layernorm.weight`,
    q: `${p}self_attn.q_proj`,
    k: `${p}self_attn.k_proj`,
    v: `${p}self_attn.v_proj`,
    o: `${p}self_attn.o_proj`,
    mlpNorm: `${p}post_attention_layernorm.weight`,
    gate: `${p}mlp.gate_proj`,
    up: `${p}mlp.up_proj`,
    down: `${p}mlp.down_proj`,
  };
}

/**
 * The model's weights as the checkpoint tensors buildModel reads (the inverse of weights.ts): HF names, [out, in]
 * matrices, in the model's own q/k pairing (llama2.c's interleaved one for a .bin; see writeHfModel). Tied
 * embeddings give no lm_head. Read from the backend, so a copy: later training does not change it.
 */
export function checkpointTensors(model: TransformerModel): TensorMap {
  const c = model.config;
  checkTrainableArchitecture(c);
  const w = model.weights;
  const m: TensorMap = new Map();
  const read = (t: tf.Tensor) => Float32Array.from(t.dataSync() as Float32Array);
  const vector = (name: string, t: tf.Tensor1D | undefined) => {
    if (t) m.set(name, { data: read(t), shape: [t.size] });
  };
  const linear = (name: string, l: { w: tf.Tensor2D; b?: tf.Tensor1D }) => {
    const [inDim, outDim] = l.w.shape;
    m.set(`${name}.weight`, { data: columns(read(l.w), inDim, outDim, 0, outDim), shape: [outDim, inDim] });
    vector(`${name}.bias`, l.b);
  };
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  const scale = 1 / Math.sqrt(c.headDim);
  m.set('model.embed_tokens.weight', { data: read(w.embed), shape: [c.vocabSize, c.dim] });
  w.blocks.forEach((blk, i) => {
    const n = hfNames(c, i);
    vector(n.attnNorm, blk.attnNorm.weight);
    const total = qDim + 2 * kvDim;
    const qkv = read(blk.qkv.w);
    m.set(`${n.q}.weight`, { data: columns(qkv, c.dim, total, 0, qDim, scale), shape: [qDim, c.dim] });
    m.set(`${n.k}.weight`, { data: columns(qkv, c.dim, total, qDim, qDim + kvDim), shape: [kvDim, c.dim] });
    m.set(`${n.v}.weight`, { data: columns(qkv, c.dim, total, qDim + kvDim, total), shape: [kvDim, c.dim] });
    if (blk.qkv.b) {
      const b = read(blk.qkv.b);
      m.set(`${n.q}.bias`, { data: b.slice(0, qDim).map((x) => x / scale), shape: [qDim] });
      m.set(`${n.k}.bias`, { data: b.slice(qDim, qDim + kvDim), shape: [kvDim] });
      m.set(`${n.v}.bias`, { data: b.slice(qDim + kvDim), shape: [kvDim] });
    }
    linear(n.o, blk.out);
    vector(n.mlpNorm, blk.mlpNorm.weight);
    linear(n.gate, blk.gate!);
    linear(n.up, blk.up);
    linear(n.down, blk.down);
  });
  vector('model.norm.weight', w.finalNorm.weight);
  if (!c.tieEmbeddings) linear('lm_head', w.classifier);
  return m;
}

/**
 * Runtime weights computed from checkpoint tensors with differentiable ops (transpose, the attention scale folded
 * into q, q|k|v concatenated), linear layers that pass gradients to their weights: inside a tape, the loss of a
 * model over these weights has a gradient for every checkpoint tensor (tied embeddings get both uses' share).
 * The tensors made belong to the caller's scope (call it inside tidy or the tape).
 */
export function trainableWeights(config: ModelConfig, params: ReadonlyMap<string, tf.Tensor>): ModelWeights {
  checkTrainableArchitecture(config);
  const c = config;
  const p = (name: string): tf.Tensor => {
    const t = params.get(name);
    if (!t) throw new InvalidArgumentError(`missing tensor "${name}"`, name);
    return t;
  };
  const t2 = (name: string) => tf.transpose(p(name)) as tf.Tensor2D;
  const optional = (name: string) => (params.has(name) ? (p(name) as tf.Tensor1D) : undefined);
  const linear = (name: string) => new TrainableLinear(t2(`${name}.weight`), optional(`${name}.bias`));
  const scale = 1 / Math.sqrt(c.headDim);
  const blocks: Block[] = [];
  for (let i = 0; i < c.nLayers; i++) {
    const n = hfNames(c, i);
    const qkvW = tf.concat([tf.mul(t2(`${n.q}.weight`), scale), t2(`${n.k}.weight`), t2(`${n.v}.weight`)], 1) as tf.Tensor2D;
    const [qb, kb, vb] = [optional(`${n.q}.bias`), optional(`${n.k}.bias`), optional(`${n.v}.bias`)];
    const qkvB = qb && kb && vb ? (tf.concat([tf.mul(qb, scale), kb, vb]) as tf.Tensor1D) : undefined;
    blocks.push({
      attnNorm: { weight: p(n.attnNorm) as tf.Tensor1D },
      qkv: new TrainableLinear(qkvW, qkvB),
      out: linear(n.o),
      mlpNorm: { weight: p(n.mlpNorm) as tf.Tensor1D },
      gate: linear(n.gate),
      up: linear(n.up),
      down: linear(n.down),
    });
  }
  const embed = p('model.embed_tokens.weight') as tf.Tensor2D;
  const finalNorm: Norm = { weight: p('model.norm.weight') as tf.Tensor1D };
  const classifier = c.tieEmbeddings ? new TrainableLinear(tf.transpose(embed)) : linear('lm_head');
  return { embed, blocks, finalNorm, classifier };
}

const HF_ACT: Record<HiddenAct, string> = { silu: 'silu', gelu: 'gelu', gelu_tanh: 'gelu_pytorch_tanh', relu: 'relu' };

/** config.json of a Llama model in the schema of HF's LlamaConfig (what configFromHf reads back to `config`). */
export function hfConfigJson(config: ModelConfig, tensors?: ReadonlyMap<string, unknown>): Record<string, unknown> {
  checkTrainableArchitecture(config);
  const c = config;
  if (c.rotaryDim !== c.headDim) throw new InvalidArgumentError(`rotary dimension ${c.rotaryDim} != head dimension ${c.headDim}`, 'rotary_dim');
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    num_hidden_layers: c.nLayers,
    head_dim: c.headDim,
    rms_norm_eps: c.normEps,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxSeqLen,
    rope_theta: c.ropeTheta,
    rope_scaling: null,
    hidden_act: HF_ACT[c.hiddenAct],
    tie_word_embeddings: c.tieEmbeddings,
    bos_token_id: c.bosId,
    eos_token_id: c.eosId,
    attention_bias: tensors?.has('model.layers.0.self_attn.q_proj.bias') ?? false,
    mlp_bias: false,
    torch_dtype: 'float32',
  };
}

/**
 * llama2.c pairs RoPE dimensions (2j, 2j+1) of each head, HF's rotate_half pairs (j, j + hd/2): the rows of q and
 * k are permuted per head (HF's convert_llama_weights_to_hf `permute`), so the HF model computes the same logits.
 */
function toHalfPairing(data: Float32Array, heads: number, headDim: number, inDim: number): Float32Array {
  const out = new Float32Array(data.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      for (let s = 0; s < 2; s++) {
        const src = (h * headDim + 2 * j + s) * inDim;
        out.set(data.subarray(src, src + inDim), (h * headDim + s * half + j) * inDim);
      }
    }
  }
  return out;
}

/** Checkpoint tensors in HF's pairing: permuted q/k for an interleaved (llama2.c) model, else the same map. */
export function hfPairing(config: ModelConfig, tensors: TensorMap): TensorMap {
  if (config.ropeStyle === 'half') return tensors;
  const out: TensorMap = new Map(tensors);
  for (let i = 0; i < config.nLayers; i++) {
    const n = hfNames(config, i);
    for (const [prefix, heads] of [
      [n.q, config.nHeads],
      [n.k, config.nKvHeads],
    ] as const) {
      for (const suffix of ['weight', 'bias']) {
        const t = tensors.get(`${prefix}.${suffix}`);
        if (t)
          out.set(`${prefix}.${suffix}`, {
            data: toHalfPairing(t.data, heads, config.headDim, suffix === 'weight' ? config.dim : 1),
            shape: t.shape,
          });
      }
    }
  }
  return out;
}

export interface WriteHfModelOptions {
  /**
   * The tokenizer the model was loaded with, copied into the folder: a tokenizer.json (with the
   * special_tokens_map.json and tokenizer_config.json beside it, which give BOS/EOS) or a llama2.c tokenizer.bin
   * (written as tokenizer.bin, which loadTokenizer finds in a folder without tokenizer.json); or a folder holding one.
   */
  tokenizer?: string;
  /** The checkpoint tensors to write (default: checkpointTensors(model)), in the model's pairing. */
  tensors?: TensorMap;
}

/**
 * Writes an HF folder that loadModel reads back to the same logits: config.json, model.safetensors (float32) and
 * the tokenizer. Each file is written atomically; making the folder as a whole appear at once is the caller's.
 */
export function writeHfModel(model: TransformerModel, folder: string, options: WriteHfModelOptions = {}): void {
  const c = model.config;
  const tensors = hfPairing(c, options.tensors ?? checkpointTensors(model));
  const config = hfConfigJson(c, tensors);
  writeFileAtomic(join(folder, 'config.json'), new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`));
  const toWrite = new Map<string, TensorToWrite>();
  for (const [name, t] of tensors) toWrite.set(name, { shape: t.shape, data: t.data });
  writeSafetensors(join(folder, 'model.safetensors'), toWrite, { format: 'pt' });
  if (options.tokenizer) copyTokenizer(options.tokenizer, folder);
}

function copyTokenizer(given: string, folder: string): void {
  // A folder (an HF checkpoint's own, as resolveTokenizerPath gives it) stands for the tokenizer file inside it.
  const inFolder = statSync(given).isDirectory() ? ['tokenizer.json', 'tokenizer.bin'].map((f) => join(given, f)).find((f) => existsSync(f)) : given;
  if (!inFolder) throw new InvalidArgumentError(`${given}: a folder without tokenizer.json or tokenizer.bin`, 'tokenizer');
  const path = inFolder;
  const bytes = readRegularFile(path, 'tokenizer');
  const isJson = path.endsWith('.json') || bytes.subarray(0, 64).toString('utf8').trimStart().startsWith('{');
  if (!isJson) {
    writeFileAtomic(join(folder, 'tokenizer.bin'), bytes);
    return;
  }
  writeFileAtomic(join(folder, 'tokenizer.json'), bytes);
  for (const sibling of ['special_tokens_map.json', 'tokenizer_config.json']) {
    const from = join(dirname(path), sibling);
    if (basename(path) !== sibling && existsSync(from)) writeFileAtomic(join(folder, sibling), readRegularFile(from, 'tokenizer'));
  }
}

/**
 * The named checkpoint tensors of an HF folder as stored (float32), e.g. to resume training from the saved bytes
 * rather than from the runtime weights (whose q carries the attention scale, a rounding step away).
 */
export function readHfTensors(folder: string, names: Iterable<string>): TensorMap {
  const src = openHfWeights(folder);
  try {
    const out: TensorMap = new Map();
    for (const name of names) {
      const t = src.read(name);
      out.set(name, { data: t.data, shape: t.shape });
    }
    return out;
  } finally {
    src.close();
  }
}
