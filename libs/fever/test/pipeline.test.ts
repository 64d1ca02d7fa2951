import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '@memorize/errors';
import {
  DEFAULT_POOL_PER_PAGE,
  assembleCorpus,
  buildCorpus,
  chunkDocuments,
  LABELS,
  loadAssignments,
  readPages,
  tokenizeDocuments,
  type Corpus,
  type FeverClaim,
  type WikiPage,
} from '@memorize/fever';
import { collect, feverFiles as SHARED, withTempDir } from '@memorize/testing';
import { wordTokenizer, writeLines } from './helpers.js';

let shared: Promise<Corpus> | undefined;
const sharedCorpus = () => (shared ??= buildCorpus(SHARED, { topN: 300 }));

test('acceptance: top 300 of the shared slice has the SOURCES.md counts', async () => {
  const { stats } = await sharedCorpus();
  assert.equal(stats.pages, 300);
  assert.deepEqual(stats.claims, { SUPPORTS: 1629, REFUTES: 1796, 'NOT ENOUGH INFO': 1732 });
  assert.equal(stats.pool + stats.eval, 5157);
  assert.equal(stats.unattributed.count, 0);
  assert.equal(stats.missingPage.count, 0);
  assert.equal(stats.malformed.count, 0);
});

test('pool/eval sizes: DEFAULT_POOL_PER_PAGE (5) pool claims per page by default, computed independently from the sidecar', async () => {
  const { stats, pages } = await sharedCorpus();
  const perPage = new Map<string, number>();
  for (const page of (await loadAssignments(SHARED.assignments)).values()) perPage.set(page, (perPage.get(page) ?? 0) + 1);
  const expectedPool = [...perPage.values()].reduce((s, n) => s + Math.min(DEFAULT_POOL_PER_PAGE, n), 0);
  assert.equal(stats.pool, expectedPool);
  assert.equal(stats.eval, 5157 - expectedPool);
  // per-page claim counts match the sidecar; SOURCES.md: min 9, max 39 claims per page
  const sizes = pages.map((p) => p.pool.length + p.eval.length);
  for (const p of pages) assert.equal(p.pool.length + p.eval.length, perPage.get(p.id));
  assert.equal(Math.min(...sizes), 9);
  assert.equal(Math.max(...sizes), 39);
});

test('every page can give an example of each label: own pool or global fill from other pages', async () => {
  const { pages, stats } = await sharedCorpus();
  const poolIds = new Set(pages.flatMap((p) => p.pool.map((c) => c.id)));
  const evalIds = new Set(pages.flatMap((p) => p.eval.map((c) => c.id)));
  let pagesWithAllLabels = 0;
  let filled = 0;
  for (const page of pages) {
    const own = new Set([...page.pool, ...page.eval].map((c) => c.label));
    if (own.size === 3) pagesWithAllLabels++;
    const available = new Set([...page.pool, ...page.fill].map((c) => c.label));
    assert.equal(available.size, 3, page.id);
    for (const c of page.fill) {
      assert.notEqual(c.page, page.id);
      assert.ok(poolIds.has(c.id), 'fill comes from the global pool');
      assert.ok(!page.pool.some((p) => p.label === c.label), 'fill only for missing labels');
    }
    // stratified pool: a label the page has is in its pool
    for (const label of own)
      assert.ok(
        page.pool.some((c) => c.label === label),
        `${page.id} pool lacks ${label}`,
      );
    for (const c of page.eval) assert.ok(!poolIds.has(c.id), 'no claim is both pool and eval');
    filled += page.fill.length;
  }
  assert.equal(pagesWithAllLabels, 277); // SOURCES.md: 277 pages have all three labels
  assert.equal(stats.filled, filled);
  assert.equal(poolIds.size + evalIds.size, 5157);
});

test('ranking: claim count descending, then sentences descending, then id', async () => {
  const { pages } = await sharedCorpus();
  for (let i = 1; i < pages.length; i++) {
    const a = pages[i - 1]!;
    const b = pages[i]!;
    const na = a.pool.length + a.eval.length;
    const nb = b.pool.length + b.eval.length;
    assert.ok(
      na > nb || (na === nb && (a.sentences.length > b.sentences.length || (a.sentences.length === b.sentences.length && a.id < b.id))),
      `${a.id} before ${b.id}`,
    );
    assert.equal(b.rank, i);
  }
  const top10 = await buildCorpus(SHARED, { topN: 10 });
  assert.deepEqual(
    top10.pages.map((p) => p.id),
    pages.slice(0, 10).map((p) => p.id),
  );
  assert.equal(top10.stats.candidatePages, 300);
});

test('split is deterministic per seed and changes with the seed; page text unescaped', async () => {
  const a = await sharedCorpus();
  const b = await buildCorpus(SHARED, { topN: 300, seed: 0 });
  const c = await buildCorpus(SHARED, { topN: 300, seed: 7 });
  const poolIds = (x: Corpus) => x.pages.map((p) => p.pool.map((q) => q.id).join(','));
  assert.deepEqual(poolIds(a), poolIds(b));
  assert.notDeepEqual(poolIds(a), poolIds(c));
  assert.equal(a.hash, b.hash);
  assert.notEqual(a.hash, c.hash);
  assert.match(a.hash, /^[0-9a-f]{64}$/);
  const poca = a.pages.find((p) => p.id === 'Pocahontas')!;
  assert.ok(poca.text.startsWith('Pocahontas ( born Matoaka'));
  assert.ok(!a.pages.some((p) => /-LRB-|-RRB-|-LSB-|-RSB-/.test(p.text)));
  assert.equal(poca.title, 'Pocahontas');
});

test('without the sidecar, the title-prefix rule attributes NEI claims to the same pages', async () => {
  const a = await sharedCorpus();
  const b = await buildCorpus({ claims: SHARED.claims, pages: SHARED.pages }, { topN: 300 });
  assert.equal(b.options.neiRule, 'title-prefix');
  assert.deepEqual(b.stats.claims, a.stats.claims);
  assert.deepEqual(
    b.pages.map((p) => [p.id, p.pool.length + p.eval.length]),
    a.pages.map((p) => [p.id, p.pool.length + p.eval.length]),
  );
});

test('poolFraction: floor of the fraction; pages left without pool claims are dropped', async () => {
  const corpus = await buildCorpus(SHARED, { poolFraction: 0.1 });
  const perPage = new Map<string, number>();
  for (const page of (await loadAssignments(SHARED.assignments)).values()) perPage.set(page, (perPage.get(page) ?? 0) + 1);
  const keptSizes = [...perPage.values()].filter((n) => Math.floor(0.1 * n) > 0);
  assert.equal(corpus.stats.pages, keptSizes.length);
  assert.equal(corpus.stats.dropped.noPool, 300 - keptSizes.length);
  assert.equal(
    corpus.stats.pool,
    keptSizes.reduce((s, n) => s + Math.floor(0.1 * n), 0),
  );
  assert.ok(corpus.stats.dropped.noPool > 0);
});

test('tokenizer: stats.tokens and chunks of BOS + tokens with max length and document ids', async () => {
  const corpus = await buildCorpus(SHARED, { topN: 20, tokenizer: wordTokenizer, maxLength: 64 });
  const expectedTokens = corpus.pages.reduce((s, p) => s + 1 + p.text.split(/\s+/).filter(Boolean).length, 0);
  assert.equal(corpus.stats.tokens, expectedTokens);
  // A lone last token repeats its predecessor as context: at most one extra token per page.
  const chunkTokens = corpus.chunks!.reduce((s, c) => s + c.tokens.length, 0);
  assert.ok(chunkTokens >= expectedTokens && chunkTokens <= expectedTokens + corpus.pages.length);
  for (const c of corpus.chunks!) assert.ok(c.tokens.length <= 64 && c.tokens.length >= 2);
  for (const [i, p] of corpus.pages.entries()) {
    const chunks = corpus.chunks!.filter((c) => c.docId === p.id);
    assert.equal(chunks[0]!.tokens[0], 1, 'BOS first');
    assert.deepEqual(
      chunks.map((c) => c.chunkIndex),
      chunks.map((_, j) => j),
    );
    assert.ok(chunks.every((c) => c.docIndex === i));
    const ids = wordTokenizer.encode(p.text, { bos: true });
    const loneTail = ids.length > 64 && ids.length % 64 === 1;
    const rebuilt = chunks.flatMap((c, j) => (loneTail && j === chunks.length - 1 ? c.tokens.slice(1) : c.tokens));
    assert.deepEqual(rebuilt, ids);
  }
  assert.equal(corpus.stats.chunks, corpus.chunks!.length);
  assert.deepEqual(
    chunkDocuments(await tokenizeDocuments([{ id: 'd', text: 'a b c d e' }], wordTokenizer), 2).map((c) => c.tokens.length),
    [2, 2, 2],
  );
  assert.throws(() => chunkDocuments([], 0), InvalidArgumentError);
});

test('bad input: topN too large, bad options, missing files, empty corpus', async () => {
  await assert.rejects(buildCorpus(SHARED, { topN: 301 }), (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError);
    assert.equal(err.field, 'top_n');
    assert.match(err.message, /300 pages/);
    return true;
  });
  await assert.rejects(buildCorpus(SHARED, { topN: 0 }), InvalidArgumentError);
  await assert.rejects(buildCorpus(SHARED, { poolPerPage: 2, poolFraction: 0.5 }), InvalidArgumentError);
  await assert.rejects(buildCorpus({ ...SHARED, pages: '/nope/wiki-pages.jsonl' }), NotFoundError);
  await assert.rejects(buildCorpus({ ...SHARED, claims: SHARED.pages }), /wiki-pages record/);
  await withTempDir(async (dir) => {
    const empty = await writeLines(join(dir, 'empty.jsonl'), []);
    await assert.rejects(buildCorpus({ claims: empty, pages: SHARED.pages }), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.match(err.message, /empty corpus/);
      assert.equal(err.field, empty);
      return true;
    });
  });
});

test('claims whose page is absent are counted and reported; lenient mode counts malformed lines', async () => {
  await withTempDir(async (dir) => {
    const claim = (id: number, page: string, label: FeverClaim['label'] = 'SUPPORTS') => ({
      id,
      verifiable: 'VERIFIABLE',
      label,
      claim: `${page} is something.`,
      evidence: [[[id, id, page, 0]]],
    });
    const claims = await writeLines(join(dir, 'claims.jsonl'), [
      claim(1, 'Alpha'),
      claim(2, 'Alpha', 'REFUTES'),
      claim(3, 'Missing_Page'),
      'garbage',
      claim(4, 'Beta'),
      claim(5, 'Empty'),
      { id: 6, verifiable: 'NOT VERIFIABLE', label: 'NOT ENOUGH INFO', claim: 'Nobody knows.', evidence: [[[6, null, null, null]]] },
    ]);
    const pages = await writeLines(join(dir, 'wiki-pages.jsonl'), [
      { id: 'Alpha', text: 'Alpha is a letter . ', lines: '0\tAlpha is a letter .' },
      { id: 'Beta', text: 'Beta is a letter . ', lines: '0\tBeta is a letter .' },
      { id: 'Empty', text: '', lines: '' },
      '{"text": "no id"}',
    ]);
    // strict: the first malformed line met (the title-prefix rule scans page ids first) fails the build
    await assert.rejects(buildCorpus({ claims, pages }), /wiki-pages\.jsonl:4: field .id./);
    const corpus = await buildCorpus({ claims, pages }, { mode: 'lenient' });
    assert.equal(corpus.stats.malformed.count, 2);
    assert.deepEqual(corpus.stats.malformed.first.map((i) => i.location).sort(), [`${claims}:4`, `${pages}:4`].sort());
    assert.deepEqual(corpus.stats.missingPage, { count: 1, first: [{ claim: 3, page: 'Missing_Page' }] });
    assert.deepEqual(corpus.stats.unattributed, { count: 1, first: [6] });
    assert.equal(corpus.stats.dropped.emptyText, 1);
    assert.deepEqual(
      corpus.pages.map((p) => p.id),
      ['Alpha', 'Beta'],
    );
    assert.equal(corpus.stats.claimsRead, 6);
    // Beta's pool lacks REFUTES: filled from Alpha's pool
    const beta = corpus.pages[1]!;
    assert.deepEqual(
      beta.fill.map((c) => c.id),
      [2],
    );
  });
});

test('assembleCorpus works in memory on records', async () => {
  const pages = new Map<string, WikiPage>((await collect(readPages(SHARED.pages))).slice(0, 3).map((p) => [p.id, p]));
  const ids = [...pages.keys()];
  const attributed = LABELS.flatMap((label, j) =>
    ids.map((page, i) => ({
      claim: { id: j * 10 + i, verifiable: 'X', label, claim: `claim ${j}-${i}`, evidence: [] },
      page,
    })),
  );
  const corpus = await assembleCorpus(attributed, pages, { poolPerPage: 1, stratifyPool: true });
  assert.equal(corpus.stats.pages, 3);
  assert.equal(corpus.stats.pool, 3);
  // a missing label is filled exactly when another page's pool has it
  let fillable = 0;
  for (const page of corpus.pages) {
    for (const label of LABELS) {
      if (page.pool.some((c) => c.label === label)) continue;
      if (corpus.pages.some((o) => o.id !== page.id && o.pool.some((c) => c.label === label))) fillable++;
    }
  }
  assert.equal(corpus.stats.filled, fillable);
  await assert.rejects(assembleCorpus([], pages), InvalidArgumentError);
});
