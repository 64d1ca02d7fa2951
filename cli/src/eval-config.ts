/**
 * `memorize eval --config` and `memorize sweep --config`: their YAML config files, tables of keys on the train
 * config's machinery (ConfigSchema in train-config.ts). An eval config maps to an EvaluationSpec; a sweep config is
 * a train config's corpus, model, train and locality sections (the same keys, so one file can start from the other)
 * with `layers`, `variants`, an `eval` section and `concurrency`, mapped to a SweepSpec. A variant is a memory (one
 * cell per layer), the pretrained model, or the `full` fine-tuning control (every weight trained on the corpus, with
 * optional replay claim rows and its own training over the sweep's train section).
 *
 * Refusals name the file and the key path, as train's: `sweep.yaml: unknown key "eval.shot"`,
 * `sweep.yaml: variants[2].memory.kind must be one of memory, dlp, simset, random, doc-key, got "mlp"`.
 */
import { common, evaluator } from '@memorize/contracts';
import { InvalidArgumentError } from '@memorize/errors';
import {
  MAX_CLAIM_ROW_SHOTS,
  MAX_CLAIM_ROWS,
  MAX_FORWARD_BATCH,
  MAX_ITEMS_LIMIT,
  MAX_LABEL_LENGTH,
  MAX_LOSS_WEIGHT,
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
  num,
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

const evaluationSpecKeys = new Set(Object.keys(evaluator.EvaluationSpec.fromPartial({})));
const camel = (proto: string): string => proto.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

/**
 * The corpus and model keys of the train config (the same names and EvaluationSpec fields; train's corpus keys
 * that only a training run has, such as all_pages, are not evaluation keys), and the split's.
 */
const corpusAndModel: readonly ConfigField[] = [
  ...configFields.filter((f) => f.key.startsWith('corpus.') && evaluationSpecKeys.has(camel(f.proto))),
  {
    key: 'corpus.pool_per_page',
    proto: 'pool_per_page',
    value: int(1, MAX_POOL_PER_PAGE),
    doc: "claims per page set aside as the few-shot pool; the page's other claims are evaluated [5]",
  },
  { key: 'corpus.split_seed', proto: 'split_seed', value: int(0, MAX_U64), doc: 'seed of the pool/evaluation split [0]' },
  ...configFields.filter((f) => f.key.startsWith('model.') && evaluationSpecKeys.has(camel(f.proto))),
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

/** The shorthand of the full fine-tuning control: every weight of the model trained on the corpus, no memory. */
export const FULL_VARIANT = 'full';

/** "simset-K dim|token" for any K the memory takes, beside the listed shorthands; "full" for the full control. */
function shorthand(name: string): { known: boolean; memory?: Record<string, unknown>; full?: boolean } {
  if (name === FULL_VARIANT) return { known: true, full: true };
  if (Object.hasOwn(variantShorthands, name)) return { known: true, memory: variantShorthands[name] && { ...variantShorthands[name] } };
  const simset = /^simset-(\d+) (dim|token)$/.exec(name);
  if (simset) return { known: true, memory: { kind: 'simset', shingle_k: BigInt(simset[1]), mode: simset[2] } };
  return { known: false };
}

/** The memory keys of a variant: train's memory section without the layer (the sweep's layers place it). */
const variantMemoryFields = configFields.filter((f) => f.key.startsWith('memory.') && f.key !== 'memory.layer');

const shorthandList = [...Object.keys(variantShorthands), FULL_VARIANT].join(', ');

/**
 * The replay keys of a full variant (ClaimRows): claims trained on as k-shot rows with their gold answers beside
 * the corpus's pages, so the fine-tune does not forget the task.
 */
export const replayFields: readonly ConfigField[] = [
  {
    key: 'claims_path',
    proto: 'claims_path',
    value: path,
    doc: "claims JSONL whose claims become rows (in data's data root) [corpus.claims]",
  },
  { key: 'per_epoch', proto: 'per_epoch', value: int(0, MAX_CLAIM_ROWS), doc: 'rows drawn anew each epoch [0 = every claim once]' },
  {
    key: 'answer_weight',
    proto: 'answer_weight',
    value: num(0, MAX_LOSS_WEIGHT),
    doc: "loss weight of a row's answer letter (every other token weighs 1) [1]",
  },
  { key: 'shots', proto: 'shots', value: int(0, MAX_CLAIM_ROW_SHOTS), doc: "examples in each row's prompt [1]" },
];

/** A variant's own training keys: train's keys of the TrainingConfig (not eval_every, which is the sweep's), bare. */
export const variantTrainingFields: readonly ConfigField[] = configFields
  .filter((f) => f.key.startsWith('train.') && f.proto.startsWith('training.'))
  .map((f) => ({ ...f, key: f.key.slice('train.'.length), proto: f.proto.slice('training.'.length) }));

const boolField: ConfigField = { key: 'full', proto: 'full', value: { type: 'bool' }, doc: 'the full fine-tuning control' };

/** A variant as parsed: its training holds only the keys it sets (the sweep's train section goes under them). */
type ParsedVariant = Omit<evaluator.SweepVariant, 'training'> & { training?: Record<string, unknown> };

/** A mapping of `fields` (keys bare, as in the variant), each value checked; unknown keys refused. */
function variantSection(raw: unknown, fields: readonly ConfigField[], where: Where, prefix: string): Record<string, unknown> {
  if (!isMapping(raw)) return refuseValue(where, prefix, 'a mapping', raw);
  const out: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(raw)) {
    const field = fields.find((f) => f.key === k);
    if (!field) throw new InvalidArgumentError(`${where.file}: unknown key "${prefix}.${k}"`, `${prefix}.${k}`);
    assign(out, field.proto, convert(field, value, where, `${prefix}.${k}`));
  }
  return out;
}

const VARIANT_KEYS: ReadonlySet<string> = new Set(['name', 'memory', 'full', 'replay', 'training']);

/**
 * One variant: a shorthand string, {name, memory} (a name that is a shorthand gives the memory's defaults), or the
 * full control {name, full: true, replay, training} ("full" as a name is full: true).
 */
function parseVariant(raw: unknown, where: Where, key: string): ParsedVariant {
  if (typeof raw === 'string') {
    const s = shorthand(raw);
    if (!s.known)
      return refuseValue(
        where,
        key,
        `a variant: one of ${shorthandList}, simset-K dim|token, or a mapping {name, memory} or {name, full: true}`,
        raw,
      );
    if (s.full) return { name: raw, memory: undefined, full: true, replay: undefined };
    return { name: raw, memory: s.memory && variantMemory(s.memory, where, `${key}.memory`), full: false, replay: undefined };
  }
  if (!isMapping(raw)) return refuseValue(where, key, 'a variant: a shorthand string or a mapping {name, memory} or {name, full: true}', raw);
  for (const k of Object.keys(raw))
    if (!VARIANT_KEYS.has(k)) throw new InvalidArgumentError(`${where.file}: unknown key "${key}.${k}"`, `${key}.${k}`);
  const name = raw.name;
  if (name === undefined) throw new InvalidArgumentError(`${where.file}: ${key}.name is required`, `${key}.name`);
  if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_LABEL_LENGTH)
    return refuseValue(where, `${key}.name`, `a non-empty string of at most ${MAX_LABEL_LENGTH} characters`, name);
  const s = shorthand(name);
  const fullFlag = raw.full === undefined ? undefined : (convert(boolField, raw.full, where, `${key}.full`) as boolean);
  if (s.full && fullFlag === false)
    throw new InvalidArgumentError(`${where.file}: ${key}.full: the variant named "${name}" is the full fine-tuning control`, `${key}.full`);
  const training = raw.training === undefined ? undefined : variantSection(raw.training, variantTrainingFields, where, `${key}.training`);
  if (fullFlag ?? s.full) {
    if (raw.memory !== undefined)
      throw new InvalidArgumentError(
        `${where.file}: ${key}.memory: a full variant fine-tunes the model itself and has no memory; remove it`,
        `${key}.memory`,
      );
    const replay =
      raw.replay === undefined
        ? undefined
        : common.ClaimRows.fromPartial(variantSection(raw.replay, replayFields, where, `${key}.replay`) as Partial<common.ClaimRows>);
    return { name, memory: undefined, full: true, replay, training };
  }
  if (raw.replay !== undefined)
    throw new InvalidArgumentError(`${where.file}: ${key}.replay is only for a full variant (full: true)`, `${key}.replay`);
  const variant = parseMemoryVariant(raw, name, s, where, key);
  if (training !== undefined && !variant.memory)
    throw new InvalidArgumentError(
      `${where.file}: ${key}.training: the variant "${name}" is the model without a memory and trains nothing`,
      `${key}.training`,
    );
  return { ...variant, full: false, replay: undefined, training };
}

/** A memory (or pretrained) variant mapping's memory: its own keys over its shorthand name's. */
function parseMemoryVariant(
  raw: Record<string, unknown>,
  name: string,
  s: ReturnType<typeof shorthand>,
  where: Where,
  key: string,
): { name: string; memory: common.MemoryConfig | undefined } {
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
    doc:
      `each a shorthand (${shorthandList}, simset-K dim|token), {name, memory: {kind, ...train's memory keys but layer}} or ` +
      `{name, full: true, replay: {${replayFields.map((f) => f.key).join(', ')}}, training: {train's keys but eval_every, over the train section}}; ` +
      'a variant without memory (pretrained, and the full fine-tuning control) is one cell without a layer',
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
  const built = sweepSchema.build(values, { file, baseDir }) as Record<string, unknown> & {
    variants: ParsedVariant[];
    layers?: number[];
    training?: Record<string, unknown>;
  };
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
    // A variant's training keys go over the sweep's train section (a full fine-tune changes the learning rate, say,
    // and keeps the steps).
    variants: built.variants.map((v) => ({
      ...v,
      training: v.training && common.TrainingConfig.fromPartial({ ...built.training, ...v.training } as Partial<common.TrainingConfig>),
    })),
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
 * "spec.variants[2].memory.entries" -> "variants[2].memory.entries", "spec.variants[1].training.learning_rate" ->
 * "variants[1].training.lr"), or undefined.
 */
export function jobConfigKeyOf(schema: ConfigSchema, field: string): string | undefined {
  const variant = /^(?:spec\.)?(variants\[\d+\])(?:\.(memory|full|replay|training)(?:\.(\w+))?)?/.exec(
    field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
  );
  if (variant && schema === sweepSchema) {
    const [, at, section, leaf] = variant;
    if (section === 'training' && leaf !== undefined) {
      const f = variantTrainingFields.find((t) => t.proto === leaf);
      return f ? `${at}.training.${f.key}` : `${at}.training`;
    }
    return [at, section, leaf].filter((part) => part !== undefined).join('.');
  }
  return schema.keyOf(field);
}
