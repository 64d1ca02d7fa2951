/** Attaching memories: no memory = the base model bit for bit; a memory at layer L touches nothing before block L+1. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@memorize/tensor';
import type { LayerHook } from '@memorize/lm';
import { loadModel } from '@memorize/lm';
import { createMemoryFor, lmLoss, memoryHooks, type MemoryModule } from '@memorize/memory';
import { backend, storiesBin, tokenRows } from '@memorize/testing';
import { tinyModel } from './helpers.js';

test('without a memory the logits are bitwise identical to the base model', async () => {
  await backend();
  const model = loadModel(storiesBin);
  const rows = tokenRows(2, 20, model.config.vocabSize);
  const base = model.forward(rows);
  const viaHooks = model.forward(rows, { hooks: memoryHooks(undefined) });
  assert.deepEqual(viaHooks.dataSync(), base.dataSync());
  // And the loss helper with no memory equals the plain document loss.
  const a = lmLoss(
    model,
    rows.map((ids) => ({ ids })),
  );
  const b = lmLoss(
    model,
    rows.map((ids) => ({ ids })),
    undefined,
  );
  assert.equal(a.loss.dataSync()[0], b.loss.dataSync()[0]);
  tf.dispose([base, viaHooks, a.loss, a.perRow, b.loss, b.perRow]);
  model.dispose();
});

/** Runs the model with capture hooks after every block; the memory (if any) runs after the capture at its layer. */
function activations(model: ReturnType<typeof tinyModel>, rows: number[][], memory?: MemoryModule, docIds?: number[]): Float32Array[] {
  const captured: Float32Array[] = [];
  const hooks = new Map<number, LayerHook>();
  for (let l = 0; l < model.config.nLayers; l++) {
    hooks.set(l, (h, ctx) => {
      captured[l] = Float32Array.from(h.dataSync() as Float32Array);
      return memory && l === memory.layer ? memory.apply(h, ctx) : h;
    });
  }
  tf.tidy(() => {
    captured[model.config.nLayers] = Float32Array.from(model.forward(rows, { hooks, docIds }).dataSync() as Float32Array);
  });
  return captured;
}

for (const kind of ['memory', 'simset', 'doc-key'] as const) {
  test(`a ${kind} memory at layer L leaves every activation up to block L unchanged and changes later ones`, async () => {
    await backend();
    const model = tinyModel();
    const rows = tokenRows(2, 10, model.config.vocabSize);
    const layer = 1;
    const memory = createMemoryFor(
      model,
      { kind, layer, setProbability: 0.5 },
      rows.map((tokens) => ({ tokens })),
    );
    const base = activations(model, rows);
    const withMemory = activations(model, rows, memory, [0, 1]);
    for (let l = 0; l <= layer; l++) assert.deepEqual(withMemory[l], base[l], `activation after block ${l} changed`);
    for (let l = layer + 1; l <= model.config.nLayers; l++) assert.notDeepEqual(withMemory[l], base[l], `activation after block ${l} unchanged`);
    memory.dispose();
    model.dispose();
  });
}

test('a zero gate makes the memory an exact no-op', async () => {
  await backend();
  const model = tinyModel();
  const rows = tokenRows(2, 10, model.config.vocabSize);
  const memory = createMemoryFor(model, { kind: 'memory', layer: 2 });
  memory
    .parameters()
    .get('gate')!
    .variable.assign(tf.zeros([1]));
  const a = model.forward(rows);
  const b = model.forward(rows, { hooks: memory.hooks() });
  assert.deepEqual(b.dataSync(), a.dataSync());
  tf.dispose([a, b]);
  memory.dispose();
  model.dispose();
});
