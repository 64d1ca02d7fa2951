/** AdamW (PyTorch semantics), clipping, cosine schedule, and trainer resume. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tf } from '@memorize/tensor';
import { AdamW, MemoryTrainer, clipByGlobalNorm, cosineLearningRate, createMemoryFor } from '@memorize/memory';
import { backend, tempDir, tokenRows } from '@memorize/testing';
import { tinyModel } from './helpers.js';

test('AdamW follows torch.optim.AdamW step by step (decoupled decay, bias correction)', async () => {
  await backend();
  const x = tf.variable(tf.tensor1d([0.5, -1.5, 2]), true);
  const opt = new AdamW(new Map([['x', x]]), { weightDecay: 0.1, beta1: 0.9, beta2: 0.99, epsilon: 1e-8 });
  // Scalar re-derivation of torch's update for comparison.
  const p = [0.5, -1.5, 2];
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  const lrs = [1e-2, 5e-3, 2e-2];
  const gs = [
    [0.1, -0.2, 0.3],
    [1, 0, -1],
    [-0.5, 0.25, 0.05],
  ];
  lrs.forEach((lr, s) => {
    opt.apply(new Map([['x', tf.tensor1d(gs[s])]]), lr);
    const t = s + 1;
    for (let i = 0; i < 3; i++) {
      p[i] *= 1 - lr * 0.1;
      m[i] = 0.9 * m[i] + 0.1 * gs[s][i];
      v[i] = 0.99 * v[i] + 0.01 * gs[s][i] ** 2;
      p[i] -= (lr * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v[i] / (1 - 0.99 ** t)) + 1e-8);
    }
  });
  const got = x.dataSync();
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(got[i] - p[i]) < 1e-6, `${got[i]} vs ${p[i]}`);
  assert.equal(opt.step, 3);
  opt.dispose();
  x.dispose();
});

test('clipping by global norm scales like torch.nn.utils.clip_grad_norm_', async () => {
  await backend();
  const grads = new Map([
    ['a', tf.tensor1d([3, 0])],
    ['b', tf.tensor1d([0, 4])],
  ]);
  const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
  assert.ok(Math.abs(norm - 5) < 1e-6);
  assert.ok(Math.abs(clipped.get('a')!.dataSync()[0] - 3 / (5 + 1e-6)) < 1e-6);
  const same = clipByGlobalNorm(new Map([['a', tf.tensor1d([0.3])]]), 10);
  assert.equal(same.grads.get('a')!.dataSync()[0], Float32Array.of(0.3)[0]);
});

test('cosine schedule with linear warm-up (transformers.get_cosine_schedule_with_warmup)', () => {
  const s = { peak: 1e-3, warmup: 10, total: 110 };
  assert.equal(cosineLearningRate(0, s), 0);
  assert.ok(Math.abs(cosineLearningRate(5, s) - 5e-4) < 1e-12);
  assert.ok(Math.abs(cosineLearningRate(10, s) - 1e-3) < 1e-12);
  assert.ok(Math.abs(cosineLearningRate(60, s) - 5e-4) < 1e-12);
  assert.ok(Math.abs(cosineLearningRate(110, s)) < 1e-12);
  for (let i = 11; i < 110; i++) assert.ok(cosineLearningRate(i, s) < cosineLearningRate(i - 1, s));
});

test('trainer: only memory parameters change; saved optimizer state resumes exactly', async () => {
  await backend();
  const model = tinyModel();
  const docs = tokenRows(3, 10, model.config.vocabSize);
  const rows = docs.map((ids, i) => ({ ids, documentIndex: i }));
  const embedBefore = Float32Array.from(model.weights.embed.dataSync() as Float32Array);
  const lr = (s: number) => cosineLearningRate(s, { peak: 1e-2, warmup: 2, total: 6 });

  const a = createMemoryFor(
    model,
    { kind: 'simset', layer: 1, setProbability: 0.5 },
    docs.map((tokens) => ({ tokens })),
  );
  const ta = new MemoryTrainer(model, a);
  const results = [];
  for (let s = 0; s < 6; s++) results.push(ta.step(rows, lr(s)));
  assert.deepEqual(
    results.map((r) => r.step),
    [1, 2, 3, 4, 5, 6],
  );
  assert.ok(results[5].loss < results[0].loss, 'loss went down');
  assert.equal(results[0].tokens, 27);
  assert.deepEqual(model.weights.embed.dataSync(), embedBefore);

  // Same run, interrupted after 3 steps: state saved, a new trainer (and memory copy) resumes.
  const dir = tempDir();
  const b = createMemoryFor(
    model,
    { kind: 'simset', layer: 1, setProbability: 0.5 },
    docs.map((tokens) => ({ tokens })),
  );
  const tb = new MemoryTrainer(model, b);
  for (let s = 0; s < 3; s++) tb.step(rows, lr(s));
  tb.saveState(join(dir, 'opt.safetensors'));
  tb.dispose();
  const tc = new MemoryTrainer(model, b);
  tc.loadState(join(dir, 'opt.safetensors'));
  assert.equal(tc.steps, 3);
  for (let s = 3; s < 6; s++) tc.step(rows, lr(s));
  for (const [name, p] of a.parameters()) assert.deepEqual(b.parameters().get(name)!.variable.dataSync(), p.variable.dataSync(), name);
  ta.dispose();
  tc.dispose();
  a.dispose();
  b.dispose();
  model.dispose();
});
