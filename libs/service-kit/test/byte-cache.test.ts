import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceExhaustedError } from '@memorize/errors';
import { ByteBudgetCache, loadCacheBudget, parseBytes } from '../src/index.js';

test('ByteBudgetCache evicts least recently used entries to fit the budget; get counts as a use', () => {
  const evicted: string[] = [];
  const cache = new ByteBudgetCache<string, string>({ budgetBytes: 100, onEvict: (k) => evicted.push(k) });
  for (const k of ['a', 'b', 'c']) {
    cache.reserve(30);
    cache.set(k, k.toUpperCase(), 30);
  }
  assert.equal(cache.usedBytes, 90);
  assert.equal(cache.get('a'), 'A'); // a is now the most recent: b is the oldest
  assert.deepEqual(cache.reserve(50), ['b', 'c']);
  cache.set('d', 'D', 50);
  assert.deepEqual(evicted, ['b', 'c']);
  assert.deepEqual(cache.keys(), ['a', 'd']);
  assert.equal(cache.usedBytes, 80);
  assert.ok(cache.wasEvicted('b') && !cache.wasEvicted('a') && !cache.wasEvicted('zz'));
  cache.set('b', 'B', 10); // put back: no longer "evicted"
  assert.equal(cache.wasEvicted('b'), false);
  assert.equal(cache.delete('b'), 'B');
  assert.equal(cache.usedBytes, 80);
  assert.deepEqual(evicted, ['b', 'c']); // delete does not call onEvict
});

test('ByteBudgetCache never evicts an entry in use, and evicts nothing when room cannot be made', () => {
  const busy = new Set(['a']);
  const cache = new ByteBudgetCache<string, number>({ budgetBytes: 100, canEvict: (k) => !busy.has(k), budgetName: '--x-bytes', noun: 'model' });
  cache.set('a', 1, 60);
  cache.set('b', 2, 30);
  assert.throws(
    () => cache.reserve(50),
    (e: unknown) => e instanceof ResourceExhaustedError && /model needs 0\.0 MiB but only .* --x-bytes/.test(e.message),
  );
  assert.deepEqual(cache.keys(), ['a', 'b'], 'nothing evicted after a refusal');
  assert.throws(() => cache.reserve(101), /more than the whole --x-bytes/);
  assert.deepEqual(cache.reserve(40), ['b']); // a is busy: b goes although a is older
  busy.clear();
  assert.deepEqual(cache.reserve(100), ['a']);
  assert.equal(cache.usedBytes, 0);
});

test('cache budgets come from the flag, then MEMORIZE_<SERVICE>_<KIND>, then MEMORIZE_<KIND>, with units', () => {
  assert.equal(loadCacheBudget('data', 'corpusCacheBytes', {}, {}), 512 * 2 ** 20);
  assert.equal(loadCacheBudget('model-host', 'modelCacheBytes', {}, {}), 8 * 2 ** 30);
  assert.equal(loadCacheBudget('data', 'corpusCacheBytes', {}, { MEMORIZE_CORPUS_CACHE_BYTES: '1000' }), 1000);
  assert.equal(
    loadCacheBudget('data', 'corpusCacheBytes', {}, { MEMORIZE_CORPUS_CACHE_BYTES: '1000', MEMORIZE_DATA_CORPUS_CACHE_BYTES: '2MiB' }),
    2 * 2 ** 20,
  );
  assert.equal(loadCacheBudget('model-host', 'modelCacheBytes', { modelCacheBytes: '1.5GB' }, { MEMORIZE_MODEL_HOST_MODEL_CACHE_BYTES: '7' }), 1.5e9);
  assert.throws(
    () => loadCacheBudget('data', 'corpusCacheBytes', { corpusCacheBytes: 'lots' }, {}),
    /--corpus-cache-bytes must be a positive byte count/,
  );
  assert.throws(
    () => loadCacheBudget('model-host', 'modelCacheBytes', {}, { MEMORIZE_MODEL_HOST_MODEL_CACHE_BYTES: '0' }),
    /MEMORIZE_MODEL_HOST_MODEL_CACHE_BYTES/,
  );
  assert.equal(parseBytes('512 MiB'), 512 * 2 ** 20);
  assert.equal(parseBytes('-1'), undefined);
});
