/**
 * The reference pipeline: attribute claims to pages, rank pages by claim count, keep the top N, split
 * each page's claims (seeded) into a few-shot pool and an evaluation set, fill missing pool labels from a
 * global pool, and tokenise the kept pages into chunks.
 */
import { InvalidArgumentError } from '@memorize/errors';
import { loadAssignments, TitlePrefixIndex } from './assignment.js';
import { evidencePage, LABELS, readClaims, type EvidenceSet, type FeverClaim, type Label } from './claims.js';
import { contentHash } from './hash.js';
import { IssueLog, type IssueSummary, type ParseMode } from './jsonl.js';
import { readPageIds, readPages, type Sentence, type WikiPage } from './pages.js';
import { derivedRandom, randomIndex, shuffled } from './prng.js';
import { pageTitle, styleText, type TextStyle } from './text.js';
import { chunkDocuments, tokenizeDocuments, type Chunk, type TextTokenizer, type TokenizedDocument } from './tokens.js';

export interface CorpusSources {
  /** FEVER claims JSONL. */
  claims: string;
  /** FEVER wiki-pages JSONL (a full dump works: only the needed pages are kept in memory). */
  pages: string;
  /** Optional page_assignment.jsonl sidecar {"id","split","page","rule"} for NOT ENOUGH INFO claims. */
  assignments?: string;
}

export type NeiRule = 'sidecar' | 'title-prefix' | 'none';

export interface CorpusOptions {
  /** Keep the N pages with the most claims (default: every page that has claims). */
  topN?: number;
  /**
   * Keep every page of the pages file as a document (pretraining text): the pages with claims first, by rank,
   * then the others in file order, without claims. Default false.
   */
  allPages?: boolean;
  /** Seed of every random choice (pool split, global fill). Default 0. */
  seed?: number;
  /** Pool claims per page (default 5, one per label first, so prompts of up to 5 shots come from the page itself). Exclusive with poolFraction. */
  poolPerPage?: number;
  /** Fraction of each page's claims in the pool (floor; pages whose pool is empty are dropped). */
  poolFraction?: number;
  /** Prefer one pool claim of each label before repeating a label (default true). */
  stratifyPool?: boolean;
  /** How NOT ENOUGH INFO claims get a page: default 'sidecar' when sources.assignments is set, else 'title-prefix'. */
  neiRule?: NeiRule;
  /** strict (default): a malformed line throws; lenient: it is skipped and counted. */
  mode?: ParseMode;
  /** How page text is presented (default 'unescaped': -LRB- etc. restored, PTB spacing kept). */
  textStyle?: TextStyle;
  /** When given, the kept pages are tokenised and chunked (stats.tokens, corpus.chunks). */
  tokenizer?: TextTokenizer;
  /** Chunk length for the tokenizer (default 512). */
  maxLength?: number;
  /** Names the tokenizer in the content hash (the tokenizer object itself cannot be hashed). */
  tokenizerId?: string;
}

export interface ResolvedCorpusOptions {
  topN: number | null;
  allPages: boolean;
  seed: number;
  poolPerPage: number | null;
  poolFraction: number | null;
  stratifyPool: boolean;
  neiRule: NeiRule;
  mode: ParseMode;
  textStyle: TextStyle;
  maxLength: number;
  tokenizerId: string | null;
}

export interface CorpusClaim {
  id: number;
  claim: string;
  label: Label;
  /** The page the claim is attributed to. */
  page: string;
  evidence: EvidenceSet[];
}

export interface CorpusPage {
  id: string;
  /** Human title ("Grease (film)"). */
  title: string;
  /** Page text in the chosen text style: the memorisation document. */
  text: string;
  sentences: Sentence[];
  /** 0-based rank among the kept pages (most claims first). */
  rank: number;
  /** Few-shot pool claims of this page. */
  pool: CorpusClaim[];
  /** Evaluation claims of this page (not in any pool). */
  eval: CorpusClaim[];
  /** Pool claims of other pages, one per label this page's pool lacks (the global fill). */
  fill: CorpusClaim[];
}

export type LabelCounts = Record<Label, number>;

export interface CorpusStats {
  pages: number;
  /** Every claim attributed to a kept page (pool + eval), per label. */
  claims: LabelCounts;
  pool: number;
  eval: number;
  /** Pool claims borrowed from other pages (global fill). */
  filled: number;
  /** Total tokens of the kept pages (BOS included), when a tokenizer was given. */
  tokens?: number;
  chunks?: number;
  claimsRead: number;
  /** Claims with no page (NEI without sidecar row / rule match). */
  unattributed: { count: number; first: number[] };
  /** Claims whose page is not in the pages file. */
  missingPage: { count: number; first: Array<{ claim: number; page: string }> };
  /** Ranked pages before the top-N cut, and pages dropped after it. */
  candidatePages: number;
  dropped: { emptyText: number; noPool: number };
  malformed: IssueSummary;
}

export interface Corpus {
  /** sha256 over the input files and resolved options: a cache key. */
  hash: string;
  options: ResolvedCorpusOptions;
  pages: CorpusPage[];
  stats: CorpusStats;
  /** Present when a tokenizer was given. */
  documents?: TokenizedDocument[];
  chunks?: Chunk[];
}

const FIRST = 5;
/** Few-shot pool claims per page: enough for 5-shot prompts from the page itself (every page has >= 9 claims here). */
export const DEFAULT_POOL_PER_PAGE = 5;

export function zeroCounts(): LabelCounts {
  return { SUPPORTS: 0, REFUTES: 0, 'NOT ENOUGH INFO': 0 };
}

export function resolveOptions(options: CorpusOptions, sources?: Pick<CorpusSources, 'assignments'>): ResolvedCorpusOptions {
  const { topN, poolPerPage, poolFraction } = options;
  if (topN !== undefined && (!Number.isInteger(topN) || topN < 1)) {
    throw new InvalidArgumentError(`top_n must be a positive integer (got ${topN})`, 'top_n');
  }
  if (poolPerPage !== undefined && poolFraction !== undefined) {
    throw new InvalidArgumentError('give pool_per_page or pool_fraction, not both', 'pool_fraction');
  }
  if (poolPerPage !== undefined && (!Number.isInteger(poolPerPage) || poolPerPage < 1)) {
    throw new InvalidArgumentError(`pool_per_page must be a positive integer (got ${poolPerPage})`, 'pool_per_page');
  }
  if (poolFraction !== undefined && !(poolFraction > 0 && poolFraction < 1)) {
    throw new InvalidArgumentError(`pool_fraction must be in (0, 1) (got ${poolFraction})`, 'pool_fraction');
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new InvalidArgumentError(`seed must be an integer (got ${seed})`, 'seed');
  const maxLength = options.maxLength ?? 512;
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw new InvalidArgumentError(`max_length must be a positive integer (got ${maxLength})`, 'max_length');
  }
  const neiRule = options.neiRule ?? (sources?.assignments ? 'sidecar' : 'title-prefix');
  if (neiRule === 'sidecar' && sources && !sources.assignments) {
    throw new InvalidArgumentError("nei_rule 'sidecar' needs an assignments file", 'assignments');
  }
  return {
    topN: topN ?? null,
    allPages: options.allPages ?? false,
    seed,
    poolPerPage: poolFraction === undefined ? (poolPerPage ?? DEFAULT_POOL_PER_PAGE) : null,
    poolFraction: poolFraction ?? null,
    stratifyPool: options.stratifyPool ?? true,
    neiRule,
    mode: options.mode ?? 'strict',
    textStyle: options.textStyle ?? 'unescaped',
    maxLength,
    tokenizerId: options.tokenizerId ?? null,
  };
}

/** Attributes claims to pages: evidence page for verifiable claims, `neiPage` for NOT ENOUGH INFO. */
export function attributeClaim(claim: FeverClaim, neiPage: (claim: FeverClaim) => string | undefined): string | undefined {
  return claim.label === 'NOT ENOUGH INFO' ? neiPage(claim) : evidencePage(claim);
}

/**
 * Reads the files and builds the corpus. Claims are streamed first to learn which pages are needed;
 * the pages file is then streamed keeping only those (a title-prefix rule adds one id-only pass).
 */
export async function buildCorpus(sources: CorpusSources, options: CorpusOptions = {}): Promise<Corpus> {
  const resolved = resolveOptions(options, sources);
  const issues = new IssueLog(FIRST);
  const read = { mode: resolved.mode, issues };
  const hash = await contentHash({ claims: sources.claims, pages: sources.pages, assignments: sources.assignments }, resolved);

  let neiPage: (claim: FeverClaim) => string | undefined = () => undefined;
  if (resolved.neiRule === 'sidecar') {
    const sidecar = await loadAssignments(sources.assignments!, read);
    neiPage = (claim) => sidecar.get(claim.id);
  } else if (resolved.neiRule === 'title-prefix') {
    const ids: string[] = [];
    // Malformed page lines are counted by the page pass below; a separate log keeps them from counting twice.
    for await (const id of readPageIds(sources.pages, { mode: resolved.mode, issues: new IssueLog() })) ids.push(id);
    const index = new TitlePrefixIndex(ids);
    neiPage = (claim) => index.assign(claim.claim);
  }

  const claims: FeverClaim[] = [];
  for await (const claim of readClaims(sources.claims, read)) claims.push(claim);
  if (claims.length === 0) {
    throw new InvalidArgumentError(`empty corpus: no claims in ${sources.claims}`, sources.claims);
  }
  const attributed = claims.map((claim) => ({ claim, page: attributeClaim(claim, neiPage) }));
  const needed = new Set<string>();
  for (const a of attributed) if (a.page !== undefined) needed.add(a.page);

  const pages = new Map<string, WikiPage>();
  for await (const page of readPages(sources.pages, resolved.allPages ? read : { ...read, only: needed })) pages.set(page.id, page);

  return assembleCorpus(attributed, pages, options, { hash, issues, pagesPath: sources.pages, resolved });
}

export interface AttributedClaim {
  claim: FeverClaim;
  /** Undefined when no page could be attributed. */
  page: string | undefined;
}

/**
 * The in-memory part of the pipeline (buildCorpus = streaming reads + this). `pages` needs to hold at
 * least the attributed pages.
 */
export async function assembleCorpus(
  attributed: readonly AttributedClaim[],
  pages: ReadonlyMap<string, WikiPage>,
  options: CorpusOptions = {},
  context: { hash?: string; issues?: IssueLog; pagesPath?: string; resolved?: ResolvedCorpusOptions } = {},
): Promise<Corpus> {
  const opts = context.resolved ?? resolveOptions(options);
  const pagesField = context.pagesPath ?? 'pages';
  const stats: CorpusStats = {
    pages: 0,
    claims: zeroCounts(),
    pool: 0,
    eval: 0,
    filled: 0,
    claimsRead: attributed.length,
    unattributed: { count: 0, first: [] },
    missingPage: { count: 0, first: [] },
    candidatePages: 0,
    dropped: { emptyText: 0, noPool: 0 },
    malformed: (context.issues ?? new IssueLog(FIRST)).toJSON(),
  };
  if (attributed.length === 0) throw new InvalidArgumentError('empty corpus: no claims', 'claims');

  // Group claims by page, in input order.
  const byPage = new Map<string, CorpusClaim[]>();
  for (const { claim, page } of attributed) {
    if (page === undefined) {
      stats.unattributed.count++;
      if (stats.unattributed.first.length < FIRST) stats.unattributed.first.push(claim.id);
      continue;
    }
    if (!pages.has(page)) {
      stats.missingPage.count++;
      if (stats.missingPage.first.length < FIRST) stats.missingPage.first.push({ claim: claim.id, page });
      continue;
    }
    const entry: CorpusClaim = { id: claim.id, claim: claim.claim, label: claim.label, page, evidence: claim.evidence };
    const list = byPage.get(page);
    if (list) list.push(entry);
    else byPage.set(page, [entry]);
  }

  // Rank: most claims first, then most known sentences, then page id (code-unit order).
  const ranked = [...byPage.keys()].sort((a, b) => {
    const byClaims = byPage.get(b)!.length - byPage.get(a)!.length;
    if (byClaims !== 0) return byClaims;
    const bySentences = pages.get(b)!.sentences.length - pages.get(a)!.sentences.length;
    if (bySentences !== 0) return bySentences;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  stats.candidatePages = ranked.length;
  if (ranked.length === 0) {
    throw new InvalidArgumentError(`empty corpus: no claim could be attributed to a page of ${pagesField}`, pagesField);
  }
  if (opts.topN !== null && opts.topN > ranked.length) {
    throw new InvalidArgumentError(`top_n ${opts.topN} is larger than the ${ranked.length} pages that have claims`, 'top_n');
  }
  const top = opts.topN === null ? ranked : ranked.slice(0, opts.topN);

  const kept: CorpusPage[] = [];
  for (const id of top) {
    const page = pages.get(id)!;
    if (page.text.trim() === '') {
      stats.dropped.emptyText++;
      continue;
    }
    const { pool, rest } = splitPageClaims(id, byPage.get(id)!, opts);
    if (pool.length === 0) {
      stats.dropped.noPool++;
      continue;
    }
    kept.push({
      id,
      title: pageTitle(id),
      text: styleText(page.text, opts.textStyle).trim(),
      sentences: page.sentences,
      rank: kept.length,
      pool,
      eval: rest,
      fill: [],
    });
  }
  if (kept.length === 0) {
    throw new InvalidArgumentError('empty corpus: every selected page was dropped (empty text or no pool claims)', pagesField);
  }
  fillMissingLabels(kept, opts.seed);
  if (opts.allPages) {
    const withClaims = new Set(kept.map((p) => p.id));
    for (const [id, page] of pages) {
      if (withClaims.has(id) || page.text.trim() === '') continue;
      const text = styleText(page.text, opts.textStyle).trim();
      kept.push({ id, title: pageTitle(id), text, sentences: page.sentences, rank: kept.length, pool: [], eval: [], fill: [] });
    }
  }

  for (const page of kept) {
    for (const c of page.pool) stats.claims[c.label]++;
    for (const c of page.eval) stats.claims[c.label]++;
    stats.pool += page.pool.length;
    stats.eval += page.eval.length;
    stats.filled += page.fill.length;
  }
  stats.pages = kept.length;

  const corpus: Corpus = { hash: context.hash ?? '', options: opts, pages: kept, stats };
  if (options.tokenizer) {
    corpus.documents = await tokenizeDocuments(kept, options.tokenizer);
    corpus.chunks = chunkDocuments(corpus.documents, opts.maxLength);
    stats.tokens = corpus.documents.reduce((s, d) => s + d.tokens.length, 0);
    stats.chunks = corpus.chunks.length;
  }
  return corpus;
}

/** The pool size of a page with n claims under the resolved options. */
export function poolSize(n: number, opts: Pick<ResolvedCorpusOptions, 'poolPerPage' | 'poolFraction'>): number {
  if (opts.poolFraction !== null) return Math.floor(opts.poolFraction * n);
  return Math.min(opts.poolPerPage ?? DEFAULT_POOL_PER_PAGE, n);
}

/**
 * Seeded split of one page's claims: shuffle (PRNG seeded by seed and page id, so a page's split does
 * not depend on which other pages are kept), then take the pool — first one claim per label in shuffled
 * order when stratifying, then the next claims. The evaluation set keeps input order.
 */
export function splitPageClaims(
  pageId: string,
  claims: readonly CorpusClaim[],
  opts: Pick<ResolvedCorpusOptions, 'seed' | 'poolPerPage' | 'poolFraction' | 'stratifyPool'>,
): { pool: CorpusClaim[]; rest: CorpusClaim[] } {
  const size = poolSize(claims.length, opts);
  const order = shuffled(claims, derivedRandom(opts.seed, 'pool', pageId));
  const chosen = new Set<CorpusClaim>();
  if (opts.stratifyPool) {
    const seenLabels = new Set<Label>();
    for (const c of order) {
      if (chosen.size >= size) break;
      if (!seenLabels.has(c.label)) {
        seenLabels.add(c.label);
        chosen.add(c);
      }
    }
  }
  for (const c of order) {
    if (chosen.size >= size) break;
    chosen.add(c);
  }
  const pool = order.filter((c) => chosen.has(c));
  return { pool, rest: claims.filter((c) => !chosen.has(c)) };
}

/**
 * The reference's global fill: a page whose pool lacks a label borrows one pool claim with that label
 * from another kept page, chosen by a PRNG seeded with the seed, the page id and the label.
 */
export function fillMissingLabels(pages: CorpusPage[], seed: number): void {
  const global = new Map<Label, CorpusClaim[]>(LABELS.map((l) => [l, []]));
  for (const page of pages) for (const c of page.pool) global.get(c.label)!.push(c);
  for (const page of pages) {
    page.fill = [];
    const present = new Set(page.pool.map((c) => c.label));
    for (const label of LABELS) {
      if (present.has(label)) continue;
      // The page has no pool claim with this label, so every global candidate is another page's.
      const candidates = global.get(label)!;
      if (candidates.length === 0) continue;
      page.fill.push(candidates[randomIndex(derivedRandom(seed, 'fill', page.id, label), candidates.length)]!);
    }
  }
}
