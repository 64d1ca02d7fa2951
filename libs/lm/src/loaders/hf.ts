/**
 * Hugging Face checkpoint folders: config.json plus model.safetensors, or shards listed in
 * model.safetensors.index.json. F32/F16/BF16 tensors are widened to float32 one at a time.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseJsonBytes, readRegularFile } from '@memorize/files';
import { SafetensorsReader, bytesToFloat32 } from '@memorize/tensor';
import { InvalidArgumentError, NotFoundError } from '@memorize/errors';
import { HF_CONFIG_FIELDS, validateConfig, type HiddenAct, type ModelConfig } from '../config.js';
import type { LoadModelOptions } from './options.js';
import type { TransformerModel } from '../model.js';
import { buildSteps, runSteps, type RawTensor, type WeightSource } from '../weights.js';

type Json = Record<string, unknown>;

function num(cfg: Json, key: string, fallback?: number): number {
  const v = cfg[key];
  if (typeof v === 'number') return v;
  if (fallback !== undefined) return fallback;
  throw new InvalidArgumentError(`config.json: missing numeric field "${key}"`, key);
}

/**
 * A special token id from config.json: a number, a list (Llama-3 and chat models list several EOS ids; the
 * first is the primary one), or null/absent (the fallback).
 */
function tokenId(cfg: Json, key: string, fallback: number): number {
  const v = cfg[key];
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  if (v === null || v === undefined) return fallback;
  throw new InvalidArgumentError(`config.json: "${key}" must be a token id or a list of them`, key);
}

function hiddenAct(value: unknown): HiddenAct {
  switch (value) {
    case 'silu':
    case 'swish':
      return 'silu';
    case 'gelu':
      return 'gelu';
    case 'gelu_new':
    case 'gelu_fast':
    case 'gelu_pytorch_tanh':
      return 'gelu_tanh';
    case 'relu':
      return 'relu';
    default:
      throw new InvalidArgumentError(
        'config.json: unsupported hidden_act (expected silu, swish, gelu, gelu_new, gelu_fast, gelu_pytorch_tanh or relu)',
        'hidden_act',
      );
  }
}

/** Translates an HF config.json object into a ModelConfig. */
export function configFromHf(cfg: Json): ModelConfig {
  const modelType = cfg.model_type;
  const dim = num(cfg, 'hidden_size');
  const nHeads = num(cfg, 'num_attention_heads');
  const headDim = num(cfg, 'head_dim', dim / nHeads);
  const common = {
    dim,
    nLayers: num(cfg, 'num_hidden_layers'),
    nHeads,
    headDim,
    hiddenDim: num(cfg, 'intermediate_size'),
    vocabSize: num(cfg, 'vocab_size'),
    maxSeqLen: num(cfg, 'max_position_embeddings', 2048),
    bosId: tokenId(cfg, 'bos_token_id', 1),
    eosId: tokenId(cfg, 'eos_token_id', 2),
  };
  if (modelType === 'llama' || modelType === 'mistral' || modelType === 'qwen2') {
    const scaling = cfg.rope_scaling;
    if (scaling !== undefined && scaling !== null) {
      throw new InvalidArgumentError('config.json: rope_scaling is not supported (expected null or absent)', 'rope_scaling');
    }
    return validateConfig(
      {
        ...common,
        arch: 'llama',
        nKvHeads: num(cfg, 'num_key_value_heads', nHeads),
        normEps: num(cfg, 'rms_norm_eps', 1e-6),
        ropeTheta: num(cfg, 'rope_theta', 10000),
        ropeStyle: 'half',
        rotaryDim: headDim,
        tieEmbeddings: cfg.tie_word_embeddings === true,
        parallelResidual: false,
        hiddenAct: hiddenAct(cfg.hidden_act ?? 'silu'),
      },
      'config.json',
      HF_CONFIG_FIELDS,
    );
  }
  if (modelType === 'gpt_neox') {
    // GPTNeoXConfig's default is 0.25 (Pythia's value), not full rotary.
    const pct = num(cfg, 'rotary_pct', 0.25);
    return validateConfig(
      {
        ...common,
        arch: 'gpt_neox',
        nKvHeads: nHeads,
        normEps: num(cfg, 'layer_norm_eps', 1e-5),
        ropeTheta: num(cfg, 'rotary_emb_base', num(cfg, 'rope_theta', 10000)),
        ropeStyle: 'half',
        rotaryDim: Math.floor(headDim * pct),
        tieEmbeddings: cfg.tie_word_embeddings === true,
        parallelResidual: cfg.use_parallel_residual !== false,
        hiddenAct: hiddenAct(cfg.hidden_act ?? 'gelu'),
      },
      'config.json',
      HF_CONFIG_FIELDS,
    );
  }
  throw new InvalidArgumentError('config.json: unsupported model_type (expected llama, mistral, qwen2 or gpt_neox)', 'model_type');
}

/** A JSON object file, read as a regular file only; parse errors name the file and the offset, never its bytes. */
function readJson(path: string): Json {
  const json = parseJsonBytes(readRegularFile(path, 'model'), path, 'model');
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InvalidArgumentError(`${path}: expected a JSON object`, 'model');
  return json as Json;
}

/** Opens the safetensors file(s) of an HF folder as a weight source. Call close() when done. */
export function openHfWeights(folder: string): WeightSource & { close(): void } {
  const single = join(folder, 'model.safetensors');
  const index = join(folder, 'model.safetensors.index.json');
  const readers = new Map<string, SafetensorsReader>();
  const fileOf = new Map<string, string>();
  const open = (file: string): SafetensorsReader => {
    let r = readers.get(file);
    // Shards sit beside the index: a name with a folder in it could point anywhere.
    if (typeof file !== 'string' || !/^[^/\\]+$/.test(file) || file === '..' || file === '.') {
      throw new InvalidArgumentError(`${index}: weight_map must name shard files in the same folder`, 'model');
    }
    if (!r) {
      r = new SafetensorsReader(join(folder, file));
      readers.set(file, r);
    }
    return r;
  };
  const close = () => {
    for (const r of readers.values()) r.close();
  };
  try {
    if (existsSync(index)) {
      const map = (readJson(index).weight_map ?? {}) as Record<string, string>;
      for (const [name, file] of Object.entries(map)) fileOf.set(name, file);
      // Open every shard up front: a missing or truncated shard fails before any weight is built.
      for (const file of new Set(fileOf.values())) {
        const r = open(file);
        for (const [name, f] of fileOf) {
          if (f === file && !r.has(name)) throw new InvalidArgumentError(`${r.path}: index lists "${name}" but the shard lacks it`, name);
        }
      }
    } else if (existsSync(single)) {
      for (const name of open('model.safetensors').names) fileOf.set(name, 'model.safetensors');
    } else {
      throw new NotFoundError(`${folder}: neither model.safetensors nor model.safetensors.index.json`, 'model');
    }
  } catch (err) {
    close();
    throw err;
  }
  return {
    describe: folder,
    has: (name) => fileOf.has(name),
    read: (name): RawTensor => {
      const file = fileOf.get(name);
      if (!file) throw new InvalidArgumentError(`${folder}: missing tensor "${name}"`, name);
      const r = open(file);
      const e = r.entry(name);
      const raw = r.readBytes(name);
      return { data: bytesToFloat32(raw, e.dtype, name), shape: e.shape, raw };
    },
    close,
  };
}

export function loadHfModel(folder: string, options: LoadModelOptions = {}): TransformerModel {
  return runSteps(hfSteps(folder, options));
}

/** The load of an HF folder as steps, one per block (see buildSteps); the weight files are closed however it ends. */
export function* hfSteps(folder: string, options: LoadModelOptions = {}): Generator<void, TransformerModel> {
  const configPath = join(folder, 'config.json');
  if (!existsSync(configPath)) throw new NotFoundError(`${folder}: no config.json`, 'model');
  const config = configFromHf(readJson(configPath));
  options.checkConfig?.(config, { path: configPath, format: 'hf' });
  const src = openHfWeights(folder);
  try {
    return yield* buildSteps(config, src);
  } finally {
    src.close();
  }
}
