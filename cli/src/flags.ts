/**
 * Command-line input checking: numeric flags parsed strictly with their ranges (the limits of
 * libs/validation where the service has one), and library errors re-labelled with the flag that supplied
 * the value, so every refusal is one stderr line naming the flag literally and exit code 2.
 */
import { InvalidArgumentError, MemorizeError } from '@memorize/errors';

/** Largest unsigned 64-bit value (llama2.c's run.c takes an unsigned long long seed). */
export const MAX_U64 = (1n << 64n) - 1n;
/** Split and world seeds: the services take seeds modulo 2^32, so the command line accepts exactly that range. */
export const MAX_U32 = 2 ** 32 - 1;

function refuse(flag: string, expected: string, value: string): never {
  throw new InvalidArgumentError(`${flag} must be ${expected}, got ${JSON.stringify(value).slice(1, -1)}`, flag);
}

/** A finite number in [min, max] (`exclusiveMin`: (min, max]). */
export function numberIn(value: string, flag: string, min: number, max: number, exclusiveMin = false): number {
  const n = Number(value);
  const expected = `a number in ${exclusiveMin ? '(' : '['}${min}, ${max}]`;
  if (value.trim() === '' || !Number.isFinite(n) || n > max || (exclusiveMin ? n <= min : n < min)) refuse(flag, expected, value);
  return n;
}

/** A decimal integer in min..max, written as digits (no exponent, fraction or hex: 1e9 is refused, not rounded). */
export function integerIn(value: string, flag: string, min: number, max: number): number {
  const expected = `an integer in ${min}..${max}`;
  if (!/^\s*[-+]?\d+\s*$/.test(value)) refuse(flag, expected, value);
  const n = BigInt(value.trim().replace(/^\+/, ''));
  if (n < BigInt(min) || n > BigInt(max)) refuse(flag, expected, value);
  return Number(n);
}

/** An unsigned 64-bit integer, 0..2^64-1, as a bigint (exact past 2^53). */
export function uint64(value: string, flag: string): bigint {
  const expected = `an integer in 0..${MAX_U64}`;
  if (!/^\s*\+?\d+\s*$/.test(value)) refuse(flag, expected, value);
  const n = BigInt(value.trim().replace(/^\+/, ''));
  if (n > MAX_U64) refuse(flag, expected, value);
  return n;
}

/** Which flag supplied a library field (snake_case proto-style names, config keys or camelCase option names). */
export type FlagTable = Readonly<Record<string, string>>;

/** The flag table of every command, keyed by the command path ("data stats", "generate"). */
export const flagTables: Readonly<Record<string, FlagTable>> = {
  generate: {
    model: '--model',
    path: '--model',
    tokenizer: '--tokenizer',
    prompt: '--prompt',
    max_new_tokens: '--max-new-tokens',
    maxNewTokens: '--max-new-tokens',
    temperature: '--temperature',
    top_p: '--top-p',
    topP: '--top-p',
    seed: '--seed',
  },
  ...Object.fromEntries(
    ['data stats', 'data prompt'].map((name) => [
      name,
      {
        claims: '--claims',
        pages: '--pages',
        assignments: '--assignment',
        assignment: '--assignment',
        top_n: '--top',
        topN: '--top',
        seed: '--seed',
        pool_per_page: '--pool-per-page',
        poolPerPage: '--pool-per-page',
        tokenizer: '--tokenizer',
        max_length: '--max-length',
        maxLength: '--max-length',
        claim_id: '--claim-id',
        claimId: '--claim-id',
        shots: '--shots',
        k: '--shots',
      },
    ]),
  ),
  synth: {
    seed: '--seed',
    entities: '--entities',
    out: '--out',
    path: '--out',
    sets: '--set-a',
    versions: '--versions',
    claimsPerEntity: '--claims-per-entity',
    heldoutPerEntity: '--heldout-per-entity',
  },
  'memory import': { kind: '--kind', layer: '--layer', weights: '--weights', out: '--out', gelu: '--gelu', model: '--model' },
  'memory loss': {
    model: '--model',
    path: '--model',
    tokenizer: '--tokenizer',
    memory: '--memory',
    text: '--text',
    tokens: '--tokens',
    document: '--document',
    mask_source: '--mask-source',
  },
  serve: { port: '--port', host: '--host', level: '--log-level' },
};

/** Marks an error as being about the file or value a flag gave (the printer prefixes the flag). */
export class FlagError extends MemorizeError {
  constructor(
    readonly flag: string,
    readonly original: MemorizeError,
  ) {
    super(original.message, original.field);
    this.name = original.name;
  }
}

/** Runs `fn` (reading the file `flag` names); a MemorizeError it throws is reported under that flag. */
export async function fromFlag<T>(flag: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof FlagError) throw error;
    if (error instanceof MemorizeError) throw new FlagError(flag, error);
    // A file-system error (EACCES, ENOSPC, ...) about the path the flag gave: its message names the path.
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) throw new FlagError(flag, new MemorizeError((error as Error).message));
    throw error;
  }
}

/** The one line printed for a refused command: `<--flag>: <message>`, the flag taken from the error. */
export function describe(error: MemorizeError, table: FlagTable = {}): string {
  const field = error.field;
  let flag: string | undefined;
  if (error instanceof FlagError) flag = error.flag;
  else if (field?.startsWith('--')) flag = field;
  else if (field !== undefined) flag = table[field] ?? table[field.split('.')[0]];
  let message = error.message.replace(/\s*\n\s*/g, ' ');
  // Libraries prefix some messages with their own field name ("tokenizer: ...") that the flag replaces.
  if (flag !== undefined && field !== undefined && !field.startsWith('--') && message.startsWith(`${field}: `))
    message = message.slice(field.length + 2);
  if (flag === undefined || message.startsWith(flag)) return message;
  return `${flag}: ${message}`;
}
