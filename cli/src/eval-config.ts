/**
 * `memorize eval --config` and `memorize sweep --config`: their YAML config files, tables of keys on the train
 * config's machinery (ConfigSchema in train-config.ts). An eval config maps to an EvaluationSpec; a sweep config is
 * a train config's corpus, model, train and locality sections (the same keys, so one file can start from the other)
 * with `layers`, `variants`, an `eval` section and `concurrency`, mapped to a SweepSpec.
 *
 * Refusals name the file and the key path, as train's: `sweep.yaml: unknown key "eval.shot"`,
 * `sweep.yaml: variants[2].memory.kind must be one of memory, dlp, simset, random, doc-key, got "mlp"`.
 */
import { common, evaluator } from '@memorize/contracts';
import { InvalidArgumentError } from '@memorize/errors';
import {
  MAX_FORWARD_BATCH,
  MAX_ITEMS_LIMIT,
  MAX_LABEL_LENGTH,
  MAX_NEW_TOKENS,
  MAX_POOL_PER_PAGE,
  MAX_SHOTS,
  MAX_SWEEP_LAYERS,
  MAX_SWEEP_VARIANTS,
  MODEL_LIMITS,
} from '@memorize/validation';
import {
  assign,
  checkMaskMode,
  configFields,
  ConfigSchema,
  convert,
  int,
  isMapping,
  MAX_U64,
  oneOf,
  path,
  readConfigFile,
  refuseValue,
  type ConfigField,
} from './train-config.js';

/** A parsed eval or sweep config: the spec to send, the file it came from, and its table (for error mapping). */
export interface JobConfig<Spec> {
  /** The file as the user named it (used in messages). */
  file: string;
  spec: Spec;
  schema: ConfigSchema;
}
export type EvalConfig = JobConfig<evaluator.EvaluationSpec>;
export type SweepConfig = JobConfig<evaluator.SweepSpec>;

type Where = { file: string; baseDir: string };

export const scoringModes: Readonly<Record<string, number>> = {
  loglik: evaluator.ScoringMode.SCORING_MODE_LOGLIK,
  generate: evaluator.ScoringMode.SCORING_MODE_GENERATE,
};

const maskSources = {
  oracle: common.MaskSource.MASK_SOURCE_ORACLE,
  context: common.MaskSource.MASK_SOURCE_CONTEXT,
  all: common.MaskSource.MASK_SOURCE_ALL,
  none: common.MaskSource.MASK_SOURCE_NONE,
};
const maskSourceDoc =
  "document-wise memories: the claim's evidence page (oracle), the prompt's own shingles (context), every entry (all) or none [the kind's default]";

/** The corpus and model keys of the train config (the same names and EvaluationSpec fields), and the split's. */
const corpusAndModel: readonly ConfigField[] = [
  ...configFields.filter((f) => f.key.startsWith('corpus.')),
  {
    key: 'corpus.pool_per_page',
    proto: 'pool_per_page',
    value: int(1, MAX_POOL_PER_PAGE),
    doc: "claims per page set aside as the few-shot pool; the page's other claims are evaluated [5]",
  },
  { key: 'corpus.split_seed', proto: 'split_seed', value: int(0, MAX_U64), doc: 'seed of the pool/evaluation split [0]' },
  ...configFields.filter((f) => f.key.startsWith('model.')),
];

/** How claims are scored: the eval section of both configs. */
const evalSettings: readonly ConfigField[] = [
  { key: 'eval.shots', proto: 'shots', value: int(0, MAX_SHOTS), doc: 'examples in each prompt [1]' },
  {
    key: 'eval.scoring',
    proto: 'scoring',
    value: oneOf(scoringModes),
    doc: 'loglik: the most probable of " (a)", " (b)", " (c)"; generate: greedy, the first a/b/c generated [generate]',
  },
  { key: 'eval.limit', proto: 'limit', value: int(0, MAX_ITEMS_LIMIT), doc: 'score at most N claims [0 = the whole evaluation set]' },
  { key: 'eval.max_new_tokens', proto: 'max_new_tokens', value: int(1, MAX_NEW_TOKENS), doc: 'generate mode: tokens generated per claim [8]' },
  { key: 'eval.batch_size', proto: 'batch_size', value: int(1, MAX_FORWARD_BATCH), doc: 'rows per forward pass (scores do not depend on it) [8]' },
  { key: 'eval.seed', proto: 'seed', value: int(0, MAX_U64), doc: 'seed of the bootstrap confidence interval [0]' },
];

/** Every key of an eval config. */
export const evalFields: readonly ConfigField[] = [
  ...corpusAndModel,
  { key: 'memory.path', proto: 'memory_path', value: path, doc: "memory file to attach (in model-host's memory root) [none: the pretrained model]" },
  { key: 'memory.mask_source', proto: 'mask_source', value: oneOf(maskSources), doc: maskSourceDoc },
  ...evalSettings,
  { key: 'eval.name', proto: 'name', value: { type: 'text', max: MAX_LABEL_LENGTH }, doc: "the evaluation's label in reports [from the memory]" },
];

/** The variant shorthands: a name standing for the variant's memory ("pretrained": none). */
export const variantShorthands: Readonly<Record<string, Partial<Record<string, unknown>> | undefined>> = {
  pretrained: undefined,
  memory: { kind: 'memory' },
  dlp: { kind: 'dlp' },
  'simset-2 dim': { kind: 'simset', shingle_k: 2, mode: 'dim' },
  'simset-2 token': { kind: 'simset', shingle_k: 2, mode: 'token' },
  random: { kind: 'random' },
  'doc-key': { kind: 'doc-key' },
};

/** "simset-K dim|token" for any K the memory takes, beside the listed shorthands. */
function shorthand(name: string): { known: boolean; memory?: Record<string, unknown> } {
  if (Object.hasOwn(variantShorthands, name)) return { known: true, memory: variantShorthands[name] && { ...variantShorthands[name] } };
  const simset = /^simset-(\d+) (dim|token)$/.exec(name);
  if (simset) return { known: true, memory: { kind: 'simset', shingle_k: BigInt(simset[1]), mode: simset[2] } };
  return { known: false };
}

/** The memory keys of a variant: train's memory section without the layer (the sweep's layers place it). */
const variantMemoryFields = configFields.filter((f) => f.key.startsWith('memory.') && f.key !== 'memory.layer');

const shorthandList = Object.keys(variantShorthands).join(', ');

/** One variant: a shorthand string, or {name, memory} (a name that is a shorthand gives the memory's defaults). */
function parseVariant(raw: unknown, where: Where, key: string): evaluator.SweepVariant {
  if (typeof raw === 'string') {
    const s = shorthand(raw);
    if (!s.known) return refuseValue(where, key, `a variant: one of ${shorthandList}, simset-K dim|token, or a mapping {name, memory}`, raw);
    return { name: raw, memory: s.memory && variantMemory(s.memory, where, `${key}.memory`) };
  }
  if (!isMapping(raw)) return refuseValue(where, key, 'a variant: a shorthand string or a mapping {name, memory}', raw);
  for (const k of Object.keys(raw))
    if (k !== 'name' && k !== 'memory') throw new InvalidArgumentError(`${where.file}: unknown key "${key}.${k}"`, `${key}.${k}`);
  const name = raw.name;
  if (name === undefined) throw new InvalidArgumentError(`${where.file}: ${key}.name is required`, `${key}.name`);
  if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_LABEL_LENGTH)
    return refuseValue(where, `${key}.name`, `a non-empty string of at most ${MAX_LABEL_LENGTH} characters`, name);
  const s = shorthand(name);
  if (raw.memory === undefined) {
    if (!s.known)
      throw new InvalidArgumentError(`${where.file}: ${key}.memory is required (${JSON.stringify(name)} is no shorthand)`, `${key}.memory`);
    return { name, memory: s.memory && variantMemory(s.memory, where, `${key}.memory`) };
  }
  if (!isMapping(raw.memory)) return refuseValue(where, `${key}.memory`, 'a mapping', raw.memory);
  if (s.known && !s.memory)
    throw new InvalidArgumentError(`${where.file}: ${key}.memory: the variant named "${name}" is the model without a memory`, `${key}.memory`);
  return { name, memory: variantMemory({ ...s.memory, ...raw.memory }, where, `${key}.memory`) };
}

/** A variant's memory section, checked like train's memory section, as a MemoryConfig. */
function variantMemory(fields: Record<string, unknown>, where: Where, prefix: string): common.MemoryConfig {
  const out: Record<string, unknown> = {};
  for (const [k, raw] of Object.entries(fields)) {
    if (k === 'layer')
      throw new InvalidArgumentError(`${where.file}: ${prefix}.layer: the sweep's layers place every memory; remove it`, `${prefix}.layer`);
    const field = variantMemoryFields.find((f) => f.key === `memory.${k}`);
    if (!field) throw new InvalidArgumentError(`${where.file}: unknown key "${prefix}.${k}"`, `${prefix}.${k}`);
    assign(out, k, convert(field, raw, where, `${prefix}.${k}`));
  }
  if (fields.kind === undefined) throw new InvalidArgumentError(`${where.file}: ${prefix}.kind is required`, `${prefix}.kind`);
  checkMaskMode(where, prefix, fields.kind, fields.mode);
  return common.MemoryConfig.fromPartial(out as Partial<common.MemoryConfig>);
}

const sweepSpecKeys = new Set(Object.keys(evaluator.SweepSpec.fromPartial({})));
const sweepSpecHas = (proto: string): boolean => sweepSpecKeys.has(proto.split('.')[0].replace(/_(\w)/g, (_, c: string) => c.toUpperCase()));

const inEvaluation = (f: ConfigField): ConfigField => ({ ...f, proto: `evaluation.${f.proto}` });

/** Every key of a sweep config. */
export const sweepFields: readonly ConfigField[] = [
  ...corpusAndModel.map(inEvaluation),
  // train's train and locality keys that a SweepSpec carries for every cell's run
  ...configFields.filter((f) => (f.key.startsWith('train.') || f.key.startsWith('locality.')) && sweepSpecHas(f.proto)),
  {
    key: 'layers',
    proto: 'layers',
    value: { type: 'list', item: int(0, MODEL_LIMITS.nLayers.max - 1), max: MAX_SWEEP_LAYERS },
    doc: 'blocks (0-based) to place each memory variant at: one cell per variant and layer; required with a memory variant',
  },
  {
    key: 'variants',
    proto: 'variants',
    value: {
      type: 'custom',
      text: `list of variants`,
      parse: (raw, where, key) => {
        if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_SWEEP_VARIANTS)
          return refuseValue(where, key, `a list of 1..${MAX_SWEEP_VARIANTS} variants`, raw);
        return raw.map((v, i) => parseVariant(v, where, `${key}[${i}]`));
      },
    },
    required: true,
    doc: `each a shorthand (${shorthandList}, simset-K dim|token) or {name, memory: {kind, ...train's memory keys but layer}}; a variant without memory is the pretrained model, evaluated once`,
  },
  ...evalSettings.map(inEvaluation),
  { ...inEvaluation(evalFields.find((f) => f.key === 'memory.mask_source')!), key: 'eval.mask_source' },
  {
    key: 'concurrency',
    proto: 'concurrency',
    value: int(0, 64),
    doc: 'cells evaluated at once, each on the least loaded model-host [0 = one per model-host]',
  },
];

export const evalSchema = new ConfigSchema(evalFields, 'sections (corpus, model, memory, eval)', 'configs/eval.example.yaml');
export const sweepSchema = new ConfigSchema(
  sweepFields,
  'sections and keys (corpus, model, train, locality, layers, variants, eval, concurrency)',
  'configs/sweep.example.yaml',
);

/** Parses an eval config's text (relative paths against `baseDir`, the config file's folder). */
export function parseEvalConfig(text: string, file: string, baseDir: string): EvalConfig {
  const values = evalSchema.values(text, file);
  evalSchema.requireKeys(values, file);
  const spec = evaluator.EvaluationSpec.fromPartial(evalSchema.build(values, { file, baseDir }) as Partial<evaluator.EvaluationSpec>);
  return { file, spec, schema: evalSchema };
}

/** Parses a sweep config's text (relative paths against `baseDir`, the config file's folder). */
export function parseSweepConfig(text: string, file: string, baseDir: string): SweepConfig {
  let values: Map<string, unknown>;
  try {
    values = sweepSchema.values(text, file);
  } catch (error) {
    // A train config's memory section, output or job: say where a sweep's memories come from.
    const m = /unknown key "((memory|output|job)(\.\w+)?)"$/.exec((error as Error).message);
    if (m)
      throw new InvalidArgumentError(
        `${file}: unknown key "${m[1]}" (a sweep trains one memory per variant and layer: put memory settings in variants)`,
        m[1],
      );
    throw error;
  }
  sweepSchema.requireKeys(values, file);
  const built = sweepSchema.build(values, { file, baseDir }) as Record<string, unknown> & { variants: evaluator.SweepVariant[]; layers?: number[] };
  if (!built.layers?.length && built.variants.some((v) => v.memory))
    throw new InvalidArgumentError(`${file}: layers is required when a variant has a memory`, 'layers');
  const seen = new Set<string>();
  built.variants.forEach((v, i) => {
    if (seen.has(v.name))
      throw new InvalidArgumentError(`${file}: variants[${i}] repeats the variant name ${JSON.stringify(v.name)}`, `variants[${i}]`);
    seen.add(v.name);
  });
  const layers = built.layers ?? [];
  layers.forEach((l, i) => {
    if (layers.indexOf(l) !== i) throw new InvalidArgumentError(`${file}: layers[${i}] repeats layer ${l}`, `layers[${i}]`);
  });
  const spec = evaluator.SweepSpec.fromPartial({
    ...(built as Partial<evaluator.SweepSpec>),
    evaluation: evaluator.EvaluationSpec.fromPartial((built.evaluation ?? {}) as Partial<evaluator.EvaluationSpec>),
    training: common.TrainingConfig.fromPartial((built.training ?? {}) as Partial<common.TrainingConfig>),
  });
  return { file, spec, schema: sweepSchema };
}

export function loadEvalConfig(file: string): EvalConfig {
  const { text, baseDir } = readConfigFile(file);
  return parseEvalConfig(text, file, baseDir);
}

export function loadSweepConfig(file: string): SweepConfig {
  const { text, baseDir } = readConfigFile(file);
  return parseSweepConfig(text, file, baseDir);
}

/**
 * The config key of a spec field the evaluator named ("spec.evaluation.claims_path" -> "corpus.claims",
 * "spec.variants[2].memory.entries" -> "variants[2].memory.entries"), or undefined.
 */
export function jobConfigKeyOf(schema: ConfigSchema, field: string): string | undefined {
  const variant = /^(?:spec\.)?(variants\[\d+\](?:\.memory(?:\.\w+)?)?)/.exec(field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
  if (variant && schema === sweepSchema) return variant[1];
  return schema.keyOf(field);
}
