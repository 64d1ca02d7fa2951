/**
 * Sane limits for a model configuration, checked before anything is allocated: each dimension in range, heads
 * divisible by KV heads, and the bytes the weights (float32) and RoPE tables will take against a memory budget.
 * The config shape is structural (libs/lm's ModelConfig satisfies it), so libs/lm can call this without this lib
 * knowing libs/lm.
 */
import { freemem } from 'node:os';
import { z } from 'zod';
import { InvalidArgumentError, ResourceExhaustedError } from '@memorize/errors';
import { show } from './fields.js';
import { MAX_CONTEXT_LENGTH } from './limits.js';

/** The fields of a model configuration this check reads (libs/lm ModelConfig has them all). */
export interface ModelConfigShape {
  arch?: string;
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Default dim / nHeads. */
  headDim?: number;
  hiddenDim: number;
  vocabSize: number;
  maxSeqLen: number;
  /** Default headDim. */
  rotaryDim?: number;
  /** The classifier shares the embedding matrix (no separate weights). */
  tieEmbeddings?: boolean;
}

type Dimension = 'dim' | 'nLayers' | 'nHeads' | 'nKvHeads' | 'headDim' | 'hiddenDim' | 'vocabSize' | 'maxSeqLen' | 'rotaryDim';

/** Inclusive range of every dimension. */
export const MODEL_LIMITS: Record<Exclude<Dimension, 'rotaryDim'>, { min: number; max: number }> = {
  dim: { min: 1, max: 1 << 16 },
  nLayers: { min: 1, max: 1024 },
  nHeads: { min: 1, max: 1024 },
  nKvHeads: { min: 1, max: 1024 },
  headDim: { min: 1, max: 4096 },
  hiddenDim: { min: 1, max: 1 << 18 },
  vocabSize: { min: 1, max: 1 << 20 },
  maxSeqLen: { min: 1, max: MAX_CONTEXT_LENGTH },
};

export interface ModelBytes {
  /** Parameters the weights hold. */
  parameters: number;
  /** parameters x 4 (float32, as tfjs holds them). */
  weightBytes: number;
  /** RoPE cos and sin tables: 2 x maxSeqLen x headDim float32. */
  ropeBytes: number;
  weightAndRopeBytes: number;
}

/** Bytes a configuration will allocate when loaded (exact for Llama; GPT-NeoX including its biases). */
export function estimateModelBytes(c: ModelConfigShape): ModelBytes {
  const headDim = c.headDim ?? c.dim / c.nHeads;
  const q = c.nHeads * headDim;
  const kv = c.nKvHeads * headDim;
  const neox = c.arch === 'gpt_neox';
  const attention = neox ? c.dim * 3 * q + 3 * q + q * c.dim + c.dim : c.dim * q + 2 * c.dim * kv + q * c.dim;
  const mlp = neox ? 2 * c.dim * c.hiddenDim + c.hiddenDim + c.dim : 3 * c.dim * c.hiddenDim;
  const norms = neox ? 4 * c.dim : 2 * c.dim;
  const embeddings = c.vocabSize * c.dim * (c.tieEmbeddings ? 1 : 2);
  const parameters = embeddings + c.nLayers * (attention + mlp + norms) + (neox ? 2 : 1) * c.dim;
  const weightBytes = parameters * 4;
  const ropeBytes = 2 * c.maxSeqLen * headDim * 4;
  return { parameters, weightBytes, ropeBytes, weightAndRopeBytes: weightBytes + ropeBytes };
}

export interface ModelConfigLimitOptions {
  /** Bytes the model may take; default os.freemem() at the call. */
  budgetBytes?: number;
  /**
   * Names of the dimensions in messages and fields, as the file names them (@memorize/lm's HF_CONFIG_FIELDS or
   * LLAMA2C_HEADER_FIELDS); default the internal names.
   */
  fields?: Partial<Record<Dimension, string>>;
  /** Prefix of messages (the file the config came from); default "config". */
  source?: string;
}

const dimensionSchema = (d: Exclude<Dimension, 'rotaryDim'>): z.ZodNumber =>
  z
    .number({ error: `must be an integer in ${MODEL_LIMITS[d].min}..${MODEL_LIMITS[d].max}` })
    .int()
    .gte(MODEL_LIMITS[d].min)
    .lte(MODEL_LIMITS[d].max);

const configSchema = z
  .object({
    dim: dimensionSchema('dim'),
    nLayers: dimensionSchema('nLayers'),
    nHeads: dimensionSchema('nHeads'),
    nKvHeads: dimensionSchema('nKvHeads'),
    headDim: dimensionSchema('headDim').optional(),
    hiddenDim: dimensionSchema('hiddenDim'),
    vocabSize: dimensionSchema('vocabSize'),
    maxSeqLen: dimensionSchema('maxSeqLen'),
    rotaryDim: z.number({ error: 'must be an even integer' }).int().gte(0).optional(),
  })
  .superRefine((c, issue) => {
    if (c.nHeads % c.nKvHeads !== 0)
      issue.addIssue({ code: 'custom', path: ['nKvHeads'], message: `must divide the ${c.nHeads} attention heads`, input: c.nKvHeads });
    const headDim = c.headDim ?? c.dim / c.nHeads;
    if (c.headDim === undefined && !Number.isInteger(headDim))
      issue.addIssue({ code: 'custom', path: ['nHeads'], message: `must divide the hidden size ${c.dim}`, input: c.nHeads });
    if (c.rotaryDim !== undefined && (c.rotaryDim % 2 !== 0 || c.rotaryDim > headDim))
      issue.addIssue({
        code: 'custom',
        path: ['rotaryDim'],
        message: `must be an even integer of at most the head dimension ${headDim}`,
        input: c.rotaryDim,
      });
  });

/**
 * Throws InvalidArgumentError (field: the config's own name of the dimension, e.g. max_position_embeddings) when a
 * dimension is out of MODEL_LIMITS or the heads do not divide, and ResourceExhaustedError (field "config") when the
 * weights and RoPE tables would take more than the budget. Call it before allocating anything.
 */
export function checkModelConfigLimits(config: ModelConfigShape, options: ModelConfigLimitOptions = {}): ModelBytes {
  const fields = options.fields ?? {};
  const source = options.source ?? 'config';
  const result = configSchema.safeParse(config, { reportInput: true });
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = fields[issue.path[0] as Dimension] ?? String(issue.path[0]);
    const got = issue.message.startsWith('must') ? `, got ${show(issue.input)}` : '';
    throw new InvalidArgumentError(`${source}: ${field} ${issue.message}${got}`, field);
  }
  const bytes = estimateModelBytes(config);
  const budget = options.budgetBytes ?? freemem();
  if (bytes.weightAndRopeBytes > budget) {
    const mb = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
    throw new ResourceExhaustedError(
      `${source}: the model needs ${mb(bytes.weightAndRopeBytes)} (${bytes.parameters} parameters x 4 bytes = ${mb(bytes.weightBytes)}, ` +
        `RoPE tables ${mb(bytes.ropeBytes)}), more than the ${mb(budget)} available`,
      'config',
    );
  }
  return bytes;
}
