import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data } from '@memorize/contracts';
import { InvalidArgumentError, PermissionDeniedError } from '@memorize/errors';
import { LABEL_TO_LETTER, generateTestbed, writeTestbed, type Label } from '@memorize/fever';
import { Metadata } from '@grpc/grpc-js';
import { createLogger, type CallContext } from '@memorize/service-kit';
import { CorpusStore } from '../src/corpora.js';
import { dataServiceHandlers } from '../src/service.js';

// A real testbed on disk (12 A entities with pages and claims, 4 C with pages only) and its word-level tokenizer.
const root = mkdtempSync(join(tmpdir(), 'memorize-claim-rows-'));
test.after(() => rmSync(root, { recursive: true, force: true }));
const paths = await writeTestbed(join(root, 'world'), generateTestbed({ seed: 5, sets: { A: 12, B: 2, C: 4 }, versions: 2 }));
const vocab = (JSON.parse(readFileSync(paths.wordTokenizer, 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab;
const word = new Map(Object.entries(vocab).map(([w, id]) => [id, w]));
const claims = readFileSync(paths.pretrain.claims, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { claim: string; label: Label });
const pageLines = readFileSync(paths.pretrain.pages, 'utf8').trim().split('\n').length;

const logger = createLogger('data-test', 'silent');
const handlers = dataServiceHandlers(new CorpusStore(root), logger);
const ctx: CallContext = { signal: new AbortController().signal, deadline: null, peer: 'test', metadata: new Metadata(), logger };
const request = (claimRows: Partial<data.LoadCorpusRequest['claimRows']> | undefined, extra: Partial<data.LoadCorpusRequest> = {}) =>
  data.LoadCorpusRequest.fromPartial({
    claimsPath: paths.pretrain.claims,
    pagesPath: paths.pretrain.pages,
    assignmentPath: paths.pretrain.assignments,
    poolPerPage: 1,
    tokenizerPath: paths.wordTokenizer,
    maxLength: 256,
    allPages: true,
    claimRows: claimRows === undefined ? undefined : data.LoadCorpusRequest.fromPartial({ claimRows }).claimRows,
    ...extra,
  });

async function batches(corpusId: string, epochs: number, batchSize: number): Promise<data.StreamTrainingBatchesResponse[]> {
  const out: data.StreamTrainingBatchesResponse[] = [];
  await handlers.streamTrainingBatches!({ corpusId, batchSize, epochs, seed: 3n, startStep: 0 }, async (m) => void out.push(m), ctx);
  return out;
}

const text = (ids: readonly number[]): string => ids.map((id) => word.get(id)).join(' ');

test('all_pages keeps every page of the file as a document; claim rows join the page chunks each epoch', async () => {
  const pagesOnly = (await handlers.loadCorpus!(request(undefined), ctx)).corpus!;
  // Every version of A's and C's pages, though only A's canonical pages have claims.
  assert.equal(pagesOnly.stats!.pages, pageLines);
  assert.equal(pagesOnly.stats!.claimRows, 0);

  const withRows = (await handlers.loadCorpus!(request({ answerWeight: 10 }), ctx)).corpus!;
  assert.notEqual(withRows.corpusId, pagesOnly.corpusId, 'claim rows are part of the corpus id');
  assert.equal(withRows.stats!.claimRows, claims.length);
  const rowsPerEpoch = withRows.stats!.chunks + claims.length;
  const sent = await batches(withRows.corpusId, 2, 8);
  assert.equal(sent.length, 2 * Math.ceil(rowsPerEpoch / 8));
  assert.equal(sent[0].totalSteps, sent.length);

  for (const epoch of [0, 1]) {
    const rows = sent.filter((b) => b.epoch === epoch).flatMap((b) => b.rows);
    assert.equal(rows.length, rowsPerEpoch);
    const weighted = rows.filter((r) => r.weights.length > 0);
    assert.equal(weighted.length, claims.length, 'one row per claim per epoch');
    const seen = new Set<string>();
    for (const r of weighted) {
      assert.equal(r.weights.length, r.ids.length);
      const heavy = r.weights.flatMap((w, i) => (w === 10 ? [i] : []));
      assert.equal(heavy.length, 1, 'exactly one token weighs 10');
      assert.ok(r.weights.every((w) => w === 10 || w === 1));
      const at = heavy[0];
      // "... Claim : <claim> A : ( x )": the weighted token is the letter of the row's own claim's gold label.
      assert.equal(word.get(r.ids[at - 1]), '(');
      assert.equal(word.get(r.ids[at + 1]), ')');
      assert.equal(at, r.ids.length - 2);
      const rowText = text(r.ids);
      const own = claims.find((c) => rowText.endsWith(`${text(tokenize(c.claim))} A : ( ${LABEL_TO_LETTER[c.label]} )`));
      assert.ok(own, `row ends with a claim and its gold letter: ${rowText}`);
      assert.equal(word.get(r.ids[at]), LABEL_TO_LETTER[own.label]);
      seen.add(own.claim);
    }
    assert.equal(seen.size, claims.length, 'every claim once per epoch');
  }
  // Examples are drawn anew each epoch.
  const rowsOf = (epoch: number) =>
    sent
      .filter((b) => b.epoch === epoch)
      .flatMap((b) => b.rows)
      .filter((r) => r.weights.length > 0)
      .map((r) => text(r.ids))
      .sort();
  assert.notDeepEqual(rowsOf(0), rowsOf(1));
  // The same request gives the same rows (resume relies on it).
  assert.deepEqual(await batches(withRows.corpusId, 2, 8), sent);
});

test('per_epoch draws whole passes: every claim comes up before any repeats', async () => {
  const perEpoch = claims.length * 2 + 5;
  const corpus = (await handlers.loadCorpus!(request({ perEpoch, shots: 2 }), ctx)).corpus!;
  assert.equal(corpus.stats!.claimRows, perEpoch);
  const rows = (await batches(corpus.corpusId, 1, 16)).flatMap((b) => b.rows).filter((r) => r.weights.length > 0);
  assert.equal(rows.length, perEpoch);
  // answer_weight 0 means the default 1: a claim row then weighs every token 1, but still carries its weights.
  assert.ok(rows.every((r) => r.weights.every((w) => w === 1)));
  // Two examples: three "Claim :" in each row.
  assert.ok(rows.every((r) => text(r.ids).split('Claim :').length - 1 === 3));
});

test('claim rows refuse what cannot work, naming the field', async () => {
  await assert.rejects(
    handlers.loadCorpus!(request({ claimsPath: '/etc/passwd' }), ctx),
    (e: unknown) => e instanceof PermissionDeniedError && e.field === 'claim_rows.claims_path',
  );
  await assert.rejects(
    handlers.loadCorpus!(request({ shots: 8 }, { maxLength: 64 }), ctx),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === 'claim_rows.shots' && /more than max_length 64/.test(e.message),
  );
  await assert.rejects(
    handlers.loadCorpus!(request({}, { tokenizerPath: '' }), ctx),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === 'tokenizer_path',
  );
});

/** The world's word-level pre-tokenization (\w+ | punctuation runs), mapped through its vocabulary. */
function tokenize(s: string): number[] {
  return (s.match(/\w+|[^\w\s]+/g) ?? []).map((w) => vocab[w] ?? vocab['<unk>']);
}
