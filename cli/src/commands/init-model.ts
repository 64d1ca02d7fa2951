/**
 * `memorize init-model --tokenizer FILE --out DIR [--dim --layers --heads --kv-heads --hidden --max-length
 * --tie-embeddings --seed --std]`: a randomly initialised Llama model as an HF folder (config.json,
 * model.safetensors, the tokenizer copied beside them), the starting point of a base model pretrained from
 * scratch with a full-parameter run (`memorize train` with `job: full`). The vocabulary is the tokenizer's;
 * the same seed gives the same bytes.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { FailedPreconditionError } from '@memorize/errors';
import { llamaConfig, loadTokenizer, randomModel, writeHfModel } from '@memorize/lm';
import { initBackend } from '@memorize/tensor';
import { checkModelConfigLimits } from '@memorize/validation';
import type { Out } from '../client.js';
import { fromFlag } from '../flags.js';

export interface InitModelOptions {
  tokenizer: string;
  out: string;
  dim: number;
  layers: number;
  heads: number;
  kvHeads?: number;
  hidden: number;
  maxLength: number;
  tieEmbeddings: boolean;
  seed: number;
  std: number;
  json?: boolean;
}

export interface InitModelSummary {
  out: string;
  parameters: number;
  vocab_size: number;
  dim: number;
  layers: number;
  seed: number;
}

export async function runInitModel(o: InitModelOptions, out: Out): Promise<void> {
  const s = await writeRandomModel(o);
  out.write(
    o.json ? `${JSON.stringify(s)}\n` : `wrote ${s.out}: ${s.parameters} parameters (vocabulary ${s.vocab_size}, d ${s.dim}, ${s.layers} layers)\n`,
  );
}

/** Writes the random model of `o` into o.out (new or empty) and says what it wrote. */
export async function writeRandomModel(o: Omit<InitModelOptions, 'json'>): Promise<InitModelSummary> {
  const folder = resolve(o.out);
  if (existsSync(folder) && readdirSync(folder).length > 0) {
    throw new FailedPreconditionError(`--out: ${o.out} exists and is not empty (a model is never written over another)`, '--out');
  }
  const tokenizer = await fromFlag('--tokenizer', () => loadTokenizer(o.tokenizer));
  const config = llamaConfig({
    dim: o.dim,
    nLayers: o.layers,
    nHeads: o.heads,
    nKvHeads: o.kvHeads ?? o.heads,
    hiddenDim: o.hidden,
    vocabSize: tokenizer.vocabSize,
    maxSeqLen: o.maxLength,
    tieEmbeddings: o.tieEmbeddings,
    bosId: tokenizer.bosId,
    eosId: tokenizer.eosId,
  });
  checkModelConfigLimits(config);
  await initBackend({ gradients: false });
  const model = randomModel(config, { seed: o.seed, std: o.std });
  const parameters = model.parameterCount;
  try {
    mkdirSync(folder, { recursive: true });
    writeHfModel(model, folder, { tokenizer: o.tokenizer });
  } finally {
    model.dispose();
  }
  return { out: folder, parameters, vocab_size: config.vocabSize, dim: config.dim, layers: config.nLayers, seed: o.seed };
}
