import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  buildCorpus,
  claimRowsForEpoch,
  contentHash,
  readClaims,
  type ClaimRowOptions,
  type Corpus,
  type CorpusOptions,
  type RowClaim,
} from '@memorize/fever';
import { checkFolderLinksInRoot, fileOrFolder, inClientTerms, resolveInRoot, type ClientFile } from '@memorize/files';
import { loadTokenizer, type Tokenizer } from '@memorize/lm';
import { InvalidArgumentError, NotFoundError } from '@memorize/errors';
import { ByteBudgetCache, defaultCacheBytes } from '@memorize/service-kit';
import type { data } from '@memorize/contracts';
import { estimateBytes } from './estimate-bytes.js';
import { checkEvaluationSet } from '@memorize/validation';

/** A corpus held by the data service: the library's corpus plus what it was built from. */
export interface HeldCorpus {
  id: string;
  request: data.LoadCorpusRequest;
  corpus: Corpus;
  tokenizer?: Tokenizer;
  buildSeconds: number;
  /** Estimated bytes the corpus holds in memory (what counts against --corpus-cache-bytes). */
  bytes: number;
  /** Claims that become weighted training rows each epoch (LoadCorpusRequest.claim_rows). */
  claimRows?: { claims: RowClaim[]; options: ClaimRowOptions; perEpoch: number };
}

/** The claim rows of a request with defaults filled in (answer weight 1, 1 shot). */
function claimRowOptions(request: data.LoadCorpusRequest): ClaimRowOptions | undefined {
  const c = request.claimRows;
  if (!c) return undefined;
  return { perEpoch: c.perEpoch, answerWeight: c.answerWeight || 1, shots: c.shots ?? 1 };
}

/**
 * A client path inside the data root: a regular file (or, for tokenizer_path, a folder whose links stay inside
 * the root). Outside the root is PERMISSION_DENIED, a FIFO or device INVALID_ARGUMENT, all naming the field.
 */
function requireFile(root: string, path: string, field: string, folderAllowed = false): ClientFile {
  if (!path) throw new InvalidArgumentError(`${field} is required`, field);
  const full = resolveInRoot(root, path, field);
  const kind = fileOrFolder(full, field, { noFollow: true, shown: path });
  if (kind === 'folder') {
    if (!folderAllowed) throw new InvalidArgumentError(`${field}: ${path} is a folder, expected a regular file`, field);
    checkFolderLinksInRoot(root, full, field);
  }
  return { field, client: path, path: full };
}

/**
 * The files that define a tokenizer, for the content hash: a tokenizer.bin, or tokenizer.json with the
 * config files beside it that set BOS/EOS (tokenizer_config.json, special_tokens_map.json).
 */
function tokenizerFiles(root: string, path: string): Record<string, string | undefined> {
  const full = requireFile(root, path, 'tokenizer_path', true).path;
  const json = fileOrFolder(full, 'tokenizer_path', { shown: path }) === 'folder' ? join(full, 'tokenizer.json') : full;
  if (!json.endsWith('.json')) return { tokenizer: json };
  const beside = (name: string): string | undefined => (existsSync(join(dirname(json), name)) ? join(dirname(json), name) : undefined);
  return { tokenizer: json, tokenizerConfig: beside('tokenizer_config.json'), specialTokens: beside('special_tokens_map.json') };
}

/**
 * Corpora by content hash: the same files and options always give the same id, built once. The held corpora stay
 * within a byte budget (--corpus-cache-bytes): a new corpus evicts the least recently used ones (every call naming
 * a corpus counts as a use); an evicted id answers NOT_FOUND saying so, and LoadCorpus with the same request
 * rebuilds it under the same id. Calls already streaming from an evicted corpus finish (they hold it).
 */
export class CorpusStore {
  /** Budget of new stores, bytes; the data service's main sets it from --corpus-cache-bytes. */
  static defaultBudgetBytes = defaultCacheBytes.corpusCacheBytes;
  private readonly corpora: ByteBudgetCache<string, HeldCorpus>;
  private readonly building = new Map<string, Promise<HeldCorpus>>();

  /** `dataRoot`: every client path resolves inside it (--data-root). */
  constructor(
    readonly dataRoot: string,
    budgetBytes = CorpusStore.defaultBudgetBytes,
  ) {
    this.corpora = new ByteBudgetCache({ budgetBytes, budgetName: '--corpus-cache-bytes', noun: 'corpus' });
  }

  /** Bytes held and the budget. */
  get usage(): { usedBytes: number; budgetBytes: number; corpora: number } {
    return { usedBytes: this.corpora.usedBytes, budgetBytes: this.corpora.budgetBytes, corpora: this.corpora.size };
  }

  async load(request: data.LoadCorpusRequest): Promise<{ held: HeldCorpus; cached: boolean }> {
    const root = this.dataRoot;
    const files = [requireFile(root, request.claimsPath, 'claims_path'), requireFile(root, request.pagesPath, 'pages_path')];
    if (request.assignmentPath) files.push(requireFile(root, request.assignmentPath, 'assignment_path'));
    const tokenizerFile = request.tokenizerPath ? requireFile(root, request.tokenizerPath, 'tokenizer_path', true) : undefined;
    if (tokenizerFile) files.push(tokenizerFile);
    if (request.claimRows?.claimsPath) files.push(requireFile(root, request.claimRows.claimsPath, 'claim_rows.claims_path'));
    return inClientTerms(root, files, () => this.loadResolved(request, files, tokenizerFile));
  }

  private async loadResolved(
    request: data.LoadCorpusRequest,
    files: ClientFile[],
    tokenizerFile: ClientFile | undefined,
  ): Promise<{ held: HeldCorpus; cached: boolean }> {
    const [claims, pages, assignments] = [files[0].path, files[1].path, request.assignmentPath ? files[2].path : undefined];
    const rowOptions = claimRowOptions(request);
    const rowClaimsPath = request.claimRows?.claimsPath ? files[files.length - 1].path : claims;
    const options: CorpusOptions = {
      topN: request.topN || undefined,
      allPages: request.allPages || undefined,
      // uint64 on the wire (a bigint once decoded as such); seeds are taken modulo 2^32.
      seed: Number(BigInt.asUintN(32, BigInt(request.seed))),
      poolPerPage: request.poolPerPage || undefined,
      mode: request.strict ? 'strict' : 'lenient',
      maxLength: request.maxLength || 512,
    };
    const tokenizer = tokenizerFile ? tokenizerFiles(this.dataRoot, request.tokenizerPath) : {};
    const rowsKey = rowOptions ? { claimRows: rowOptions } : {};
    const rowFiles = rowOptions ? { claimRowClaims: rowClaimsPath } : {};
    const id = (await contentHash({ claims, pages, assignments, ...tokenizer, ...rowFiles }, { ...options, ...rowsKey })).slice(0, 16);
    const held = this.corpora.get(id);
    if (held) return { held, cached: true };
    let pending = this.building.get(id);
    if (!pending) {
      pending = (async () => {
        const t0 = performance.now();
        const loaded = tokenizerFile ? await loadTokenizer(tokenizerFile.path) : undefined;
        const corpus = await buildCorpus({ claims, pages, assignments }, { ...options, tokenizer: loaded, tokenizerId: tokenizer.tokenizer });
        // Refuse (before keeping it) a corpus whose few-shot pools leave no claim to evaluate.
        checkEvaluationSet(
          corpus.pages.map((p) => p.pool.length + p.eval.length),
          corpus.options.poolPerPage ?? 5,
        );
        const claimRows = rowOptions ? await this.claimRows(rowClaimsPath, rowOptions, loaded, options) : undefined;
        const bytes = estimateBytes(corpus) + (loaded ? estimateBytes(loaded) : 0) + (claimRows ? estimateBytes(claimRows.claims) : 0);
        const built: HeldCorpus = { id, request, corpus, tokenizer: loaded, buildSeconds: (performance.now() - t0) / 1000, bytes, claimRows };
        // RESOURCE_EXHAUSTED when the corpus alone is larger than the budget; else the least recently used go.
        this.corpora.reserve(bytes);
        this.corpora.set(id, built, bytes);
        return built;
      })().finally(() => this.building.delete(id));
      this.building.set(id, pending);
    }
    return { held: await pending, cached: false };
  }

  /** The claims of claim_rows, checked by drawing the first epoch's rows (they must fit max_length). */
  private async claimRows(
    path: string,
    options: ClaimRowOptions,
    tokenizer: Tokenizer | undefined,
    corpusOptions: CorpusOptions,
  ): Promise<NonNullable<HeldCorpus['claimRows']>> {
    if (!tokenizer) throw new InvalidArgumentError('claim_rows needs a tokenizer_path (its rows are token ids)', 'tokenizer_path');
    const claims: RowClaim[] = [];
    for await (const c of readClaims(path, { mode: corpusOptions.mode })) claims.push({ claim: c.claim, label: c.label });
    const rows = claimRowsForEpoch(claims, tokenizer, options, 0, 0);
    const longest = rows.reduce((a, r) => Math.max(a, r.ids.length), 0);
    const maxLength = corpusOptions.maxLength ?? 512;
    if (longest > maxLength) {
      throw new InvalidArgumentError(
        `claim_rows: a ${options.shots}-shot claim row holds ${longest} tokens, more than max_length ${maxLength}`,
        'claim_rows.shots',
      );
    }
    return { claims, options, perEpoch: rows.length };
  }

  get(id: string): HeldCorpus {
    if (!id) throw new InvalidArgumentError('corpus_id is required', 'corpus_id');
    const held = this.corpora.get(id);
    if (held) return held;
    if (this.corpora.wasEvicted(id)) {
      throw new NotFoundError(
        `corpus "${id}" was evicted from the cache (--corpus-cache-bytes ${this.corpora.budgetBytes}); LoadCorpus with the same request rebuilds it`,
        'corpus_id',
      );
    }
    throw new NotFoundError(`no corpus "${id}" (LoadCorpus first)`, 'corpus_id');
  }

  list(): HeldCorpus[] {
    return this.corpora.values();
  }
}
