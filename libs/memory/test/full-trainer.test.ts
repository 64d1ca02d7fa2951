/**
 * Full-parameter training (FullTrainer): every base weight trains. A few hundred steps lower the loss of a small
 * text on a random d=64 Llama; a few steps match PyTorch's AdamW on the same HF folder step for step (gradients of
 * every weight, clipping, decoupled decay); the trained model written as an HF folder loads back with identical
 * logits and fingerprint, and PyTorch's forward reproduces them; and k steps + save (weights and optimizer) + load +
 * N-k steps end at the loss of N uninterrupted steps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  checkpointTensors,
  llamaConfig,
  loadModel,
  loadTokenizer,
  randomModel,
  readHfTensors,
  writeHfModel,
  type TransformerModel,
} from '@memorize/lm';
import { cosineLearningRate, DEMO_DOCUMENT_SETS, FullTrainer, type FullTrainerOptions } from '@memorize/memory';
import { tf } from '@memorize/tensor';
import { backend, maxAbsDiff, relDiff, runPython, storiesTok, tempDir, testingPython, values } from '@memorize/testing';

await backend();
const torchLlama = join(testingPython, 'torch_llama.py');
const tokenizer = await loadTokenizer(storiesTok);
const config = llamaConfig({ dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, hiddenDim: 128, vocabSize: tokenizer.vocabSize, maxSeqLen: 128 });
const fresh = (seed = 11): TransformerModel => randomModel(config, { seed });
const rows = DEMO_DOCUMENT_SETS.a.map((text) => ({ ids: tokenizer.encode(text, { bos: true }) }));

test('a few hundred full-parameter steps lower the loss of a small text', () => {
  const model = fresh();
  const trainer = new FullTrainer(model);
  const before = trainer.loss(rows).loss;
  const steps = 300;
  const started = performance.now();
  let last = 0;
  for (let s = 0; s < steps; s++) last = trainer.step(rows, cosineLearningRate(s, { peak: 3e-3, warmup: 10, total: steps })).loss;
  const after = trainer.loss(rows).loss;
  const ms = (performance.now() - started) / steps;
  console.log(`loss ${before.toFixed(3)} -> ${after.toFixed(4)} (last step ${last.toFixed(4)}) in ${steps} steps, ${ms.toFixed(1)} ms/step`);
  assert.ok(after < 0.1 * before, `loss ${before} -> ${after}`);
  assert.equal(trainer.steps, steps);
  trainer.dispose();
  model.dispose();
});

test('every step matches PyTorch AdamW on the same HF folder (losses and gradient norms)', () => {
  const model = fresh(12);
  const dir = tempDir('memorize-full-torch-');
  writeHfModel(model, dir);
  // Start from the written bytes, as PyTorch does; equal-length rows (no padding semantics involved).
  const trainer = new FullTrainer(model, { weightDecay: 0.05, gradClip: 1 }, readHfTensors(dir, checkpointTensors(model).keys()));
  const equal = rows.map((r) => ({ ids: r.ids.slice(0, 16) }));
  const [steps, lr] = [5, 1e-2];
  const ours = Array.from({ length: steps }, () => trainer.step(equal, lr));
  const args = [dir, equal.map((r) => r.ids.join(',')).join(';'), '--train', String(steps), String(lr), '0.05', '1'];
  const torch = JSON.parse(runPython(torchLlama, args)) as { losses: number[]; grad_norms: number[] };
  const lossDiff = Math.max(...ours.map((r, i) => relDiff(r.loss, torch.losses[i])));
  const normDiff = Math.max(...ours.map((r, i) => relDiff(r.gradNorm, torch.grad_norms[i])));
  console.log(`vs PyTorch over ${steps} steps: max relative loss diff ${lossDiff.toExponential(2)}, grad norm ${normDiff.toExponential(2)}`);
  assert.ok(lossDiff < 1e-4, `losses ${ours.map((r) => r.loss)} vs ${torch.losses}`);
  assert.ok(normDiff < 1e-3, `grad norms ${ours.map((r) => r.gradNorm)} vs ${torch.grad_norms}`);
  trainer.dispose();
  model.dispose();
});

test('the trained model written as an HF folder loads back with identical logits and fingerprint; PyTorch agrees', () => {
  const model = fresh(13);
  const pristine = model.fingerprint;
  const trainer = new FullTrainer(model);
  for (let s = 0; s < 20; s++) trainer.step(rows, 3e-3);
  assert.notEqual(model.fingerprint, pristine, 'a trained model must not keep the pristine fingerprint');
  const dir = tempDir('memorize-full-write-');
  writeHfModel(model, dir, { tokenizer: storiesTok });
  const back = loadModel(dir);
  assert.equal(back.fingerprint, model.fingerprint);
  const ids = rows[1].ids;
  const ours = values(model.forward([ids]));
  assert.equal(maxAbsDiff(ours, values(back.forward([ids]))), 0);
  const out = JSON.parse(runPython(torchLlama, [dir, ids.join(',')])) as { logits: number[][] };
  const diff = maxAbsDiff(ours, Float32Array.from(out.logits.flat()));
  console.log(`trained model: PyTorch max |diff| of logits ${diff.toExponential(2)}`);
  assert.ok(diff < 1e-4, `PyTorch differs by ${diff}`);
  trainer.dispose();
  model.dispose();
  back.dispose();
});

test('resume: k steps + save (weights, optimizer) + load + N-k steps end at the loss of N uninterrupted steps', () => {
  const [N, k] = [24, 10];
  const options: FullTrainerOptions = { weightDecay: 0.05, gradClip: 10 };
  const lr = (s: number) => cosineLearningRate(s, { peak: 3e-3, warmup: 4, total: N });
  const whole = fresh(14);
  const uninterrupted = new FullTrainer(whole, options);
  const curve = Array.from({ length: N }, (_, s) => uninterrupted.step(rows, lr(s)).loss);

  const first = fresh(14);
  const before = new FullTrainer(first, options);
  for (let s = 0; s < k; s++) before.step(rows, lr(s));
  const dir = tempDir('memorize-full-resume-');
  writeHfModel(first, dir);
  before.saveState(join(dir, 'optimizer.safetensors'));
  before.dispose();
  first.dispose();

  const second = loadModel(dir);
  const after = new FullTrainer(second, options, readHfTensors(dir, checkpointTensors(second).keys()));
  after.loadState(join(dir, 'optimizer.safetensors'));
  assert.equal(after.steps, k);
  const resumed = Array.from({ length: N - k }, (_, i) => after.step(rows, lr(k + i)).loss);
  const final = [curve[N - 1], resumed[N - k - 1]];
  const diff = relDiff(final[0], final[1]);
  console.log(`resume after ${k} of ${N} steps: final loss ${final[0]} vs ${final[1]}, relative difference ${diff.toExponential(2)}`);
  assert.ok(diff <= 1e-5, `final losses ${final}`);
  assert.equal(after.steps, N);
  assert.equal(second.fingerprint, whole.fingerprint);
  for (const t of [uninterrupted, after]) t.dispose();
  for (const m of [whole, second]) m.dispose();
});

test('a step leaks no tensors and an aborted step changes nothing', () => {
  const model = fresh(15);
  const trainer = new FullTrainer(model);
  trainer.step(rows, 1e-3);
  const tensors = tf.memory().numTensors;
  trainer.step(rows, 1e-3);
  assert.equal(tf.memory().numTensors, tensors);
  const fingerprint = model.fingerprint;
  const controller = new AbortController();
  controller.abort();
  assert.throws(() => trainer.step(rows, 1e-3, { signal: controller.signal }));
  assert.equal(model.fingerprint, fingerprint);
  assert.equal(trainer.steps, 2);
  trainer.dispose();
  model.dispose();
});
