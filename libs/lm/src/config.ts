/**
 * One config shape for every supported decoder-only architecture. Loaders translate HF config.json or a
 * llama2.c header into it; the model reads nothing else.
 */
import { InvalidArgumentError } from '@memorize/errors';

export type Architecture = 'llama' | 'gpt_neox';
/**
 * Which dimensions RoPE rotates together: 'half' pairs i with i + rotaryDim/2 (HF rotate_half, GPT-NeoX),
 * 'interleaved' pairs 2i with 2i+1 (llama2.c run.c, Meta's original checkpoints).
 */
export type RopeStyle = 'half' | 'interleaved';
export type HiddenAct = 'silu' | 'gelu' | 'gelu_tanh' | 'relu';

export interface ModelConfig {
  arch: Architecture;
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  hiddenDim: number;
  vocabSize: number;
  maxSeqLen: number;
  normEps: number;
  ropeTheta: number;
  ropeStyle: RopeStyle;
  /** Dimensions per head that RoPE rotates (GPT-NeoX rotates a fraction; Llama all of them). */
  rotaryDim: number;
  /** Classifier shares the token embedding matrix. */
  tieEmbeddings: boolean;
  /** GPT-NeoX: x + attn(ln1(x)) + mlp(ln2(x)) instead of two sequential residual updates. */
  parallelResidual: boolean;
  hiddenAct: HiddenAct;
  bosId: number;
  eosId: number;
}

/** How a configuration file names each field (config.json keys, llama2.c header fields), for error messages. */
export type ConfigFieldNames = Partial<Record<keyof ModelConfig, string>>;

/** The HF config.json keys of the dimensions (validateConfig here, checkModelConfigLimits in @memorize/validation). */
export const HF_CONFIG_FIELDS = {
  dim: 'hidden_size',
  nLayers: 'num_hidden_layers',
  nHeads: 'num_attention_heads',
  nKvHeads: 'num_key_value_heads',
  headDim: 'head_dim',
  hiddenDim: 'intermediate_size',
  vocabSize: 'vocab_size',
  maxSeqLen: 'max_position_embeddings',
  rotaryDim: 'rotary_dim',
} as const satisfies ConfigFieldNames;

/** The llama2.c header's field names (run.c's Config; head_dim and rotary_dim are derived, dim / n_heads). */
export const LLAMA2C_HEADER_FIELDS = {
  dim: 'dim',
  nLayers: 'n_layers',
  nHeads: 'n_heads',
  nKvHeads: 'n_kv_heads',
  headDim: 'head_dim',
  hiddenDim: 'hidden_dim',
  vocabSize: 'vocab_size',
  maxSeqLen: 'seq_len',
  rotaryDim: 'rotary_dim',
} as const satisfies ConfigFieldNames;

/**
 * Structural checks of a configuration; errors name the field as the file names it (`names`, e.g.
 * HF_CONFIG_FIELDS) so a client sees `max_position_embeddings`, not an internal name.
 */
export function validateConfig(c: ModelConfig, source = 'config', names: ConfigFieldNames = {}): ModelConfig {
  const name = (k: keyof ModelConfig): string => names[k] ?? k;
  const positive: (keyof ModelConfig)[] = ['dim', 'nLayers', 'nHeads', 'nKvHeads', 'headDim', 'hiddenDim', 'vocabSize', 'maxSeqLen'];
  for (const k of positive) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new InvalidArgumentError(`${source}: ${name(k)} must be a positive integer, got ${String(v)}`, name(k));
    }
  }
  if (c.nHeads % c.nKvHeads !== 0) {
    throw new InvalidArgumentError(
      `${source}: ${name('nHeads')} ${c.nHeads} is not a multiple of ${name('nKvHeads')} ${c.nKvHeads}`,
      name('nKvHeads'),
    );
  }
  if (c.rotaryDim % 2 !== 0 || c.rotaryDim > c.headDim || c.rotaryDim < 0) {
    throw new InvalidArgumentError(
      `${source}: rotary dimension ${c.rotaryDim} must be even and at most the head dimension ${c.headDim}`,
      name('rotaryDim'),
    );
  }
  return c;
}

/** Canonical JSON (sorted keys) of the config, the first input of the model fingerprint. */
export function canonicalConfigJson(c: ModelConfig): string {
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(c).sort()) sorted[k] = c[k as keyof ModelConfig];
  return JSON.stringify(sorted);
}

export function llamaConfig(
  partial: Partial<ModelConfig> & Pick<ModelConfig, 'dim' | 'nLayers' | 'nHeads' | 'hiddenDim' | 'vocabSize'>,
): ModelConfig {
  const headDim = partial.headDim ?? partial.dim / partial.nHeads;
  return validateConfig({
    arch: 'llama',
    nKvHeads: partial.nHeads,
    headDim,
    maxSeqLen: 2048,
    normEps: 1e-5,
    ropeTheta: 10000,
    ropeStyle: 'half',
    rotaryDim: headDim,
    tieEmbeddings: false,
    parallelResidual: false,
    hiddenAct: 'silu',
    bosId: 1,
    eosId: 2,
    ...partial,
  });
}
