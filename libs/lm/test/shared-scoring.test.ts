import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@memorize/tensor';
import {
  loadModel,
  loadTokenizer,
  PrefixCache,
  scoreContinuations,
  scoreShared,
  type HookContext,
  type LayerHook,
  type ScoreResult,
  type SharedScoreStats,
} from '@memorize/lm';
import { backend, feverPrompts, feverRequests, storiesBin, storiesTok } from '@memorize/testing';

await backend();
const model = loadModel(storiesBin);
const tokenizer = await loadTokenizer(storiesTok, { vocabSize: model.config.vocabSize });
const prompts = await feverPrompts(tokenizer, { claims: 24 });
const requests = feverRequests(prompts);
const SLICE = 512;
const newStats = (): SharedScoreStats => ({ groups: 0, computedTokens: 0, reusedTokens: 0, forwards: 0 });

/**
 * float32 rounding differs with the shapes of the products (batch composition, cached vs computed keys): each
 * token's log-probability agrees within 2e-5, a continuation's sum within 2e-5 per token. (On these prompts the
 * naive path itself moves by up to 7.6e-6 between batch sizes 1 and 8, on log-probs near -15.)
 */
const TOL = 2e-5;
function assertSame(got: readonly ScoreResult[], want: readonly ScoreResult[], label: string): void {
  assert.equal(got.length, want.length);
  got.forEach((r, i) => {
    assert.equal(r.tokenLogprobs.length, want[i].tokenLogprobs.length, `${label}: item ${i}`);
    r.tokenLogprobs.forEach((lp, j) =>
      assert.ok(Math.abs(lp - want[i].tokenLogprobs[j]) <= TOL, `${label}: item ${i} token ${j}: ${lp} vs ${want[i].tokenLogprobs[j]}`),
    );
    assert.ok(Math.abs(r.logprob - want[i].logprob) <= TOL * r.tokenLogprobs.length, `${label}: item ${i}: ${r.logprob} vs ${want[i].logprob}`);
    assert.equal(r.greedy, want[i].greedy, `${label}: item ${i} greedy`);
  });
}

/** The option each prompt's three log-probs pick. */
const picks = (r: readonly ScoreResult[]) =>
  prompts.map((_, p) => [0, 1, 2].reduce((best, o) => (r[3 * p + o].logprob > r[3 * p + best].logprob ? o : best), 0));

const reference = await scoreContinuations(model, requests, { batchSize: 8, sliceTokens: SLICE });

test('FEVER prompts: the three options share one context pass; scores match scoring each option alone, for batch sizes 1/3/8, cache on and off', async () => {
  const baseline = tf.memory().numTensors;
  const cache = new PrefixCache({ budgetBytes: 64 * 2 ** 20 });
  const namespaces = requests.map(() => 'stories');
  for (const batchSize of [1, 3, 8]) {
    const off = newStats();
    const uncached = await scoreShared(model, requests, { batchSize, sliceTokens: SLICE, stats: off });
    assertSame(uncached, reference, `batch ${batchSize}, no cache`);
    assert.equal(off.groups, prompts.length, 'one pass per distinct context');
    assert.equal(off.reusedTokens, 0);
    for (const round of [1, 2]) {
      const on = newStats();
      const cached = await scoreShared(model, requests, { batchSize, sliceTokens: SLICE, prefixCache: cache, namespaces, stats: on });
      assertSame(cached, reference, `batch ${batchSize}, cache, round ${round}`);
      assert.deepEqual(picks(cached), picks(reference));
      assert.ok(on.reusedTokens > 0, 'the shared header came from the cache');
      assert.ok(on.computedTokens < off.computedTokens, `fewer positions computed with the cache (${on.computedTokens} < ${off.computedTokens})`);
    }
  }
  const header = tokenizer.encode('Determine the factuality of the following claims', { bos: true }).length;
  assert.ok(cache.stats.hitTokens >= header * prompts.length, 'every prompt reused at least the header');
  assert.ok(cache.stats.entries > 0 && cache.stats.bytes <= cache.budgetBytes);
  cache.clear();
  assert.equal(cache.stats.bytes, 0);
  assert.equal(tf.memory().numTensors, baseline, 'no tensor left behind');
});

test('a namespace is never crossed: entries of one are not used for another, and a dropped tag frees its entries', async () => {
  const cache = new PrefixCache({ budgetBytes: 64 * 2 ** 20 });
  const baseline = tf.memory().numTensors;
  const some = requests.slice(0, 12);
  const first = newStats();
  await scoreShared(model, some, { prefixCache: cache, namespaces: some.map(() => 'a'), cacheTags: ['tag-a'], stats: first });
  const again = newStats();
  await scoreShared(model, some, { prefixCache: cache, namespaces: some.map(() => 'a'), cacheTags: ['tag-a'], stats: again });
  assert.ok(again.computedTokens < first.computedTokens, 'namespace a reuses its entries');
  const other = newStats();
  await scoreShared(model, some, { prefixCache: cache, namespaces: some.map(() => 'b'), cacheTags: ['tag-b'], stats: other });
  assert.deepEqual(other, first, 'namespace b starts empty: the same work as the first call of a');
  assert.ok(cache.stats.entries >= 2);
  cache.drop('tag-a');
  cache.drop('tag-b');
  assert.equal(cache.stats.entries, 0);
  assert.equal(cache.stats.bytes, 0);
  assert.equal(tf.memory().numTensors, baseline);
});

test('the cache stays within its byte budget (least recently used evicted) and scores stay the same', async () => {
  const small = new PrefixCache({ budgetBytes: 200_000 });
  const namespaces = requests.map(() => 'x');
  for (let round = 0; round < 2; round++) {
    const got = await scoreShared(model, requests, { batchSize: 8, sliceTokens: SLICE, prefixCache: small, namespaces });
    assertSame(got, reference, `round ${round}`);
    assert.ok(small.stats.bytes <= 200_000, `${small.stats.bytes} bytes`);
  }
  assert.ok(small.stats.evicted > 0);
  small.clear();
});

test('hooks see the same rows with and without sharing: a position-wise hook and a hook reading each row prompt (rowContext)', async () => {
  const d = model.config.dim;
  const w = tf.keep(tf.randomNormal([d, d], 0, 0.05, 'float32', 3));
  // Adds a per-row offset taken from the row's docId and its prompt's length, so sharing across rows would show.
  const hook: LayerHook = (h: tf.Tensor3D, ctx: HookContext) =>
    tf.tidy(() => {
      const offsets = ctx.tokens.map((_, r) => (Number(ctx.docIds?.[r] ?? 0) + (ctx.rowContext?.[r]?.length ?? 0)) * 0.01);
      return tf.add(
        h,
        tf.add(tf.reshape(tf.matMul(tf.reshape(h, [-1, d]), w), h.shape), tf.tensor3d(offsets, [offsets.length, 1, 1])),
      ) as tf.Tensor3D;
    });
  const hooks = new Map([[2, hook]]);
  const some = requests.slice(0, 18);
  const docIds = some.map((_, i) => Math.floor(i / 6));
  const want = await scoreContinuations(model, some, { hooks, docIds, sliceTokens: SLICE });
  const cache = new PrefixCache({ budgetBytes: 64 * 2 ** 20 });
  for (const batchSize of [1, 8]) {
    // The prompt-dependent hook: the caller names the prompt in the namespace, so only identical prompts share.
    const namespaces = some.map((r, i) => `doc ${docIds[i]} prompt ${r.context.join(',')}`);
    for (let round = 0; round < 2; round++) {
      const got = await scoreShared(model, some, { hooks, docIds, batchSize, sliceTokens: SLICE, prefixCache: cache, namespaces });
      assertSame(got, want, `batch ${batchSize} round ${round}`);
    }
  }
  cache.clear();
  w.dispose();
});

test('slices: a call yields between passes and stops at the next one when aborted, freeing its tensors', async () => {
  const baseline = tf.memory().numTensors;
  let pauses = 0;
  const controller = new AbortController();
  const cache = new PrefixCache({ budgetBytes: 64 * 2 ** 20 });
  await assert.rejects(
    scoreShared(model, requests, {
      sliceTokens: SLICE,
      prefixCache: cache,
      namespaces: requests.map(() => 'x'),
      signal: controller.signal,
      nextSlice: async () => {
        if (++pauses === 3) controller.abort(new Error('cancelled'));
      },
    }),
    /cancelled/,
  );
  assert.equal(pauses, 3);
  cache.clear();
  assert.equal(tf.memory().numTensors, baseline);
  // A slice holds at most SLICE new positions: a small budget means more slices, same scores.
  const stats = newStats();
  const got = await scoreShared(model, requests, { sliceTokens: 64, stats });
  assertSame(got, reference, 'sliceTokens 64');
  assert.ok(stats.forwards > 3 * prompts.length, `${stats.forwards} passes`);
});

test("a context's pass scores its continuations' shared leading tokens and all of one continuation; the others take one more pass", async () => {
  const a = requests[0].context;
  const cases: Array<{ rows: { context: number[]; continuation: number[] }[]; passes: number }> = [
    // Shared " (" = [410, 489]: the first option runs with the context; the other two, in one pass.
    { rows: requests.slice(0, 3), passes: 2 },
    // [410] shared; the longest runs with the context, and the others end within one token past [410].
    {
      rows: [
        { context: a, continuation: [410, 489] },
        { context: a, continuation: [410, 489, 412, 488] },
        { context: a, continuation: [410] },
      ],
      passes: 1,
    },
    // A single continuation needs no pass of its own.
    { rows: [{ context: a, continuation: [410, 489, 430, 488] }], passes: 1 },
  ];
  for (const { rows, passes } of cases) {
    const stats = newStats();
    assertSame(await scoreShared(model, rows, { stats }), await scoreContinuations(model, rows), `${rows.length} rows`);
    assert.equal(stats.forwards, passes, `${rows.length} rows: passes`);
  }
});

test('rows longer than the model are cut from the left as scoreContinuations does', async () => {
  const long = Array.from({ length: model.config.maxSeqLen + 20 }, (_, i) => 1 + (i % 300));
  const rows = [
    { context: long, continuation: [5, 6] },
    { context: long.slice(0, 40), continuation: [7] },
  ];
  assertSame(await scoreShared(model, rows), await scoreContinuations(model, rows), 'long rows');
});
