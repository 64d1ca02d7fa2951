import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createMemoryFor, loadMemory, MemoryTrainer, saveMemory, type MemoryConfig, type TrainerOptions } from '@memorize/memory';
import { tf } from '@memorize/tensor';
import { backend, tempDir, tokenRows } from '@memorize/testing';
import { tinyModel } from './helpers.js';

/**
 * Resume (issue 10): N steps, save the memory and the optimizer state, load both into a new trainer, M more steps
 * — the same losses and parameters as N + M uninterrupted steps.
 */

await backend();
const model = tinyModel(5);
const docs = tokenRows(4, 14, model.config.vocabSize, 9);
const rows = docs.map((ids, documentIndex) => ({ ids, documentIndex }));
const dir = tempDir('memorize-resume-');
const [N, M] = [3, 4];

const cases: Array<{ name: string; config: MemoryConfig; options?: TrainerOptions }> = [
  { name: 'memory', config: { kind: 'memory', layer: 1, entries: 16, seed: 2 } },
  { name: 'dlp', config: { kind: 'dlp', layer: 1, entries: 16, seed: 2 } },
  // doc-key's negative keys are drawn from the step number: a resumed step must draw the same ones.
  { name: 'doc-key', config: { kind: 'doc-key', layer: 2, entries: 16, seed: 2 } },
  {
    name: 'memory with the anchor KL term',
    config: { kind: 'memory', layer: 0, entries: 16, seed: 4 },
    options: { anchors: tokenRows(3, 10, model.config.vocabSize, 13), anchorWeight: 2 },
  },
];

const lr = (step: number): number => 5e-2 * (1 - step / (N + M + 1));
const paramsOf = (memory: ReturnType<typeof createMemoryFor>): Map<string, Float32Array> =>
  new Map([...memory.parameters()].map(([name, p]) => [name, Float32Array.from(p.variable.dataSync() as Float32Array)]));

for (const c of cases) {
  test(`resume of ${c.name}: save -> load -> ${M} steps equals ${M} uninterrupted steps`, () => {
    const documents = docs.map((tokens) => ({ tokens }));
    const memory = createMemoryFor(model, c.config, documents);
    const trainer = new MemoryTrainer(model, memory, c.options);
    for (let s = 0; s < N; s++) trainer.step(rows, lr(s));
    const path = join(dir, `${c.name.replace(/\W+/g, '-')}.safetensors`);
    saveMemory(path, memory);
    trainer.saveState(`${path}.optim.safetensors`);
    const uninterrupted: number[] = [];
    for (let s = N; s < N + M; s++) uninterrupted.push(trainer.step(rows, lr(s)).loss);
    const expected = paramsOf(memory);

    const restored = loadMemory(path);
    const resumedTrainer = new MemoryTrainer(model, restored, c.options);
    resumedTrainer.loadState(`${path}.optim.safetensors`);
    assert.equal(resumedTrainer.steps, N);
    const resumed: number[] = [];
    for (let s = N; s < N + M; s++) resumed.push(resumedTrainer.step(rows, lr(s)).loss);
    resumed.forEach((l, i) =>
      assert.ok(Math.abs(l - uninterrupted[i]) <= 1e-5 * Math.abs(uninterrupted[i]), `step ${N + i}: ${l} vs ${uninterrupted[i]}`),
    );
    for (const [name, values] of paramsOf(restored)) {
      const want = expected.get(name)!;
      let worst = 0;
      for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i] - want[i]));
      assert.ok(worst <= 1e-6, `${name}: max |diff| ${worst}`);
    }

    // Without the optimizer state (fresh moments, step 0) the same steps train differently: the state matters.
    const fresh = loadMemory(path);
    const freshTrainer = new MemoryTrainer(model, fresh, c.options);
    const freshLosses: number[] = [];
    for (let s = N; s < N + M; s++) freshLosses.push(freshTrainer.step(rows, lr(s)).loss);
    assert.ok(
      freshLosses.some((l, i) => Math.abs(l - uninterrupted[i]) > 1e-6),
      'a restart without the optimizer state is distinguishable',
    );
    for (const t of [trainer, resumedTrainer, freshTrainer]) t.dispose();
    for (const m of [memory, restored, fresh]) m.dispose();
  });
}

test('a train step aborted before it starts changes nothing (one step is one slice)', () => {
  const memory = createMemoryFor(model, { kind: 'memory', layer: 1, entries: 16, seed: 2 });
  const trainer = new MemoryTrainer(model, memory);
  const before = paramsOf(memory);
  const tensors = tf.memory().numTensors;
  const controller = new AbortController();
  controller.abort(new Error('cancelled'));
  assert.throws(() => trainer.step(rows, 1e-2, { signal: controller.signal }), /cancelled/);
  assert.equal(trainer.steps, 0);
  assert.equal(tf.memory().numTensors, tensors);
  for (const [name, values] of paramsOf(memory)) assert.deepEqual(values, before.get(name), name);
  trainer.dispose();
  memory.dispose();
});
