/**
 * Randomly initialised checkpoints (HF tensor names and layouts), deterministic in a seed: for benchmarks,
 * tests, and as the starting point of small base models pretrained from scratch.
 */
import { mulberry32, normals } from '@memorize/tensor';
import type { ModelConfig } from './config.js';
import type { TransformerModel } from './model.js';
import { buildModel, memorySource } from './weights.js';

export type TensorMap = Map<string, { data: Float32Array; shape: number[] }>;

export { mulberry32 };

export interface RandomInitOptions {
  seed?: number;
  /** Std of matrix entries (HF initializer_range, default 0.02). */
  std?: number;
  /** Std of the noise added to norm weights around 1 and of biases (default 0: ones and zeros). */
  normNoise?: number;
}

/** Random weights under HF names for config.arch, [out, in] matrices. */
export function randomWeights(c: ModelConfig, options: RandomInitOptions = {}): TensorMap {
  const rand = mulberry32(options.seed ?? 1);
  const std = options.std ?? 0.02;
  const noise = options.normNoise ?? 0;
  const m: TensorMap = new Map();
  const mat = (name: string, rows: number, cols: number) => m.set(name, { data: normals(rand, rows * cols, std), shape: [rows, cols] });
  const ones = (name: string, n: number) => {
    const data = noise > 0 ? normals(rand, n, noise).map((x) => 1 + x) : new Float32Array(n).fill(1);
    m.set(name, { data, shape: [n] });
  };
  const bias = (name: string, n: number) => m.set(name, { data: noise > 0 ? normals(rand, n, noise) : new Float32Array(n), shape: [n] });
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKvHeads * c.headDim;
  if (c.arch === 'llama') {
    mat('model.embed_tokens.weight', c.vocabSize, c.dim);
    for (let i = 0; i < c.nLayers; i++) {
      const p = `model.layers.${i}.`;
      ones(`${p}input_layernorm.weight`, c.dim);
      mat(`${p}self_attn.q_proj.weight`, qDim, c.dim);
      mat(`${p}self_attn.k_proj.weight`, kvDim, c.dim);
      mat(`${p}self_attn.v_proj.weight`, kvDim, c.dim);
      mat(`${p}self_attn.o_proj.weight`, c.dim, qDim);
      ones(`${p}post_attention_layernorm.weight`, c.dim);
      mat(`${p}mlp.gate_proj.weight`, c.hiddenDim, c.dim);
      mat(`${p}mlp.up_proj.weight`, c.hiddenDim, c.dim);
      mat(`${p}mlp.down_proj.weight`, c.dim, c.hiddenDim);
    }
    ones('model.norm.weight', c.dim);
    if (!c.tieEmbeddings) mat('lm_head.weight', c.vocabSize, c.dim);
  } else {
    mat('gpt_neox.embed_in.weight', c.vocabSize, c.dim);
    for (let i = 0; i < c.nLayers; i++) {
      const p = `gpt_neox.layers.${i}.`;
      for (const n of ['input_layernorm', 'post_attention_layernorm']) {
        ones(`${p}${n}.weight`, c.dim);
        bias(`${p}${n}.bias`, c.dim);
      }
      mat(`${p}attention.query_key_value.weight`, 3 * c.dim, c.dim);
      bias(`${p}attention.query_key_value.bias`, 3 * c.dim);
      mat(`${p}attention.dense.weight`, c.dim, c.dim);
      bias(`${p}attention.dense.bias`, c.dim);
      mat(`${p}mlp.dense_h_to_4h.weight`, c.hiddenDim, c.dim);
      bias(`${p}mlp.dense_h_to_4h.bias`, c.hiddenDim);
      mat(`${p}mlp.dense_4h_to_h.weight`, c.dim, c.hiddenDim);
      bias(`${p}mlp.dense_4h_to_h.bias`, c.dim);
    }
    ones('gpt_neox.final_layer_norm.weight', c.dim);
    bias('gpt_neox.final_layer_norm.bias', c.dim);
    if (!c.tieEmbeddings) mat('embed_out.weight', c.vocabSize, c.dim);
  }
  return m;
}

export function randomModel(c: ModelConfig, options: RandomInitOptions = {}): TransformerModel {
  return buildModel(c, memorySource(randomWeights(c, options), `random(seed ${options.seed ?? 1})`));
}
