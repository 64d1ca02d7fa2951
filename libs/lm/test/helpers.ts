import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { writeSafetensors } from '@memorize/tensor';
import { storiesDir, tempDir } from '@memorize/testing';
import type { TensorMap } from '@memorize/lm';

export interface GoldenGeneration {
  prompt: string;
  temperature: number;
  steps: number;
  stdout: string;
  text: string;
  prompt_tokens_with_bos: number[];
  token_ids: number[];
}

export function golden(): GoldenGeneration {
  const g = JSON.parse(readFileSync(join(storiesDir, 'golden-public.json'), 'utf8')) as { generations: GoldenGeneration[] };
  return g.generations[0];
}

/** Writes an HF folder (config.json + model.safetensors) holding the given tensors. */
export function writeHfFolder(config: Record<string, unknown>, tensors: TensorMap, dir = tempDir('memorize-lm-')): string {
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}

export const tinyNeoxHf = {
  model_type: 'gpt_neox',
  hidden_size: 32,
  num_attention_heads: 2,
  num_hidden_layers: 2,
  intermediate_size: 64,
  rotary_pct: 0.5,
  rotary_emb_base: 10000,
  layer_norm_eps: 1e-5,
  use_parallel_residual: true,
  hidden_act: 'gelu',
  vocab_size: 40,
  max_position_embeddings: 64,
  tie_word_embeddings: false,
  bos_token_id: 0,
  eos_token_id: 0,
};

export const tinyLlamaHf = {
  model_type: 'llama',
  hidden_size: 32,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  num_hidden_layers: 2,
  intermediate_size: 48,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  hidden_act: 'silu',
  vocab_size: 40,
  max_position_embeddings: 64,
  tie_word_embeddings: false,
};
