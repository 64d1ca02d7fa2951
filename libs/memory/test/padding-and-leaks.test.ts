import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@memorize/tensor';
import { documentLoss } from '@memorize/lm';
import { createMemoryFor, MemoryTrainer } from '@memorize/memory';
import { backend, tokenRows } from '@memorize/testing';
import { tinyModel } from './helpers.js';

function logits(
  model: ReturnType<typeof tinyModel>,
  rows: number[][],
  mask: number[][],
  hooks: Map<number, never> | ReturnType<ReturnType<typeof createMemoryFor>['hooks']>,
): number[][][] {
  return tf.tidy(() => model.forward(rows, { attentionMask: mask, hooks }).arraySync() as number[][][]);
}

test('token-mode masks follow the real tokens wherever the padding is (right, left, cached)', async () => {
  await backend();
  const model = tinyModel();
  const docs = tokenRows(3, 10, 48, 11);
  const memory = createMemoryFor(
    model,
    { kind: 'simset', layer: 1, mode: 'token', shingleK: 2, entries: 24, setProbability: 0.4, seed: 3 },
    docs.map((tokens) => ({ tokens })),
  );
  const hooks = memory.hooks();
  const row = docs[0].slice(0, 6);
  const alone = logits(model, [row], [row.map(() => 1)], hooks)[0];
  const right = logits(model, [[...row, 0, 0]], [[...row.map(() => 1), 0, 0]], hooks)[0].slice(0, 6);
  const left = logits(model, [[0, 0, ...row]], [[0, 0, ...row.map(() => 1)]], hooks)[0].slice(2);
  const close = (a: number[][], b: number[][]) => Math.max(...a.flatMap((r, i) => r.map((v, j) => Math.abs(v - b[i][j]))));
  assert.ok(close(alone, right) < 1e-4, `right padding changes logits by ${close(alone, right)}`);
  assert.ok(close(alone, left) < 1e-4, `left padding changes logits by ${close(alone, left)}`);
  // Step by step with a left-padded cache: the last position matches the full pass.
  const cache = model.newCache();
  tf.dispose(model.forward([[0, 0, ...row.slice(0, 5)]], { cache, attentionMask: [[0, 0, 1, 1, 1, 1, 1]], hooks }));
  const step = tf.tidy(() => model.forward([[row[5]]], { cache, hooks }).arraySync() as number[][][])[0][0];
  cache.dispose();
  assert.ok(Math.max(...step.map((v, j) => Math.abs(v - alone[5][j]))) < 1e-4, 'cached decoding sees the same token-mode mask');
  memory.dispose();
  model.dispose();
});

test('creating, training and disposing a memory leaves no tensors behind', async () => {
  await backend();
  const model = tinyModel();
  const docs = tokenRows(4, 12, 48, 5);
  // Warm up kernels and caches once, so the count below measures only the memory's own tensors.
  const warm = createMemoryFor(
    model,
    { kind: 'dlp', layer: 1, entries: 16 },
    docs.map((tokens) => ({ tokens })),
  );
  const warmTrainer = new MemoryTrainer(model, warm, {});
  warmTrainer.step(
    docs.map((ids, i) => ({ ids, documentIndex: i })),
    1e-3,
  );
  warmTrainer.dispose();
  warm.dispose();
  const before = tf.memory().numTensors;
  for (const kind of ['memory', 'dlp', 'simset', 'doc-key'] as const) {
    const memory = createMemoryFor(
      model,
      { kind, layer: 1, entries: 16, setProbability: kind === 'simset' ? 0.3 : 0 },
      docs.map((tokens) => ({ tokens })),
    );
    const trainer = new MemoryTrainer(model, memory, {});
    for (let s = 0; s < 3; s++)
      trainer.step(
        docs.map((ids, i) => ({ ids, documentIndex: i })),
        1e-3,
      );
    trainer.setState(trainer.getState());
    const l = documentLoss(model, docs, { hooks: memory.hooks(), docIds: docs.map((_, i) => i) });
    tf.dispose([l.loss, l.perRow]);
    trainer.dispose();
    memory.dispose();
    assert.equal(tf.memory().numTensors, before, `${kind}: tensors left after dispose`);
  }
  model.dispose();
});

test("soft masks (alpha < 1) soften a document's set, not the literal 'none' and 'all' sources", async () => {
  await backend();
  const model = tinyModel();
  const docs = tokenRows(3, 10, 48, 2);
  const make = (alpha: number) =>
    createMemoryFor(
      model,
      { kind: 'dlp', layer: 1, entries: 12, alpha, seed: 4, gateInit: 1, layerNorm: false },
      docs.map((tokens) => ({ tokens })),
    );
  const hard = make(1);
  const soft = make(0.5);
  const run = (memory: ReturnType<typeof make>, maskSource: 'none' | 'all' | 'oracle') =>
    tf.tidy(() => model.forward(docs, { hooks: memory.hooks({ maskSource }), docIds: [0, 1, 2] }).arraySync() as number[][][]);
  const diff = (a: number[][][], b: number[][][]) => Math.max(...a.flat(2).map((v, i) => Math.abs(v - b.flat(2)[i])));
  assert.ok(diff(run(hard, 'none'), run(soft, 'none')) < 1e-6, "'none' stays no entry on");
  assert.ok(diff(run(hard, 'all'), run(soft, 'all')) < 1e-6, "'all' stays every entry on");
  assert.ok(diff(run(hard, 'oracle'), run(soft, 'oracle')) > 1e-4, 'a document mask is softened');
  hard.dispose();
  soft.dispose();
  model.dispose();
});
