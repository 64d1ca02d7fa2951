/**
 * Attributing claims to pages. Verifiable claims go to their evidence page; NOT ENOUGH INFO claims have
 * no page evidence, so they come from a sidecar (page_assignment.jsonl) or from the title-prefix rule.
 */
import { isRecord, readJsonl, type ParseResult, type ReadOptions } from './jsonl.js';
import { unescapeFever } from './text.js';

/** One sidecar row: {"id", "split", "page", "rule"}. */
export interface PageAssignment {
  id: number;
  split: string;
  page: string;
  rule: string;
}

export function parseAssignment(value: unknown): ParseResult<PageAssignment> {
  if (!isRecord(value)) return { ok: false, error: 'not a JSON object' };
  const { id, split, page, rule } = value;
  if (typeof id !== 'number' || !Number.isInteger(id)) return { ok: false, error: "field 'id' must be an integer" };
  if (typeof page !== 'string') return { ok: false, error: "field 'page' must be a string (is this a page_assignment file?)" };
  return {
    ok: true,
    value: { id, split: typeof split === 'string' ? split : '', page, rule: typeof rule === 'string' ? rule : '' },
  };
}

export function readAssignments(path: string, options: ReadOptions = {}): AsyncGenerator<PageAssignment> {
  return readJsonl(path, parseAssignment, options);
}

/** Claim id -> page id from a sidecar file. */
export async function loadAssignments(path: string, options: ReadOptions = {}): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for await (const row of readAssignments(path, options)) out.set(row.id, row.page);
  return out;
}

export function formatAssignment(row: PageAssignment): string {
  return JSON.stringify({ id: row.id, split: row.split, page: row.page, rule: row.rule });
}

const ALNUM = /[\p{L}\p{N}]/u;

interface BaseTitle {
  base: string;
  /** Lower-cased words of the trailing "(disambiguator)", empty when there is none. */
  words: string[];
}

/** "Grease_-LRB-film-RRB-" -> {base: "Grease", words: ["film"]} (NFC). */
export function baseTitle(pageId: string): BaseTitle {
  const title = unescapeFever(pageId.replace(/_/g, ' ')).normalize('NFC');
  const m = /^(.*\S)\s*\(([^()]*)\)$/u.exec(title);
  if (!m) return { base: title, words: [] };
  return {
    base: m[1]!,
    words: m[2]!
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u)
      .filter(Boolean),
  };
}

/**
 * The title-prefix rule of SOURCES.md: a claim goes to the page whose base title (id with _ -> space,
 * escapes restored, trailing "(disambiguator)" removed, NFC) is the longest prefix of the claim that is
 * followed by a non-alphanumeric character. When several pages share that base title, the one whose
 * disambiguator words all appear in the claim wins; otherwise the claim stays unassigned.
 */
export class TitlePrefixIndex {
  private readonly byBase = new Map<string, Array<{ id: string; words: string[] }>>();

  constructor(pageIds: Iterable<string>) {
    for (const id of pageIds) {
      const { base, words } = baseTitle(id);
      const list = this.byBase.get(base);
      if (list) list.push({ id, words });
      else this.byBase.set(base, [{ id, words }]);
    }
  }

  assign(claimText: string): string | undefined {
    const claim = claimText.normalize('NFC');
    // Walk prefixes from the longest: each must end right before a non-alphanumeric character.
    for (let end = claim.length - 1; end > 0; end--) {
      if (ALNUM.test(claim[end]!)) continue;
      const candidates = this.byBase.get(claim.slice(0, end));
      if (!candidates) continue;
      return this.pick(candidates, claim);
    }
    return undefined;
  }

  private pick(candidates: Array<{ id: string; words: string[] }>, claim: string): string | undefined {
    if (candidates.length === 1) return candidates[0]!.id;
    const claimWords = new Set(
      claim
        .toLowerCase()
        .split(/[^\p{L}\p{N}]+/u)
        .filter(Boolean),
    );
    const matching = candidates.filter((c) => c.words.length > 0 && c.words.every((w) => claimWords.has(w)));
    return matching.length === 1 ? matching[0]!.id : undefined;
  }
}
