/** FEVER wiki-pages JSONL: {"id", "text", "lines"} with lines = "0\tsentence\tlink1\tlink2\n1\t...". */
import { InvalidArgumentError } from '@memorize/errors';
import { isRecord, jsonLineError, readJsonl, readLines, type ParseResult, type ReadOptions } from './jsonl.js';

export interface Sentence {
  /** FEVER sentence id (ids need not be contiguous). */
  id: number;
  /** Sentence text as in the dump (PTB escapes kept; see unescapeFever). */
  text: string;
  /** Hyperlink anchors that follow the sentence in the dump (may be empty). */
  links: string[];
}

export interface WikiPage {
  id: string;
  text: string;
  /** Sentences parsed from `lines`, empty sentences dropped, sorted by id. */
  sentences: Sentence[];
}

/** Parses the `lines` field; returns an error message for a malformed entry. */
export function parseLines(lines: string): ParseResult<Sentence[]> {
  const out: Sentence[] = [];
  if (lines === '') return { ok: true, value: out };
  const rows = lines.split('\n');
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (row === '') continue;
    const cols = row.split('\t');
    const sid = cols[0]!;
    if (!/^\d+$/.test(sid)) {
      return { ok: false, error: `field 'lines' entry ${i}: sentence id ${JSON.stringify(sid)} is not an integer` };
    }
    const text = cols[1] ?? '';
    // The dump has empty sentences ("12\t") for blank lines of the article: they carry no text.
    if (text.trim() === '') continue;
    out.push({ id: Number(sid), text, links: cols.slice(2).filter((l) => l !== '') });
  }
  out.sort((a, b) => a.id - b.id);
  return { ok: true, value: out };
}

export function parsePage(value: unknown): ParseResult<WikiPage> {
  if (!isRecord(value)) return { ok: false, error: 'not a JSON object' };
  if ('claim' in value || 'label' in value) {
    return { ok: false, error: 'this looks like a FEVER claim record, not a wiki-pages record (id/text/lines)' };
  }
  const { id, text, lines } = value;
  if (typeof id !== 'string') return { ok: false, error: "field 'id' must be a string" };
  if (typeof text !== 'string') return { ok: false, error: "field 'text' must be a string" };
  if (typeof lines !== 'string') return { ok: false, error: "field 'lines' must be a string" };
  const sentences = parseLines(lines);
  if (!sentences.ok) return sentences;
  return { ok: true, value: { id, text, sentences: sentences.value } };
}

/** The id of a wiki-pages line without parsing the (possibly long) rest: dumps start with {"id": "...". */
const LEADING_ID = /^\{\s*"id"\s*:\s*"((?:[^"\\]|\\.)*)"/;
export function peekPageId(raw: string): string | undefined {
  const m = LEADING_ID.exec(raw);
  if (!m) return undefined;
  try {
    return JSON.parse(`"${m[1]}"`) as string;
  } catch {
    return undefined;
  }
}

export interface ReadPagesOptions extends ReadOptions {
  /**
   * Keep only these page ids. Lines whose leading id is not wanted are skipped without JSON parsing (so
   * they are not validated either); this keeps a full-dump scan fast and memory-bounded.
   */
  only?: ReadonlySet<string>;
}

/** Streams the pages of a wiki-pages JSONL file (optionally only the wanted ids). */
export function readPages(path: string, options: ReadPagesOptions = {}): AsyncGenerator<WikiPage> {
  const only = options.only;
  const prefilter = only
    ? (raw: string) => {
        const id = peekPageId(raw);
        return id === undefined || only.has(id);
      }
    : undefined;
  return filterPages(readJsonl(path, parsePage, options, prefilter), only);
}

async function* filterPages(pages: AsyncGenerator<WikiPage>, only?: ReadonlySet<string>): AsyncGenerator<WikiPage> {
  for await (const page of pages) if (!only || only.has(page.id)) yield page;
}

/** Streams just the page ids of a wiki-pages file (cheap: no full JSON parse when the id leads the line). */
export async function* readPageIds(path: string, options: ReadOptions = {}): AsyncGenerator<string> {
  for await (const { line, text } of readLines(path)) {
    const id = peekPageId(text);
    if (id !== undefined) {
      yield id;
      continue;
    }
    // Not in the usual layout: fall back to a full parse for this line.
    const parsed = (() => {
      try {
        return parsePage(JSON.parse(text));
      } catch {
        return { ok: false as const, error: jsonLineError(text) };
      }
    })();
    if (parsed.ok) {
      yield parsed.value.id;
      continue;
    }
    const location = `${path}:${line}`;
    if ((options.mode ?? 'strict') === 'strict') throw new InvalidArgumentError(`${location}: ${parsed.error}`, path);
    options.issues?.add({ location, message: parsed.error });
  }
}

/** Serialises a page in wiki-pages format (sentences back into `lines`). */
export function formatPage(page: WikiPage): string {
  const lines = page.sentences.map((s) => [String(s.id), s.text, ...s.links].join('\t')).join('\n');
  return JSON.stringify({ id: page.id, text: page.text, lines });
}
