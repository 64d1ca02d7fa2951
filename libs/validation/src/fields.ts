/**
 * Field schemas (zod) shared by the request schemas, and the translation of zod issues into one
 * InvalidArgumentError naming the proto field path in snake_case.
 *
 * Convention for issue messages: a message starting with "must" is an expectation and is completed with
 * ", got <value>"; any other message ("is required", "has 600 tokens; ...") is used as it stands. Either way the
 * field path is put in front.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '@memorize/errors';
import { MAX_PATH_LENGTH, MAX_ROW_TOKENS, NAME_PATTERN } from './limits.js';

/** What a service knows that a request is checked against; each check runs only when its fact is given. */
export interface ValidationContext {
  /** The model's maximum sequence length (ModelConfig.maxSeqLen, ModelInfo.max_length). */
  maxSeqLen?: number;
  /** The model's vocabulary size: token ids must be below it. */
  vocabSize?: number;
  /** The model's transformer blocks: memory layers must be below it. */
  layers?: number;
  /** Documents of the corpus a request addresses (ListDocuments page tokens, GetDocument index). */
  documents?: number;
}

/** One problem of a request, with the proto field path it is about. */
export interface Problem {
  field: string;
  message: string;
}

/** A request that failed validation: INVALID_ARGUMENT naming the first problem's field; all problems listed. */
export class RequestValidationError extends InvalidArgumentError {
  constructor(readonly problems: Problem[]) {
    const first = problems[0];
    super(problems.length > 1 ? `${first.message} (and ${problems.length - 1} more)` : first.message, first.field);
  }
}

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A zod path as a proto field path: ['rows', 3, 'documentIndex'] -> rows[3].document_index. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${snake(String(p))}` : snake(String(p));
  }
  return out;
}

/** A value shown in a message: short, never more than a prefix of a string. */
export function show(value: unknown): string {
  if (typeof value === 'string') return value.length > 64 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `${value.length} entries`;
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a message';
  return String(value);
}

const isScalar = (v: unknown): boolean => ['number', 'string', 'bigint', 'boolean'].includes(typeof v);

/** zod issues -> problems: the field is the path, less a trailing index into a repeated scalar field. */
export function problemsOf(issues: readonly z.core.$ZodIssue[]): Problem[] {
  return issues.map((issue) => {
    const name = fieldPath(issue.path);
    const last = issue.path[issue.path.length - 1];
    const field = typeof last === 'number' && isScalar(issue.input) ? fieldPath(issue.path.slice(0, -1)) : name;
    const message = issue.message.startsWith('must') ? `${name} ${issue.message}, got ${show(issue.input)}` : `${name} ${issue.message}`;
    return { field: field || name, message };
  });
}

/** Parses with a schema; the value itself (not a copy) on success, a RequestValidationError otherwise. */
export function check<T>(schema: z.ZodType, value: T): T {
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) throw new RequestValidationError(problemsOf(result.error.issues));
  return value;
}

// ---- Numbers ----

const fmt = (n: number): string => String(n);

export interface Range {
  min: number;
  max: number;
  /** Exclude the lower bound. */
  minOpen?: boolean;
  /** Exclude the upper bound. */
  maxOpen?: boolean;
}

const interval = (r: Range): string => `${r.minOpen ? '(' : '['}${fmt(r.min)}, ${fmt(r.max)}${r.maxOpen ? ')' : ']'}`;

/** A finite number in a range (NaN, ±Infinity and non-numbers rejected). */
export function real(r: Range, note = ''): z.ZodNumber {
  let s = z.number({ error: `must be a finite number in ${interval(r)}${note}` });
  s = r.minOpen ? s.gt(r.min) : s.gte(r.min);
  return r.maxOpen ? s.lt(r.max) : s.lte(r.max);
}

/** proto3 float where 0 means the default: 0, or a finite number in the range. */
export function realOrDefault(r: Range, defaultNote: string): z.ZodType<number> {
  const expectation = `must be 0 (${defaultNote}) or a finite number in ${interval(r)}`;
  const nonZero = real(r);
  return z.number({ error: expectation }).refine((v) => v === 0 || nonZero.safeParse(v).success, { error: expectation });
}

/** An integer in min..max. */
export function int(min: number, max: number, note = ''): z.ZodNumber {
  return z
    .number({ error: `must be an integer in ${fmt(min)}..${fmt(max)}${note}` })
    .int()
    .gte(min)
    .lte(max);
}

/** proto3 integer where 0 means the default: 0, or an integer in min..max. */
export function intOrDefault(min: number, max: number, defaultValue: number | string): z.ZodNumber {
  return z
    .number({ error: `must be an integer in ${fmt(min)}..${fmt(max)} (0 = default ${defaultValue})` })
    .int()
    .refine((v) => v === 0 || (v >= min && v <= max));
}

/** Any int32 (document indices where negative means none). */
export const int32 = int(-(2 ** 31), 2 ** 31 - 1);

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** A 64-bit integer as ts-proto may decode it: a safe-integer number, a bigint, or a decimal string. */
function int64Like(min: bigint, max: bigint, expectation: string): z.ZodType<number | bigint | string> {
  const asBigInt = (v: unknown): bigint | undefined => {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
    if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return BigInt(v);
    return undefined;
  };
  const inRange = (v: unknown): boolean => {
    const n = asBigInt(v);
    return n !== undefined && n >= min && n <= max;
  };
  return z.union([z.number(), z.bigint(), z.string()], { error: expectation }).refine(inRange, { error: expectation });
}

/** uint64 (seeds: taken modulo 2^32 by the services). */
export const uint64 = int64Like(0n, UINT64_MAX, 'must be an integer in 0..2^64-1');
/** A non-negative int64 (claim ids). */
export const nonNegativeInt64 = int64Like(0n, INT64_MAX, 'must be an integer in 0..2^63-1');
/** Any int64. */
export const int64 = int64Like(INT64_MIN, INT64_MAX, 'must be a 64-bit integer');

// ---- Enums ----

/** Known members of a ts-proto enum (UNRECOGNIZED = -1 excluded), optionally without the zero value. */
export function enumOf(e: Record<string, string | number>, options: { allowUnspecified?: boolean } = {}): z.ZodType<number> {
  const members = Object.entries(e).filter(([, v]) => typeof v === 'number' && v >= 0 && (options.allowUnspecified !== false || v !== 0)) as [
    string,
    number,
  ][];
  const values = members.map(([, v]) => v);
  return z.number({ error: `must be one of ${members.map(([k, v]) => `${k} (${v})`).join(', ')}` }).refine((v) => values.includes(v));
}

// ---- Strings ----

/** A required name: [A-Za-z0-9._-]{1,128}. */
export const name = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'is required' })
  .regex(NAME_PATTERN, { error: 'must match [A-Za-z0-9._-]{1,128}' });
/** An optional name: empty (= default or none) or [A-Za-z0-9._-]{1,128}. */
export const optionalName = z
  .string({ error: 'must be empty or match [A-Za-z0-9._-]{1,128}' })
  .refine((s) => s === '' || NAME_PATTERN.test(s), { error: 'must be empty or match [A-Za-z0-9._-]{1,128}' });

const pathString = z
  .string({ error: 'must be a string' })
  .max(MAX_PATH_LENGTH, { error: `must be a path of at most ${MAX_PATH_LENGTH} characters` })
  .refine((s) => !s.includes('\0'), { error: 'must be a path without NUL bytes' });
/** A required path. */
export const path = pathString.refine((s) => s.length > 0, { error: 'is required', abort: true });
/** An optional path (empty = default / none). */
export const optionalPath = pathString;

/** A string of at most `max` characters. */
export const text = (max: number): z.ZodString => z.string({ error: `must be a string of at most ${max} characters` }).max(max);

/** A boolean. */
export const bool = z.boolean({ error: 'must be true or false' });

// ---- Token ids ----

/**
 * Token ids: an array of non-negative int32 (below the vocabulary size when the context gives it), at most
 * `max` long (and at least `min`). One pass over the array; the first bad id is reported with its index.
 */
export function tokenIds(
  ctx: ValidationContext,
  options: { min?: number; max?: number; what?: string; maxFromContext?: (c: ValidationContext) => number | undefined } = {},
): z.ZodType<number[]> {
  const min = options.min ?? 0;
  const staticMax = options.max ?? MAX_ROW_TOKENS;
  const contextMax = options.maxFromContext?.(ctx);
  const max = contextMax !== undefined ? Math.min(contextMax, staticMax) : staticMax;
  const vocab = ctx.vocabSize;
  const idRange = vocab !== undefined ? `[0, ${vocab})` : '[0, 2^31)';
  // z.custom, not z.array(z.unknown()): one tight loop over the ids instead of a schema call per element.
  const schema = z
    .custom<unknown[]>((v) => Array.isArray(v), { error: 'must be a list of token ids' })
    .superRefine((ids, issue) => {
      if (ids.length < min || ids.length > max) {
        const why = contextMax !== undefined && ids.length > contextMax ? ` (the model's context is ${ctx.maxSeqLen})` : '';
        issue.addIssue({
          code: 'custom',
          message: `has ${ids.length} tokens; it must hold ${min}..${max}${why}`,
          input: ids,
        });
        return;
      }
      const limit = vocab ?? 2 ** 31;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= limit) {
          issue.addIssue({ code: 'custom', message: `must be a token id in ${idRange}`, path: [i], input: id });
          return;
        }
      }
    });
  return schema as unknown as z.ZodType<number[]>;
}

/** Sum of a numeric property over a list (for per-request totals). */
export const total = <T>(items: readonly T[], size: (item: T) => number): number => items.reduce((a, x) => a + size(x), 0);

/**
 * An object schema covering every field of the generated type T: a field added to the proto fails tsc here until it
 * has a schema. Extra keys are allowed so a schema can cover a field a proto change in flight is adding.
 */
export function message<T>(shape: { [K in keyof T]-?: z.ZodType } & Record<string, z.ZodType>): z.ZodType<T> {
  return z.object(shape as z.ZodRawShape, {
    error: (issue) => (issue.input === undefined ? 'is required' : 'must be a message'),
  }) as unknown as z.ZodType<T>;
}
