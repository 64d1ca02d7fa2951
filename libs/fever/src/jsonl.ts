/**
 * Streaming JSONL reading with file:line error reporting. Files are read line by line (readline over a
 * file stream), so a multi-gigabyte wiki dump is processed in bounded memory.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { InvalidArgumentError } from '@memorize/errors';
import { jsonSyntaxError, openRegularFile } from '@memorize/files';

/** strict: the first malformed line throws; lenient: malformed lines are skipped and counted. */
export type ParseMode = 'strict' | 'lenient';

export interface LineIssue {
  /** `file:line` (1-based line). */
  location: string;
  message: string;
}

/** Malformed-line bookkeeping for lenient mode: a count plus the first few locations. */
export class IssueLog {
  count = 0;
  readonly first: LineIssue[] = [];
  constructor(readonly limit = 5) {}

  add(issue: LineIssue): void {
    this.count++;
    if (this.first.length < this.limit) this.first.push(issue);
  }

  toJSON(): IssueSummary {
    return { count: this.count, first: this.first.slice() };
  }
}

export interface IssueSummary {
  count: number;
  first: LineIssue[];
}

export interface ReadOptions {
  mode?: ParseMode;
  /** Receives malformed lines in lenient mode (a fresh log is used when omitted). */
  issues?: IssueLog;
}

/** Throws NotFoundError (field = path) when the file is missing, InvalidArgumentError when it is not a regular file. */
export async function assertReadableFile(path: string): Promise<void> {
  (await openStream(path)).destroy();
}

/**
 * A read stream over a regular file, opened with openRegularFile (O_NONBLOCK, fstat-checked): a FIFO or a
 * device is refused at once instead of blocking. Errors name the path as their field.
 */
export async function openStream(path: string, options: { encoding?: BufferEncoding } = {}): Promise<ReadStream & { fd: number }> {
  const fd = openRegularFile(path, path);
  return Object.assign(createReadStream('', { fd, encoding: options.encoding, autoClose: true }), { fd });
}

/** Why a line is not JSON: the byte offset in the line and what was expected, never the text found. */
export function jsonLineError(text: string): string {
  const syntax = jsonSyntaxError(Buffer.from(text, 'utf8'));
  return syntax ? `invalid JSON at byte ${syntax.offset} of the line: expected ${syntax.expected}` : 'invalid JSON';
}

/** Reads non-empty lines with their 1-based line numbers. */
export async function* readLines(path: string): AsyncGenerator<{ line: number; text: string }> {
  const rl = createInterface({ input: await openStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of rl) {
      line++;
      if (text.trim() === '') continue;
      yield { line, text };
    }
  } finally {
    rl.close();
  }
}

/** Either a parsed record or a reason why the line is malformed. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Reads a JSONL file and converts each line with `convert`. A line that is not JSON or that `convert`
 * rejects is malformed: strict mode throws InvalidArgumentError(field = path, message `path:line: ...`),
 * lenient mode records it in `issues` and skips it.
 */
export async function* readJsonl<T>(
  path: string,
  convert: (value: unknown) => ParseResult<T>,
  options: ReadOptions = {},
  /** Optional cheap pre-filter on the raw line: return false to skip a line without parsing it. */
  prefilter?: (raw: string) => boolean,
): AsyncGenerator<T> {
  const mode = options.mode ?? 'strict';
  const issues = options.issues ?? new IssueLog();
  for await (const { line, text } of readLines(path)) {
    if (prefilter && !prefilter(text)) continue;
    let value: unknown;
    let result: ParseResult<T> | undefined;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
      result = { ok: false, error: jsonLineError(text) };
    }
    result ??= convert(value);
    if (result.ok) {
      yield result.value;
      continue;
    }
    const location = `${path}:${line}`;
    if (mode === 'strict') throw new InvalidArgumentError(`${location}: ${result.error}`, path);
    issues.add({ location, message: result.error });
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
