/**
 * `memorize train --config FILE.yaml`: the run configuration file, and the machinery every config file shares
 * (ConfigSchema: eval and sweep configs in eval-config.ts use it). One table (`configFields`) lists every key
 * with its type, range, the RunSpec field it fills and its documentation; parsing, the `--help` text, and the
 * mapping of a service's field errors back to config keys are all read from it.
 *
 * Refusals are InvalidArgumentErrors whose message names the file (as the user gave it) and the key path:
 * `train.yaml: unknown key "train.lerning_rate"`, `train.yaml: train.epochs must be an integer >= 1, got 0`.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { common, trainer } from '@memorize/contracts';
import { InvalidArgumentError } from '@memorize/errors';
import {
  MAX_ANCHOR_SAMPLES,
  MAX_LOCALITY_SAMPLES,
  MAX_CONTEXT_LENGTH,
  MAX_DOCUMENTS,
  MAX_CLAIM_ROW_SHOTS,
  MAX_CLAIM_ROWS,
  MAX_EPOCHS,
  MAX_EPSILON,
  MAX_GRAD_CLIP,
  MAX_INIT_MAGNITUDE,
  MAX_KEY_DIM,
  MAX_LEARNING_RATE,
  MAX_LOSS_WEIGHT,
  MAX_MEMORY_ENTRIES,
  MAX_NEW_TOKENS,
  MAX_PATH_LENGTH,
  MAX_SHINGLE_K,
  MAX_STEPS,
  MAX_TOP_N,
  MAX_TRAIN_BATCH,
  MAX_WEIGHT_DECAY,
  MODEL_LIMITS,
} from '@memorize/validation';

export const MAX_U64 = (1n << 64n) - 1n;

/** What a key's value must be. */
export type FieldType =
  | { type: 'path' }
  | { type: 'int'; min: bigint; max: bigint }
  | { type: 'number'; min: number; max: number; minOpen?: boolean; maxOpen?: boolean }
  | { type: 'bool' }
  | { type: 'text'; max: number }
  | { type: 'enum'; values: Readonly<Record<string, number>> }
  | { type: 'list'; item: FieldType; max: number }
  /** Checked and converted by `parse` (a sweep's variants); `text` describes it in --help. */
  | { type: 'custom'; text: string; parse: (raw: unknown, where: { file: string; baseDir: string }, key: string) => unknown };

export interface ConfigField {
  /** Key path in the file: "train.lr". */
  key: string;
  /** RunSpec field it fills, snake_case as in the .proto: "training.learning_rate". */
  proto: string;
  value: FieldType;
  /** One line of documentation (defaults in brackets). */
  doc: string;
  required?: boolean;
}

export const int = (min: number | bigint, max: number | bigint): FieldType => ({ type: 'int', min: BigInt(min), max: BigInt(max) });
export const num = (min: number, max: number, open: { minOpen?: boolean; maxOpen?: boolean } = {}): FieldType => ({
  type: 'number',
  min,
  max,
  ...open,
});
export const path: FieldType = { type: 'path' };
const bool: FieldType = { type: 'bool' };
export const oneOf = (values: Record<string, number>): FieldType => ({ type: 'enum', values });

/** The memory kinds by their config (and CLI) names. */
export const memoryKinds: Readonly<Record<string, number>> = {
  memory: common.MemoryKind.MEMORY_KIND_MEMORY,
  dlp: common.MemoryKind.MEMORY_KIND_DLP,
  simset: common.MemoryKind.MEMORY_KIND_SIMSET,
  random: common.MemoryKind.MEMORY_KIND_RANDOM,
  'doc-key': common.MemoryKind.MEMORY_KIND_DOC_KEY,
};

/** Every key of a train config, in the order the documentation lists them. */
export const configFields: readonly ConfigField[] = [
  { key: 'corpus.claims', proto: 'claims_path', value: path, required: true, doc: 'FEVER claims JSONL (paper_test.jsonl)' },
  { key: 'corpus.pages', proto: 'pages_path', value: path, required: true, doc: 'FEVER wiki-pages JSONL' },
  { key: 'corpus.assignment', proto: 'assignment_path', value: path, doc: 'page assignment sidecar JSONL (NOT ENOUGH INFO claims) [none]' },
  { key: 'corpus.top', proto: 'top_n', value: int(0, MAX_TOP_N), doc: 'memorize the N pages with most claims [0 = every page with claims]' },
  {
    key: 'corpus.all_pages',
    proto: 'all_pages',
    value: bool,
    doc: 'every page of corpus.pages is a training document, not only pages with claims (pretraining text) [false]',
  },
  {
    key: 'train.measure_rows',
    proto: 'measure_rows',
    value: int(0, MAX_CLAIM_ROWS),
    doc: 'measure the memorization error on the first N corpus rows only [0 = every row]',
  },
  {
    key: 'claim_rows.claims',
    proto: 'claim_rows.claims_path',
    value: path,
    doc: 'claims trained on as k-shot prompts with their gold answer (the task itself) [corpus.claims when claim_rows is set]',
  },
  {
    key: 'claim_rows.per_epoch',
    proto: 'claim_rows.per_epoch',
    value: int(0, MAX_CLAIM_ROWS),
    doc: 'claim rows drawn anew each epoch, beside the pages [0 = every claim once]',
  },
  {
    key: 'claim_rows.answer_weight',
    proto: 'claim_rows.answer_weight',
    value: num(0, MAX_LOSS_WEIGHT),
    doc: "loss weight of a claim row's answer letter (every other token weighs 1) [1]",
  },
  {
    key: 'claim_rows.shots',
    proto: 'claim_rows.shots',
    value: int(0, MAX_CLAIM_ROW_SHOTS),
    doc: "examples in each claim row's prompt, drawn anew each epoch from the other claims [1]",
  },
  { key: 'model.path', proto: 'model_path', value: path, required: true, doc: 'base model: HF folder or llama2.c .bin' },
  { key: 'model.tokenizer', proto: 'tokenizer_path', value: path, doc: 'tokenizer.json / tokenizer.bin [beside the model]' },
  {
    key: 'memory.kind',
    proto: 'memory.kind',
    value: oneOf(memoryKinds),
    doc: 'the memory module (required for job memory)',
  },
  {
    key: 'memory.layer',
    proto: 'memory.layer',
    value: int(0, MODEL_LIMITS.nLayers.max - 1),
    doc: 'block (0-based) after which the memory adds to the residual stream [0]',
  },
  { key: 'memory.entries', proto: 'memory.entries', value: int(1, MAX_MEMORY_ENTRIES), doc: 'memory entries m (hidden units) [128]' },
  {
    key: 'memory.mode',
    proto: 'memory.mode',
    value: oneOf({ dim: common.MaskMode.MASK_MODE_DIM, token: common.MaskMode.MASK_MODE_TOKEN }),
    doc: 'document-wise mask mode; token for simset only [dim]',
  },
  { key: 'memory.shingle_k', proto: 'memory.shingle_k', value: int(1, MAX_SHINGLE_K), doc: 'shingle length k (simset, token mode) [2]' },
  { key: 'memory.alpha', proto: 'memory.alpha', value: num(0, 1), doc: 'soft-mask strength, 0 = no bias .. 1 = hard mask [1]' },
  { key: 'memory.seed', proto: 'memory.seed', value: int(0, MAX_U64), doc: 'seed of entry hashing, random sets, keys and initialisation [0]' },
  { key: 'memory.layer_norm', proto: 'memory.layer_norm', value: bool, doc: 'LayerNorm on the memory output [true]' },
  { key: 'memory.gate', proto: 'memory.gate', value: bool, doc: 'learned scalar output gate [true]' },
  {
    key: 'memory.gelu',
    proto: 'memory.gelu',
    value: oneOf({ erf: common.Gelu.GELU_ERF, tanh: common.Gelu.GELU_TANH }),
    doc: 'GELU variant [erf]',
  },
  {
    key: 'memory.set_probability',
    proto: 'memory.set_probability',
    value: num(0, 1, { minOpen: true }),
    doc: "simset threshold p in (0, 1] [match dlp's mean set size]",
  },
  { key: 'memory.key_dim', proto: 'memory.key_dim', value: int(1, MAX_KEY_DIM), doc: 'doc-key: dimension of the random document keys [64]' },
  {
    key: 'memory.key_generator',
    proto: 'memory.key_generator',
    value: oneOf({ linear: common.KeyGenerator.KEY_GENERATOR_LINEAR, nonlinear: common.KeyGenerator.KEY_GENERATOR_NONLINEAR }),
    doc: 'doc-key: key generator [linear]',
  },
  {
    key: 'memory.key_activation',
    proto: 'memory.key_activation',
    value: oneOf({
      tanh: common.KeyActivation.KEY_ACTIVATION_TANH,
      relu: common.KeyActivation.KEY_ACTIVATION_RELU,
      sigmoid: common.KeyActivation.KEY_ACTIVATION_SIGMOID,
    }),
    doc: 'doc-key: key activation [sigmoid]',
  },
  { key: 'memory.guidance_weight', proto: 'memory.guidance_weight', value: num(0, MAX_LOSS_WEIGHT), doc: 'doc-key: weight of the guidance term [1]' },
  {
    key: 'memory.guidance_margin',
    proto: 'memory.guidance_margin',
    value: num(0, MAX_LOSS_WEIGHT),
    doc: 'doc-key: guidance margin tau, nats per token [3]',
  },
  { key: 'memory.gate_init', proto: 'memory.gate_init', value: num(-MAX_INIT_MAGNITUDE, MAX_INIT_MAGNITUDE), doc: 'initial output gate g [1]' },
  { key: 'memory.zero_init_down', proto: 'memory.zero_init_down', value: bool, doc: 'initialise W_down to zero (LoRA-style) [false]' },
  {
    key: 'memory.up_bias_init',
    proto: 'memory.up_bias_init',
    value: num(-MAX_INIT_MAGNITUDE, MAX_INIT_MAGNITUDE),
    doc: 'every b_up entry starts at this value, e.g. -1.5 [the reference draw]',
  },
  { key: 'train.epochs', proto: 'training.epochs', value: int(1, MAX_EPOCHS), doc: 'passes over the corpus; ignored when max_steps > 0 [25]' },
  { key: 'train.batch_size', proto: 'training.batch_size', value: int(1, MAX_TRAIN_BATCH), doc: 'rows per step [4]' },
  { key: 'train.lr', proto: 'training.learning_rate', value: num(0, MAX_LEARNING_RATE, { minOpen: true }), doc: 'peak learning rate, AdamW [1e-3]' },
  { key: 'train.warmup_steps', proto: 'training.warmup_steps', value: int(0, MAX_STEPS), doc: 'linear warm-up steps before the cosine decay [10]' },
  { key: 'train.weight_decay', proto: 'training.weight_decay', value: num(0, MAX_WEIGHT_DECAY), doc: 'decoupled weight decay [0.05]' },
  { key: 'train.grad_clip', proto: 'training.grad_clip', value: num(0, MAX_GRAD_CLIP), doc: 'clip by global gradient norm, 0 = off [10]' },
  { key: 'train.seed', proto: 'training.seed', value: int(0, MAX_U64), doc: 'seed of the data order [0]' },
  { key: 'train.max_steps', proto: 'training.max_steps', value: int(0, MAX_STEPS), doc: 'stop after this many steps [0 = epochs x steps per epoch]' },
  { key: 'train.checkpoint_every', proto: 'training.checkpoint_every', value: int(0, MAX_STEPS), doc: 'checkpoint every N steps [0 = every epoch]' },
  {
    key: 'train.eval_every',
    proto: 'eval_every',
    value: int(0, MAX_STEPS),
    doc: 'measure document NLL and locality every N steps [0 = every epoch]',
  },
  {
    key: 'train.max_length',
    proto: 'training.max_length',
    value: int(2, MAX_CONTEXT_LENGTH),
    doc: "token window of a training row [the model's maximum length]",
  },
  { key: 'train.beta1', proto: 'training.beta1', value: num(0, 1, { maxOpen: true }), doc: 'Adam beta1 [0.9]' },
  { key: 'train.beta2', proto: 'training.beta2', value: num(0, 1, { maxOpen: true }), doc: 'Adam beta2 [0.999]' },
  { key: 'train.epsilon', proto: 'training.epsilon', value: num(0, MAX_EPSILON, { minOpen: true }), doc: 'Adam epsilon [1e-8]' },
  {
    key: 'train.anchor_kl_weight',
    proto: 'training.anchor_kl_weight',
    value: num(0, MAX_LOSS_WEIGHT),
    doc: "weight of KL(base || base + memory) on the base model's own samples [0 = off]",
  },
  {
    key: 'train.anchor_samples',
    proto: 'training.anchor_samples',
    value: int(1, MAX_ANCHOR_SAMPLES),
    doc: 'anchor samples drawn once per memory [64]',
  },
  {
    key: 'train.anchor_sample_tokens',
    proto: 'training.anchor_sample_tokens',
    value: int(1, MAX_NEW_TOKENS),
    doc: 'new tokens per anchor sample [48]',
  },
  {
    key: 'locality.pages',
    proto: 'locality_pages',
    value: int(0, MAX_DOCUMENTS),
    doc: "held-out pages (ranked right after the corpus's top N) whose NLL the memory must not disturb [20; 0 = none]",
  },
  {
    key: 'locality.pages_path',
    proto: 'locality_pages_path',
    value: path,
    doc: "take the held-out pages from this pages file instead (e.g. a synthetic world's other entity set) [the corpus's pages file]",
  },
  {
    key: 'locality.claims_path',
    proto: 'locality_claims_path',
    value: path,
    doc: "the claims file ranking locality.pages_path's pages [corpus.claims]",
  },
  {
    key: 'locality.samples',
    proto: 'locality_samples',
    value: int(0, MAX_LOCALITY_SAMPLES),
    doc: 'measure locality on this many samples of the base model itself instead of pages [0 = pages]',
  },
  {
    key: 'job',
    proto: 'job_kind',
    value: oneOf({ memory: trainer.JobKind.JOB_KIND_MEMORY, full: trainer.JobKind.JOB_KIND_FULL }),
    doc: 'memory: train a memory on the frozen model; full: every base weight, no memory section [memory]',
  },
  {
    key: 'output',
    proto: 'output_path',
    value: path,
    doc: "result: memory file in model-host's memory root, or HF folder in its model root for job full [runs/<run_id>/...]",
  },
];

/** Context of one value's conversion: the file (in messages) and the folder relative paths resolve against. */
interface Where {
  file: string;
  baseDir: string;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function rangeText(t: Extract<FieldType, { type: 'number' }>): string {
  return `${t.minOpen ? '(' : '['}${t.min}, ${t.max}${t.maxOpen ? ')' : ']'}`;
}

export const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The refusal of a config value: `file: key must be <expected>, got <value>`. */
export function refuseValue(where: Where, key: string, expected: string, raw: unknown): never {
  throw new InvalidArgumentError(`${where.file}: ${key} must be ${expected}, got ${describeValue(raw)}`, key);
}

/**
 * Checks one value against its field type; returns it converted (bigint for 64-bit ints, numbers otherwise,
 * absolute paths). `key` names it in messages (default the field's key; a list item's path such as "layers[1]").
 */
export function convert(field: ConfigField, raw: unknown, where: Where, key = field.key): unknown {
  return convertType(field.value, raw, where, key);
}

function convertType(t: FieldType, raw: unknown, where: Where, key: string): unknown {
  const fail = (expected: string): never => refuseValue(where, key, expected, raw);
  switch (t.type) {
    case 'path': {
      if (typeof raw !== 'string' || raw.trim() === '') return fail('a path (a non-empty string)');
      const value = raw as string;
      if (value.includes('\u0000') || value.length > MAX_PATH_LENGTH) return fail(`a path of at most ${MAX_PATH_LENGTH} characters`);
      return isAbsolute(value) ? resolve(value) : resolve(where.baseDir, value);
    }
    case 'text':
      if (typeof raw !== 'string' || raw.length > t.max) return fail(`a string of at most ${t.max} characters`);
      return raw;
    case 'int': {
      let n: bigint | undefined;
      if (typeof raw === 'bigint') n = raw;
      else if (typeof raw === 'number' && Number.isSafeInteger(raw)) n = BigInt(raw);
      if (n === undefined) return fail(`an integer in ${t.min}..${t.max}`);
      if (n! < t.min) return fail(`an integer >= ${t.min}`);
      if (n! > t.max) return fail(`an integer <= ${t.max}`);
      return t.max > BigInt(Number.MAX_SAFE_INTEGER) ? n : Number(n);
    }
    case 'number': {
      const n = typeof raw === 'bigint' ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n)) return fail(`a number in ${rangeText(t)}`);
      const value = n as number;
      if (value < t.min || (t.minOpen && value === t.min) || value > t.max || (t.maxOpen && value === t.max))
        return fail(`a number in ${rangeText(t)}`);
      return value;
    }
    case 'bool':
      if (typeof raw !== 'boolean') return fail('true or false');
      return raw;
    case 'enum': {
      const names = Object.keys(t.values);
      if (typeof raw !== 'string' || !Object.hasOwn(t.values, raw)) return fail(`one of ${names.join(', ')}`);
      return t.values[raw as string];
    }
    case 'list': {
      if (!Array.isArray(raw) || raw.length > t.max) return fail(`a list of at most ${t.max} ${typeText(t.item)} items`);
      return (raw as unknown[]).map((item, i) => convertType(t.item, item, where, `${key}[${i}]`));
    }
    case 'custom':
      return t.parse(raw, where, key);
  }
}

const camel = (s: string): string => s.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

/** Sets `value` at a proto path ("training.learning_rate") of a plain object, camelCased, creating the parents. */
export function assign(target: Record<string, unknown>, proto: string, value: unknown): void {
  const parts = proto.split('.').map(camel);
  let at = target;
  for (const part of parts.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
  at[parts[parts.length - 1]] = value;
}

/**
 * The mode token check shared by train's memory section and a sweep's variants: token mode is for simset only.
 * `prefix` is the key path of the memory section ("memory", "variants[2].memory").
 */
export function checkMaskMode(where: Where, prefix: string, kind: unknown, mode: unknown): void {
  if (mode === 'token' && kind !== 'simset')
    throw new InvalidArgumentError(
      `${where.file}: ${prefix}.mode token is only for ${prefix}.kind simset, got kind ${describeValue(kind)}`,
      `${prefix}.mode`,
    );
}

/**
 * One kind of config file: its table of keys. Parsing (unknown keys refused, each value checked and converted,
 * required keys), the mapping of a service's field names back to keys and the `--help` text are read from it.
 */
export class ConfigSchema {
  private readonly byKey: Map<string, ConfigField>;
  private readonly byProto: Map<string, ConfigField>;
  private readonly sections: Set<string>;

  constructor(
    readonly fields: readonly ConfigField[],
    /** What the top level holds, for the message about a file that is no mapping: "sections (corpus, model)". */
    private readonly topLevel: string,
    /** Where the documented example is: "configs/train.example.yaml". */
    private readonly example: string,
  ) {
    this.byKey = new Map(fields.map((f) => [f.key, f]));
    this.byProto = new Map(fields.map((f) => [f.proto, f]));
    this.sections = new Set(fields.filter((f) => f.key.includes('.')).map((f) => f.key.split('.')[0]));
  }

  field(key: string): ConfigField {
    const f = this.byKey.get(key);
    if (!f) throw new Error(`no config key ${key}`);
    return f;
  }

  /** The raw values of a config's text by key path; unknown keys, bad YAML and a non-mapping are refused. */
  values(text: string, file: string): Map<string, unknown> {
    const doc = parseDocument(text, { intAsBigInt: true, uniqueKeys: true, prettyErrors: true });
    const problem = doc.errors[0];
    if (problem) {
      const at = problem.linePos?.[0];
      const where = at ? ` at line ${at.line}, column ${at.col}` : '';
      throw new InvalidArgumentError(`${file}: not valid YAML${where}: ${problem.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
    }
    const root: unknown = doc.toJS({ maxAliasCount: 100 });
    if (!isMapping(root)) throw new InvalidArgumentError(`${file}: must be a mapping of ${this.topLevel}, got ${describeValue(root)}`);
    const values = new Map<string, unknown>();
    for (const [top, value] of Object.entries(root)) {
      if (this.sections.has(top)) {
        if (!isMapping(value)) throw new InvalidArgumentError(`${file}: ${top} must be a mapping, got ${describeValue(value)}`, top);
        for (const [key, inner] of Object.entries(value)) {
          const path = `${top}.${key}`;
          if (!this.byKey.has(path)) throw new InvalidArgumentError(`${file}: unknown key "${path}"`, path);
          values.set(path, inner);
        }
      } else if (this.byKey.has(top)) {
        values.set(top, value);
      } else {
        throw new InvalidArgumentError(`${file}: unknown key "${top}"`, top);
      }
    }
    return values;
  }

  /** Refuses a config lacking one of `keys` (default: the table's required keys). */
  requireKeys(values: Map<string, unknown>, file: string, keys = this.fields.filter((f) => f.required).map((f) => f.key)): void {
    for (const key of keys) if (!values.has(key)) throw new InvalidArgumentError(`${file}: ${key} is required`, key);
  }

  /** Every value converted and set at its proto path of one plain (camelCase) object. */
  build(values: Map<string, unknown>, where: Where, converted: ReadonlyMap<string, unknown> = new Map()): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, raw] of values)
      assign(out, this.field(key).proto, converted.has(key) ? converted.get(key) : convert(this.field(key), raw, where));
    return out;
  }

  /**
   * The config key of a spec field a service named ("spec.training.learning_rate" -> "train.lr"), or undefined.
   * Takes snake_case or camelCase paths, with or without the leading "spec."; list indexes are dropped.
   */
  keyOf(field: string): string | undefined {
    const snake = field
      .replace(/^spec\./, '')
      .replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
      .replace(/\[\d+\]/g, '');
    for (let parts = snake.split('.'); parts.length > 0; parts = parts.slice(0, -1)) {
      const hit = this.byProto.get(parts.join('.'));
      if (hit) return hit.key;
    }
    return undefined;
  }

  /**
   * The config key a job's error message is about, when it names a spec field the way the services do
   * ("claims_path: no such file ...", "config.layer must be ...", "learning_rate must be ..."), else the path key
   * whose value in `spec` (the spec sent) the message quotes; else undefined.
   */
  keyInMessage(message: string, spec?: object): string | undefined {
    return this.keyByName(message) ?? (spec && this.keyByPath(message, spec));
  }

  /** The path key whose value (as sent in `spec`) the message quotes ("no such file or folder: /abs/model"). */
  private keyByPath(message: string, spec: object): string | undefined {
    let best: { key: string; length: number } | undefined;
    for (const f of this.fields) {
      if (f.value.type !== 'path') continue;
      let value: unknown = spec;
      for (const part of f.proto.split('.').map(camel)) value = (value as Record<string, unknown> | undefined)?.[part];
      if (typeof value === 'string' && value !== '' && message.includes(value) && (!best || value.length > best.length))
        best = { key: f.key, length: value.length };
    }
    return best?.key;
  }

  private keyByName(message: string): string | undefined {
    let best: { key: string; length: number } | undefined;
    for (const f of this.fields) {
      const proto = f.proto.replace(/^evaluation\./, '');
      const leaf = proto.split('.').at(-1)!;
      const names = [proto, leaf, ...(proto.startsWith('memory.') ? [`config.${leaf}`] : [])];
      for (const name of names) {
        const pattern = new RegExp(`(^|[\\s(.])${name.replace(/\./g, '\\.')}(: | must )`);
        if (pattern.test(message) && (!best || name.length > best.length)) best = { key: f.key, length: name.length };
      }
    }
    return best?.key;
  }

  /** The config reference for `--help`: every key, its range and its meaning. */
  help(): string {
    const lines = ['', "Config file keys (YAML; unknown keys are refused; relative paths resolve against the file's folder):"];
    let section = '';
    for (const f of this.fields) {
      const top = f.key.includes('.') ? f.key.split('.')[0] : '';
      if (top !== section) {
        section = top;
        if (top) lines.push(`  ${top}:`);
      }
      const name = top ? `    ${f.key.slice(top.length + 1)}` : `  ${f.key}`;
      lines.push(`${name.padEnd(26)} ${typeText(f.value)}${f.required ? ', required' : ''}: ${f.doc}`);
    }
    lines.push('', `Example: ${this.example} (every key, commented).`);
    return lines.join('\n') + '\n';
  }
}

const trainSchema = new ConfigSchema(configFields, 'sections (corpus, model, memory, train, locality)', 'configs/train.example.yaml');

/** A parsed config: the RunSpec to send and where it came from. */
export interface TrainConfig {
  /** The file as the user named it (used in messages). */
  file: string;
  spec: trainer.RunSpec;
}

/**
 * Parses a train config's text. `file` names it in messages; relative paths resolve against `baseDir` (the
 * config file's folder) and are sent absolute.
 */
export function parseTrainConfig(text: string, file: string, baseDir: string): TrainConfig {
  const values = trainSchema.values(text, file);
  const where = { file, baseDir };
  const job = values.has('job') ? convert(trainSchema.field('job'), values.get('job'), where) : trainer.JobKind.JOB_KIND_MEMORY;
  const required = configFields.filter((f) => f.required).map((f) => f.key);
  if (job === trainer.JobKind.JOB_KIND_MEMORY) required.push('memory.kind');
  trainSchema.requireKeys(values, file, required);
  if (job === trainer.JobKind.JOB_KIND_FULL) {
    const memoryKey = [...values.keys()].find((k) => k.startsWith('memory.'));
    if (memoryKey)
      throw new InvalidArgumentError(
        `${file}: ${memoryKey}: a full-parameter job (job: full) trains no memory; remove the memory section`,
        memoryKey,
      );
  }
  const spec = { memory: {}, training: {}, ...trainSchema.build(values, where, new Map([['job', job]])), jobKind: job };
  checkMaskMode(where, 'memory', values.get('memory.kind'), values.get('memory.mode'));
  const memory = job === trainer.JobKind.JOB_KIND_FULL ? undefined : common.MemoryConfig.fromPartial(spec.memory as Partial<common.MemoryConfig>);
  return {
    file,
    spec: trainer.RunSpec.fromPartial({
      ...(spec as Partial<trainer.RunSpec>),
      memory,
      training: common.TrainingConfig.fromPartial(spec.training as Partial<common.TrainingConfig>),
    }),
  };
}

/** The text of a config file named on the command line and the folder its relative paths resolve against. */
export function readConfigFile(file: string): { text: string; baseDir: string } {
  try {
    return { text: readFileSync(file, 'utf8'), baseDir: dirname(resolve(file)) };
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a folder, not a file' : e.message;
    throw new InvalidArgumentError(`--config: ${file}: ${why}`, '--config');
  }
}

/** Reads and parses a config file; `file` as given on the command line. */
export function loadTrainConfig(file: string): TrainConfig {
  const { text, baseDir } = readConfigFile(file);
  return parseTrainConfig(text, file, baseDir);
}

/**
 * The config key of a RunSpec field a service named ("spec.training.learning_rate" -> "train.lr"), or undefined.
 * Takes snake_case or camelCase paths, with or without the leading "spec.".
 */
export function configKeyOf(field: string): string | undefined {
  const hit = trainSchema.keyOf(field);
  if (hit) return hit;
  const snake = field.replace(/^spec\./, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  if (snake === 'memory' || snake.startsWith('memory.')) return 'memory';
  if (snake === 'training' || snake.startsWith('training.')) return 'train';
  return undefined;
}

/**
 * The config key a run's error message is about, when it names a RunSpec field the way the services do
 * ("claims_path: no such file ...", "config.layer must be ...", "learning_rate must be ..."); else undefined.
 */
export function configKeyInMessage(message: string, spec?: trainer.RunSpec): string | undefined {
  return trainSchema.keyInMessage(message, spec);
}

/** The config reference for `memorize train --help`: every key, its range and its meaning. */
export function configHelp(): string {
  return trainSchema.help();
}

function typeText(t: FieldType): string {
  switch (t.type) {
    case 'path':
      return 'path';
    case 'text':
      return 'text';
    case 'bool':
      return 'true|false';
    case 'enum':
      return Object.keys(t.values).join('|');
    case 'int':
      return t.max >= MAX_U64 ? `integer >= ${t.min}` : `integer ${t.min}..${t.max}`;
    case 'number':
      return `number in ${rangeText(t)}`;
    case 'list':
      return `list of ${typeText(t.item)}`;
    case 'custom':
      return t.text;
  }
}
