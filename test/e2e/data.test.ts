import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceError } from '@grpc/grpc-js';
import { common, data } from '@memorize/contracts';
import { loadTokenizer } from '@memorize/lm';
import { shingleSetHashes } from '@memorize/memory';
import { callStream, callUnary, checkHealth, connect, status } from '@memorize/service-kit';
import { feverDir, sharedRootsEnv, startServiceProcess, storiesTok, type ServiceProcess } from '@memorize/testing';

const fever = `${feverDir}/`;
const tokenizer = storiesTok;
const request = data.LoadCorpusRequest.fromPartial({
  claimsPath: `${fever}paper_test.jsonl`,
  pagesPath: `${fever}wiki-pages.jsonl`,
  assignmentPath: `${fever}page_assignment.jsonl`,
  topN: 300,
  tokenizerPath: tokenizer,
});

let service: ServiceProcess;
let client: InstanceType<typeof data.DataServiceClient>;
let corpus: data.Corpus;

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const m of stream) out.push(m);
  return out;
}

before(async () => {
  service = await startServiceProcess('data', sharedRootsEnv());
  client = connect(data.DataServiceClient, service.address);
  const loaded = await callUnary(client, client.loadCorpus, request, 60_000);
  assert.equal(loaded.cached, false);
  corpus = loaded.corpus!;
});

after(async () => {
  client?.close();
  assert.equal(await service.stop(), 0);
});

test('LoadCorpus on the shared FEVER slice gives the SOURCES.md counts; the second load is a cache hit', async () => {
  const s = corpus.stats!;
  assert.equal(s.pages, 300);
  assert.deepEqual([s.supports, s.refutes, s.notEnoughInfo], [1629, 1796, 1732]);
  assert.equal(s.pool + s.eval, 5157);
  assert.ok(s.tokens > 100_000 && s.chunks > 300, `tokens ${s.tokens}, chunks ${s.chunks}`);
  const again = await callUnary(client, client.loadCorpus, request, 10_000);
  assert.equal(again.cached, true);
  assert.equal(again.buildSeconds, 0);
  assert.equal(again.corpus!.corpusId, corpus.corpusId);
  assert.deepEqual(
    (await callUnary(client, client.listCorpora, {}, 5_000)).corpora.map((c) => c.corpusId),
    [corpus.corpusId],
  );
});

test('documents are listed page by page and fetched by index or page id', async () => {
  const first = await callUnary(client, client.listDocuments, { corpusId: corpus.corpusId, pageSize: 200, pageToken: '', includeIds: false }, 5_000);
  const second = await callUnary(
    client,
    client.listDocuments,
    { corpusId: corpus.corpusId, pageSize: 200, pageToken: first.nextPageToken, includeIds: false },
    5_000,
  );
  assert.equal(first.documents.length + second.documents.length, 300);
  assert.equal(second.nextPageToken, '');
  assert.deepEqual(
    [...first.documents, ...second.documents].map((d) => d.index),
    Array.from({ length: 300 }, (_, i) => i),
  );
  const doc = await callUnary(client, client.getDocument, { corpusId: corpus.corpusId, index: 0, pageId: first.documents[3].pageId }, 5_000);
  assert.equal(doc.document!.index, 3);
  assert.ok(doc.text.length > 0 && doc.sentences.length > 0);
  assert.doesNotMatch(doc.text, /-LRB-|-RRB-/);
});

test('evaluation items carry the reference prompt, gold label, page and example ids', async () => {
  const items = (
    await collect(
      callStream(client, client.streamEvaluationItems, { corpusId: corpus.corpusId, shots: 1, split: 0, limit: 20, tokenize: true }, 30_000),
    )
  ).map((m) => m.item!);
  assert.equal(items.length, 20);
  for (const item of items) {
    assert.match(
      item.prompt,
      /^Determine the factuality of the following claims\nAnswer candidates: \(a\) supports, \(b\) refutes, \(c\) not enough info\nClaim: .+\nA: \([abc]\)\nClaim: .+\nA:$/,
    );
    assert.ok(item.prompt.endsWith(`Claim: ${item.claim!.text}\nA:`));
    assert.equal(item.exampleIds.length, 1);
    assert.notEqual(item.claim!.label, common.Label.LABEL_UNSPECIFIED);
    assert.equal(item.claim!.split, data.ClaimSplit.CLAIM_SPLIT_EVAL);
    assert.equal(item.promptIds[0], 1);
  }
  for (const shots of [0, 1, 2, 3, 4, 5]) {
    const p = await callUnary(client, client.getPrompt, { corpusId: corpus.corpusId, claimId: items[0].claim!.id, shots }, 5_000);
    assert.equal(p.item!.exampleIds.length, shots);
    assert.equal(p.item!.prompt.split('\nClaim: ').length - 1, shots + 1);
  }
  const defaultShots = await callUnary(client, client.getPrompt, { corpusId: corpus.corpusId, claimId: items[0].claim!.id }, 5_000);
  assert.equal(defaultShots.item!.exampleIds.length, 1, 'unset shots = 1 (the reference)');
  // A pool claim is never its own example, and still gets the shots it asked for.
  const pool = (
    await collect(
      callStream(
        client,
        client.streamEvaluationItems,
        { corpusId: corpus.corpusId, shots: 4, split: data.ClaimSplit.CLAIM_SPLIT_POOL, limit: 50, tokenize: false },
        30_000,
      ),
    )
  ).map((m) => m.item!);
  assert.equal(pool.length, 50);
  for (const item of pool) {
    assert.equal(item.claim!.split, data.ClaimSplit.CLAIM_SPLIT_POOL);
    assert.equal(item.exampleIds.length, 4);
    assert.ok(!item.exampleIds.includes(item.claim!.id));
  }
  const all = await collect(callStream(client, client.streamClaims, { corpusId: corpus.corpusId, split: 0 }, 30_000));
  assert.equal(all.length, 5157, 'unspecified split streams every claim');
});

test('training batches cover every chunk once per epoch, seeded, and resume at a step', async () => {
  const batches = await collect(
    callStream(client, client.streamTrainingBatches, { corpusId: corpus.corpusId, batchSize: 4, epochs: 2, seed: 7n, startStep: 0 }, 60_000),
  );
  const perEpoch = Math.ceil(corpus.stats!.chunks / 4);
  assert.equal(batches.length, 2 * perEpoch);
  assert.equal(batches[0].totalSteps, 2 * perEpoch);
  const epoch0 = batches.filter((b) => b.epoch === 0).flatMap((b) => b.rows);
  assert.equal(epoch0.length, corpus.stats!.chunks);
  for (const row of epoch0)
    assert.ok((row.documentIndex ?? -1) >= 0 && (row.documentIndex ?? -1) < 300 && row.ids.length >= 2 && row.ids.length <= 512);
  assert.notDeepEqual(
    batches[0].rows.map((r: common.TokenRow) => r.ids.slice(0, 4)),
    batches[perEpoch].rows.map((r: common.TokenRow) => r.ids.slice(0, 4)),
    'epochs are shuffled differently',
  );
  const resumed = await collect(
    callStream(
      client,
      client.streamTrainingBatches,
      { corpusId: corpus.corpusId, batchSize: 4, epochs: 2, seed: 7n, startStep: perEpoch + 3 },
      60_000,
    ),
  );
  assert.equal(resumed[0].step, perEpoch + 3);
  assert.deepEqual(resumed[0].rows, batches[perEpoch + 3].rows);
});

test('shingle sets are the sorted distinct hashes simset memories use', async () => {
  const sets = await callUnary(client, client.getShingleSets, { corpusId: corpus.corpusId, k: 2, documentIndices: [0, 7] }, 10_000);
  assert.deepEqual(
    sets.sets.map((s) => s.documentIndex),
    [0, 7],
  );
  const tok = await loadTokenizer(tokenizer);
  for (const s of sets.sets) {
    for (let i = 1; i < s.shingles.length; i++) assert.ok(s.shingles[i] > s.shingles[i - 1]);
    // Independently: the document's text, tokenized as the corpus does it, hashed by libs/memory.
    const doc = await callUnary(client, client.getDocument, { corpusId: corpus.corpusId, index: s.documentIndex, pageId: '' }, 5_000);
    assert.deepEqual(s.shingles, [...shingleSetHashes(tok.encode(doc.text, { bos: true }), 2)].map(BigInt));
  }
});

test('bad input is refused with the field named; nothing breaks', async () => {
  await assert.rejects(
    callUnary(client, client.loadCorpus, { ...request, claimsPath: 'data/fever/nope.jsonl' }, 10_000),
    (e: ServiceError) => e.code === status.NOT_FOUND && /claims_path/.test(e.details),
  );
  await assert.rejects(
    callUnary(client, client.loadCorpus, { ...request, topN: 1000 }, 30_000),
    (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /^top_n\b/.test(e.details) && e.metadata.get('memorize-field')[0] === 'top_n',
  );
  await assert.rejects(
    callUnary(client, client.loadCorpus, { ...request, claimsPath: `${fever}wiki-pages.jsonl`, strict: true }, 30_000),
    (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /wiki-pages\.jsonl:1/.test(e.details),
  );
  await assert.rejects(
    callUnary(client, client.getCorpus, { corpusId: 'nope' }, 5_000),
    (e: ServiceError) => e.code === status.NOT_FOUND && /corpus_id/.test(e.details),
  );
  await assert.rejects(
    callUnary(client, client.getPrompt, { corpusId: corpus.corpusId, claimId: 1n, shots: 1 }, 5_000),
    (e: ServiceError) => e.code === status.NOT_FOUND && /claim_id/.test(e.details),
  );
  await assert.rejects(
    collect(callStream(client, client.streamEvaluationItems, { corpusId: corpus.corpusId, shots: 9, split: 0, limit: 0, tokenize: false }, 10_000)),
    (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /^shots/.test(e.details),
  );
  await assert.rejects(
    callUnary(client, client.listDocuments, { corpusId: corpus.corpusId, pageSize: 10, pageToken: 'x', includeIds: false }, 5_000),
    (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /page_token/.test(e.details),
  );
  const untokenized = await callUnary(client, client.loadCorpus, { ...request, tokenizerPath: '', topN: 50 }, 30_000);
  await assert.rejects(
    collect(
      callStream(
        client,
        client.streamTrainingBatches,
        { corpusId: untokenized.corpus!.corpusId, batchSize: 4, epochs: 1, seed: 0n, startStep: 0 },
        10_000,
      ),
    ),
    (e: ServiceError) => e.code === status.FAILED_PRECONDITION && /tokenizer_path/.test(e.details),
  );
  await assert.rejects(
    collect(
      callStream(
        client,
        client.streamEvaluationItems,
        { corpusId: untokenized.corpus!.corpusId, shots: 1, split: 0, limit: 1, tokenize: true },
        10_000,
      ),
    ),
    (e: ServiceError) => e.code === status.FAILED_PRECONDITION && /tokenize/.test(e.details),
  );
  await assert.rejects(
    callUnary(client, client.loadCorpus, { ...request, topN: -3 }, 10_000),
    (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /top_n/.test(e.details),
  );
  assert.equal(await checkHealth(service.address), 'SERVING');
});
