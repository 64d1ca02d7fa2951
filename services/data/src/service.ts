import { data, protoFiles, seed32, serviceNames, common } from '@memorize/contracts';
import { claimPrompt, claimRowsForEpoch, derivedRandom, shuffled, type CorpusClaim, type CorpusPage, type Label } from '@memorize/fever';
import { shingleSetHashes } from '@memorize/memory';
import type { HostedService, Implementation, Logger } from '@memorize/service-kit';
import { FailedPreconditionError, InvalidArgumentError, MemorizeError, NotFoundError } from '@memorize/errors';
import { validators } from '@memorize/validation';
import { CorpusStore, type HeldCorpus } from './corpora.js';

export type Definition = typeof data.DataServiceService;
const validate = validators.data;

const labelToProto: Record<Label, common.Label> = {
  SUPPORTS: common.Label.LABEL_SUPPORTS,
  REFUTES: common.Label.LABEL_REFUTES,
  'NOT ENOUGH INFO': common.Label.LABEL_NOT_ENOUGH_INFO,
};

function corpusMessage(held: HeldCorpus): data.Corpus {
  const s = held.corpus.stats;
  return {
    corpusId: held.id,
    options: held.request,
    stats: {
      pages: s.pages,
      supports: s.claims.SUPPORTS,
      refutes: s.claims.REFUTES,
      notEnoughInfo: s.claims['NOT ENOUGH INFO'],
      pool: s.pool,
      eval: s.eval,
      tokens: BigInt(s.tokens ?? 0),
      chunks: s.chunks ?? 0,
      skippedLines: s.malformed.count,
      claimsWithoutPage: s.missingPage.count,
      claimRows: held.claimRows?.perEpoch ?? 0,
    },
  };
}

function claimMessage(c: CorpusClaim, documentIndex: number, split: data.ClaimSplit): data.Claim {
  return { id: BigInt(c.id), text: c.claim, label: labelToProto[c.label], documentIndex, split };
}

/** Unset shots = 1 (the reference is 1-shot). */
const shotsOf = (shots: number | undefined): number => shots ?? 1;

/** Library option names -> the request fields a caller sees. */
const requestField: Record<string, string> = { topN: 'top_n', poolPerPage: 'pool_per_page', k: 'shots', maxLength: 'max_length', seed: 'seed' };

/** Rewrites a library error's field to the proto field name, so gRPC callers see the name they sent. */
async function inRequestTerms<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof MemorizeError && error.field && requestField[error.field]) {
      const field = requestField[error.field];
      const Ctor = error.constructor as new (message: string, field?: string) => MemorizeError;
      throw new Ctor(`${field}: ${error.message}`, field);
    }
    throw error;
  }
}

function evaluationItem(
  held: HeldCorpus,
  page: CorpusPage,
  claim: CorpusClaim,
  split: data.ClaimSplit,
  shots: number,
  tokenize: boolean,
): data.EvaluationItem {
  const { prompt, exampleIds } = claimPrompt(page, claim, shots, { seed: held.corpus.options.seed });
  return {
    claim: claimMessage(claim, page.rank, split),
    prompt,
    promptIds: tokenize ? held.tokenizer!.encode(prompt, { bos: true }) : [],
    exampleIds: exampleIds.map((id) => BigInt(id)),
  };
}

function* claimsOf(held: HeldCorpus, split: data.ClaimSplit): Generator<[CorpusPage, CorpusClaim, data.ClaimSplit]> {
  for (const page of held.corpus.pages) {
    if (split === data.ClaimSplit.CLAIM_SPLIT_POOL || split === data.ClaimSplit.CLAIM_SPLIT_ALL)
      for (const c of page.pool) yield [page, c, data.ClaimSplit.CLAIM_SPLIT_POOL];
    if (split === data.ClaimSplit.CLAIM_SPLIT_EVAL || split === data.ClaimSplit.CLAIM_SPLIT_ALL)
      for (const c of page.eval) yield [page, c, data.ClaimSplit.CLAIM_SPLIT_EVAL];
  }
}

/** DataService handlers: validate the request (libs/validation), translate it and call libs/fever. */
export function dataServiceHandlers(store: CorpusStore, logger: Logger): Implementation<Definition> {
  return {
    async loadCorpus(request) {
      validate.loadCorpus(request);
      const { held, cached } = await inRequestTerms(() => store.load(request));
      if (!cached) logger.info({ corpusId: held.id, stats: corpusMessage(held).stats, seconds: held.buildSeconds }, 'corpus built');
      return { corpus: corpusMessage(held), cached, buildSeconds: cached ? 0 : held.buildSeconds };
    },
    async listCorpora(request) {
      validate.listCorpora(request);
      return { corpora: store.list().map(corpusMessage) };
    },
    async getCorpus(request) {
      validate.getCorpus(request);
      return { corpus: corpusMessage(store.get(request.corpusId)) };
    },
    async listDocuments(request) {
      const held = store.get(request.corpusId);
      validate.listDocuments(request, { documents: held.corpus.pages.length });
      const size = request.pageSize || 100;
      const start = request.pageToken ? Number(request.pageToken) : 0;
      const pages = held.corpus.pages.slice(start, start + size);
      const next = start + size < held.corpus.pages.length ? String(start + size) : '';
      const documents = held.corpus.documents;
      if (request.includeIds && !documents)
        throw new FailedPreconditionError('the corpus was loaded without a tokenizer_path, so it has no token ids', 'include_ids');
      return {
        documents: pages.map((p) => ({
          index: p.rank,
          pageId: p.id,
          title: p.title,
          claims: p.pool.length + p.eval.length,
          tokens: documents?.[p.rank]?.tokens.length ?? 0,
          ids: request.includeIds ? documents![p.rank].tokens : [],
        })),
        nextPageToken: next,
      };
    },
    async getDocument(request) {
      validate.getDocument(request);
      const held = store.get(request.corpusId);
      const page = request.pageId ? held.corpus.pages.find((p) => p.id === request.pageId) : held.corpus.pages[request.index];
      if (!page)
        throw new NotFoundError(
          request.pageId ? `no page "${request.pageId}" in the corpus` : `no document ${request.index}`,
          request.pageId ? 'page_id' : 'index',
        );
      return {
        document: {
          index: page.rank,
          pageId: page.id,
          title: page.title,
          claims: page.pool.length + page.eval.length,
          tokens: held.corpus.documents?.[page.rank]?.tokens.length ?? 0,
          ids: [],
        },
        text: page.text,
        sentences: page.sentences.map((s) => ({ id: s.id, text: s.text })),
      };
    },
    async streamClaims(request, send) {
      validate.streamClaims(request);
      const held = store.get(request.corpusId);
      const split = request.split === data.ClaimSplit.CLAIM_SPLIT_UNSPECIFIED ? data.ClaimSplit.CLAIM_SPLIT_ALL : request.split;
      for (const [page, claim, claimSplit] of claimsOf(held, split)) await send({ claim: claimMessage(claim, page.rank, claimSplit) });
    },
    async streamEvaluationItems(request, send, ctx) {
      validate.streamEvaluationItems(request);
      const held = store.get(request.corpusId);
      const shots = shotsOf(request.shots);
      const split = request.split === data.ClaimSplit.CLAIM_SPLIT_UNSPECIFIED ? data.ClaimSplit.CLAIM_SPLIT_EVAL : request.split;
      if (request.tokenize && !held.tokenizer)
        throw new FailedPreconditionError('the corpus was loaded without a tokenizer_path, so prompts cannot be tokenized', 'tokenize');
      // Validate shots against every page before streaming, so a bad request fails before its first item.
      const tooFew = held.corpus.pages.find(
        (p) => p.pool.length + p.eval.length > 0 && p.pool.length + p.fill.length - (split === data.ClaimSplit.CLAIM_SPLIT_EVAL ? 0 : 1) < shots,
      );
      if (tooFew)
        throw new InvalidArgumentError(
          `shots = ${shots} but page "${tooFew.id}" offers only ${tooFew.pool.length + tooFew.fill.length} pool claims`,
          'shots',
        );
      let sent = 0;
      for (const [page, claim, claimSplit] of claimsOf(held, split)) {
        if (request.limit && sent >= request.limit) break;
        if (ctx.signal.aborted) return;
        await send({ item: evaluationItem(held, page, claim, claimSplit, shots, request.tokenize) });
        sent++;
      }
    },
    async getPrompt(request) {
      validate.getPrompt(request);
      const held = store.get(request.corpusId);
      for (const [page, claim, split] of claimsOf(held, data.ClaimSplit.CLAIM_SPLIT_ALL)) {
        if (Number.isSafeInteger(claim.id) && BigInt(claim.id) === request.claimId)
          return { item: await inRequestTerms(() => evaluationItem(held, page, claim, split, shotsOf(request.shots), false)) };
      }
      throw new NotFoundError(`claim ${request.claimId} is not in corpus ${held.id}`, 'claim_id');
    },
    async streamTrainingBatches(request, send, ctx) {
      validate.streamTrainingBatches(request);
      const held = store.get(request.corpusId);
      const chunks = held.corpus.chunks;
      if (!chunks) throw new FailedPreconditionError('the corpus was loaded without a tokenizer_path, so it has no training rows', 'corpus_id');
      const batchSize = request.batchSize || 4;
      const epochs = request.epochs || 1;
      const rowSeed = seed32(request.seed);
      const claimRows = held.claimRows;
      const perEpoch = Math.ceil((chunks.length + (claimRows?.perEpoch ?? 0)) / batchSize);
      const totalSteps = perEpoch * epochs;
      if (request.startStep < 0 || request.startStep > totalSteps)
        throw new InvalidArgumentError(`start_step must be in 0..${totalSteps}`, 'start_step');
      for (let epoch = Math.floor(request.startStep / perEpoch); epoch < epochs; epoch++) {
        if ((epoch + 1) * perEpoch <= request.startStep) continue;
        const pageRows: common.TokenRow[] = chunks.map((c) => ({ ids: c.tokens, documentIndex: c.docIndex, weights: [] }));
        // Claim rows are drawn anew each epoch (which claims, which examples) and shuffled in with the pages.
        const epochRows = claimRows
          ? [
              ...pageRows,
              ...claimRowsForEpoch(claimRows.claims, held.tokenizer!, claimRows.options, rowSeed, epoch).map((r) => ({
                ids: r.ids,
                weights: r.weights,
              })),
            ]
          : pageRows;
        const order = shuffled(epochRows, derivedRandom(rowSeed, 'batches', epoch));
        for (let b = 0; b < perEpoch; b++) {
          const step = epoch * perEpoch + b;
          if (step < request.startStep) continue;
          if (ctx.signal.aborted) return;
          const rows = order.slice(b * batchSize, (b + 1) * batchSize);
          await send({ epoch, step, totalSteps, rows });
        }
      }
    },
    async getShingleSets(request) {
      validate.getShingleSets(request);
      const held = store.get(request.corpusId);
      const documents = held.corpus.documents;
      if (!documents) throw new FailedPreconditionError('the corpus was loaded without a tokenizer_path', 'corpus_id');
      const k = request.k || 2;
      const indices = request.documentIndices.length ? request.documentIndices : documents.map((_, i) => i);
      return {
        sets: indices.map((i) => {
          const doc = documents[i];
          if (!doc) throw new NotFoundError(`no document ${i}`, 'document_indices');
          return { documentIndex: i, shingles: [...shingleSetHashes(doc.tokens, k)].map(BigInt) };
        }),
      };
    },
  };
}

/** `dataRoot`: where every client path (claims, pages, assignment, tokenizer) resolves (--data-root). */
export function dataService(logger: Logger, dataRoot: string): HostedService<Definition> {
  logger.info({ dataRoot }, 'roots');
  return {
    serviceName: serviceNames.data,
    definition: data.DataServiceService,
    implementation: dataServiceHandlers(new CorpusStore(dataRoot), logger),
    protoFile: protoFiles.data,
  };
}
