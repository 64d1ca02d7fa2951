import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { data } from '@memorize/contracts';
import { NotFoundError, ResourceExhaustedError } from '@memorize/errors';
import { feverFiles, storiesTok } from '@memorize/testing';
import { CorpusStore } from '../src/corpora.js';
import { estimateBytes } from '../src/estimate-bytes.js';

const root = dirname(dirname(dirname(feverFiles.claims)));
const request = (seed: number, topN = 10): data.LoadCorpusRequest =>
  data.LoadCorpusRequest.fromPartial({
    claimsPath: feverFiles.claims,
    pagesPath: feverFiles.pages,
    assignmentPath: feverFiles.assignments,
    topN,
    seed,
    tokenizerPath: storiesTok,
  });

test('estimateBytes counts strings, token arrays and shared objects once', () => {
  const tokens = Array.from({ length: 1000 }, (_, i) => i);
  const shared = { text: 'x'.repeat(1000) };
  const bytes = estimateBytes({ a: tokens, b: tokens, c: shared, d: shared, e: 'é'.repeat(10), f: new Int32Array(100) });
  // 1000 ids x 12 (slot + spare capacity) once, the 1000-character string once, the typed array's 400 bytes.
  assert.ok(bytes > 12_000 + 1000 + 400 && bytes < 12_000 + 1000 + 400 + 800, String(bytes));
});

test('25 corpora under a small budget: the cache stays within it, least recently used first out, evicted ids say so', async () => {
  const first = new CorpusStore(root);
  const one = (await first.load(request(1))).held;
  assert.ok(one.bytes > 100_000, `a 10-page corpus is estimated at ${one.bytes} bytes`);
  const budget = Math.floor(one.bytes * 4.5);
  const store = new CorpusStore(root, budget);
  const ids: string[] = [];
  for (let seed = 1; seed <= 25; seed++) {
    const { held, cached } = await store.load(request(seed));
    assert.equal(cached, false);
    ids.push(held.id);
    assert.ok(store.usage.usedBytes <= budget, `after ${seed}: ${store.usage.usedBytes} > ${budget}`);
    if (seed === 3) store.get(ids[0]); // seed 1 used again: seed 2 is now the oldest
  }
  assert.equal(new Set(ids).size, 25);
  const held = store.list().map((c) => c.id);
  assert.ok(held.length >= 3 && held.length <= 5, `${held.length} held`);
  assert.deepEqual(held, ids.slice(25 - held.length));
  assert.throws(
    () => store.get(ids[1]),
    (e: unknown) =>
      e instanceof NotFoundError &&
      /was evicted from the cache \(--corpus-cache-bytes \d+\); LoadCorpus with the same request rebuilds it/.test(e.message),
  );
  assert.throws(() => store.get('0123456789abcdef'), /no corpus "0123456789abcdef" \(LoadCorpus first\)/);
  // Reloading an evicted corpus rebuilds it under the same id.
  const again = await store.load(request(2));
  assert.equal(again.cached, false);
  assert.equal(again.held.id, ids[1]);
  assert.equal(store.get(ids[1]).id, ids[1]);
});

test('a corpus larger than the whole budget is RESOURCE_EXHAUSTED and not kept', async () => {
  const store = new CorpusStore(root, 10_000);
  await assert.rejects(store.load(request(1)), (e: unknown) => e instanceof ResourceExhaustedError && /--corpus-cache-bytes/.test(e.message));
  assert.equal(store.usage.corpora, 0);
});
