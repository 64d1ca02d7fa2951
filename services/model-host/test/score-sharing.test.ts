import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { common, modelHost } from '@memorize/contracts';
import { PrefixCache, scoreContinuations } from '@memorize/lm';
import { initBackend, tf } from '@memorize/tensor';
import { feverPrompts, storiesDir, tempDir } from '@memorize/testing';
import { callContext, host, pageDocuments, scoreItems } from './fever-items.js';

const backend = await initBackend({ logger: () => {} });
const cache = new PrefixCache({ budgetBytes: 64 * 2 ** 20 });
const { models, memories, handlers } = host(backend, dirname(storiesDir), tempDir('memorize-score-'), [cache, new PrefixCache({ budgetBytes: 0 })]);
const [cached, uncached] = handlers;
const ctx = callContext();
await cached.loadModel(
  modelHost.LoadModelRequest.fromPartial({ modelId: 's', path: `${storiesDir}/stories260K.bin`, tokenizerPath: `${storiesDir}/tok512.bin` }),
  ctx,
);
const held = models.get('s');
const prompts = await feverPrompts(held.tokenizer, { claims: 16 });
const PAGES = 4;
const documents = pageDocuments(held.tokenizer, PAGES, 200);

/** A memory selection as a client writes it (unset fields default). */
type Selection = Partial<modelHost.MemorySelection>;

/** Scores through a handler set. */
const score = async (h: typeof cached, items: modelHost.ScoreItem[], batchSize: number, memory?: Selection) =>
  (await h.score(modelHost.ScoreRequest.fromPartial({ modelId: 's', items, batchSize, memory }), ctx)).scores.map((s) => s.logprob);

/** Each item scored with its own full forward (libs/lm scoreContinuations over the selection's hooks). */
async function naive(items: modelHost.ScoreItem[], memory?: Selection): Promise<number[]> {
  const binding = memories.binding(held, memory && modelHost.MemorySelection.fromPartial(memory));
  const out = await scoreContinuations(
    held.model,
    items.map((i) => ({ context: i.context, continuation: i.continuation })),
    { hooks: binding.hooks, docIds: items.map((i) => (i.documentIndex !== undefined && i.documentIndex >= 0 ? i.documentIndex : undefined)) },
  );
  return out.map((r) => r.logprob);
}

/** Same within float32 rounding of the products' shapes: 1e-5 per continuation token. */
function assertClose(got: number[], want: number[], items: modelHost.ScoreItem[], label: string): void {
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) <= 1e-5 * items[i].continuation.length, `${label}: item ${i}: ${g} vs ${want[i]}`));
  // The prediction (argmax over the three options) is the same on every claim.
  for (let p = 0; p < got.length / 3; p++) {
    const pick = (xs: number[]) => [0, 1, 2].reduce((b, o) => (xs[3 * p + o] > xs[3 * p + b] ? o : b), 0);
    assert.equal(pick(got), pick(want), `${label}: claim ${p} prediction`);
  }
}

async function createAndTrain(memoryId: string, config: Partial<common.MemoryConfig>): Promise<void> {
  await cached.createMemory(
    modelHost.CreateMemoryRequest.fromPartial({ modelId: 's', memoryId, config: { layer: 3, entries: 32, seed: 3n, ...config }, documents }),
    ctx,
  );
  for (let step = 0; step < 3; step++) {
    const rows = documents.map((d) => ({ ids: d.ids.slice(0, 64), documentIndex: d.documentIndex }));
    await cached.trainStep(modelHost.TrainStepRequest.fromPartial({ memoryId, rows, learningRate: 5e-2 }), ctx);
  }
}

const cases: Array<{ name: string; memory?: Selection; config?: Partial<common.MemoryConfig>; docs: boolean }> = [
  { name: 'no memory', docs: false },
  { name: 'memory kind', memory: { memoryId: 'mem' }, config: { kind: common.MemoryKind.MEMORY_KIND_MEMORY }, docs: false },
  {
    name: 'simset dim, oracle masks by document index',
    memory: { memoryId: 'sim' },
    config: { kind: common.MemoryKind.MEMORY_KIND_SIMSET, shingleK: 2 },
    docs: true,
  },
  {
    name: 'simset dim, masks from the prompt (mask source context)',
    memory: { memoryId: 'sim', maskSource: common.MaskSource.MASK_SOURCE_CONTEXT },
    docs: true,
  },
  {
    name: 'simset token mode',
    memory: { memoryId: 'simtok' },
    config: { kind: common.MemoryKind.MEMORY_KIND_SIMSET, shingleK: 2, mode: common.MaskMode.MASK_MODE_TOKEN },
    docs: true,
  },
  { name: 'dlp, oracle masks by document index', memory: { memoryId: 'dlp' }, config: { kind: common.MemoryKind.MEMORY_KIND_DLP }, docs: true },
];

for (const c of cases) {
  test(`Score of FEVER prompts, ${c.name}: the same log-probs with the prefix cache on and off and batch sizes 1, 3, 8 as scoring each option alone`, async () => {
    if (c.config) await createAndTrain(c.memory!.memoryId!, c.config);
    const items = scoreItems(prompts, c.docs ? (p) => p % PAGES : undefined);
    const want = await naive(items, c.memory);
    if (c.memory) {
      const base = await naive(items);
      assert.ok(
        want.some((w, i) => Math.abs(w - base[i]) > 1e-3),
        'the trained memory changes the scores',
      );
    }
    for (const batchSize of [1, 3, 8]) {
      assertClose(await score(uncached, items, batchSize, c.memory), want, items, `cache off, batch ${batchSize}`);
      for (const round of [1, 2])
        assertClose(await score(cached, items, batchSize, c.memory), want, items, `cache on, batch ${batchSize}, round ${round}`);
    }
    assert.ok(cache.stats.hitTokens > 0);
  });
}

test('the cache is keyed by memory version: a TrainStep, a LoadMemory replace and a DeleteMemory never leave stale prefixes in use', async () => {
  const items = scoreItems(prompts.slice(0, 6));
  const memory: Selection = { memoryId: 'mem' };
  await score(cached, items, 8, memory);
  await score(cached, items, 8, memory);
  const rows = documents.map((d) => ({ ids: d.ids.slice(0, 64) }));
  await cached.trainStep(modelHost.TrainStepRequest.fromPartial({ memoryId: 'mem', rows, learningRate: 5e-2 }), ctx);
  assertClose(await score(cached, items, 8, memory), await naive(items, memory), items, 'after a TrainStep');
  const saved = await cached.saveMemory(modelHost.SaveMemoryRequest.fromPartial({ memoryId: 'mem', path: 'mem.safetensors' }), ctx);
  await cached.trainStep(modelHost.TrainStepRequest.fromPartial({ memoryId: 'mem', rows, learningRate: 5e-2 }), ctx);
  await score(cached, items, 8, memory);
  // Back to the saved weights under the same id.
  await cached.loadMemory(modelHost.LoadMemoryRequest.fromPartial({ modelId: 's', memoryId: 'mem', path: saved.path, replace: true }), ctx);
  assertClose(await score(cached, items, 8, memory), await naive(items, memory), items, 'after LoadMemory replace');
  const before = cache.stats.bytes;
  await cached.deleteMemory(modelHost.DeleteMemoryRequest.fromPartial({ memoryId: 'mem' }), ctx);
  assert.ok(cache.stats.bytes < before, 'the deleted memory’s prefixes are freed');
});

test('UnloadModel frees every cached prefix of the model', async () => {
  const baseline = tf.memory().numTensors;
  assert.ok(cache.stats.entries > 0);
  await cached.unloadModel(modelHost.UnloadModelRequest.fromPartial({ modelId: 's' }), ctx);
  assert.equal(cache.stats.entries, 0);
  assert.equal(cache.stats.bytes, 0);
  assert.ok(tf.memory().numTensors < baseline);
});
