/**
 * Cross-check against an independent implementation: cli/test/torch_memory_loss.py computes, in
 * PyTorch (Debian's python3-torch, float32), a from-scratch Llama forward of stories260K (HF safetensors)
 * with an unstructured memory after block 3, the mean next-token cross-entropy and the gradient norm of every
 * memory tensor. `memorize memory loss --grad` (computeMemoryLoss) must agree within 1e-4 relative.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadModel } from '@memorize/lm';
import { tf } from '@memorize/tensor';
import { cosineLearningRate, createMemoryFor, MemoryTrainer, saveMemory, type GeluVariant } from '@memorize/memory';
import { computeMemoryLoss } from '../src/commands/memory.js';
import { backend, relDiff, runPython, storiesHf, tempDir } from '@memorize/testing';

const script = join(import.meta.dirname, 'torch_memory_loss.py');
const TOKENS = [
  1, 403, 407, 261, 378, 429, 259, 271, 365, 275, 360, 396, 282, 419, 261, 471, 290, 345, 260, 302, 267, 350, 269, 413, 272, 260, 426, 46,
];

interface LossJson {
  loss: number;
  grad_norms: Record<string, number>;
  total_grad_norm: number;
}

for (const gelu of ['erf', 'tanh'] as GeluVariant[]) {
  test(`memory loss and gradient norms match PyTorch on stories260K (gelu ${gelu})`, async () => {
    await backend();
    const model = loadModel(storiesHf);
    const dir = tempDir();
    const path = join(dir, `m-${gelu}.safetensors`);
    const memory = createMemoryFor(model, { kind: 'memory', layer: 3, seed: 11, gelu });
    // Perturb LayerNorm and gate away from their identity init so their gradients are exercised too.
    for (const [name, p] of memory.parameters()) {
      if (name.startsWith('ln.') || name === 'gate')
        p.variable.assign(tf.add(p.variable, tf.randomUniform(p.variable.shape, -0.3, 0.3, 'float32', 5)));
    }
    saveMemory(path, memory);
    memory.dispose();
    model.dispose();

    const ours = await computeMemoryLoss({ model: storiesHf, memory: path, tokens: TOKENS, grad: true });
    const ref = JSON.parse(runPython(script, [storiesHf, path, TOKENS.join(',')])) as LossJson;
    const deltas: string[] = [`loss ${ours.loss} vs ${ref.loss} (rel ${relDiff(ours.loss, ref.loss).toExponential(2)})`];
    assert.ok(relDiff(ours.loss, ref.loss) < 1e-4, deltas[0]);
    assert.deepEqual(Object.keys(ours.grad_norms!).sort(), Object.keys(ref.grad_norms).sort());
    for (const [name, n] of Object.entries(ref.grad_norms)) {
      const d = relDiff(ours.grad_norms![name], n);
      deltas.push(`${name} rel ${d.toExponential(2)}`);
      assert.ok(d < 1e-4, `${name}: ours ${ours.grad_norms![name]} torch ${n}`);
    }
    const dt = relDiff(ours.total_grad_norm!, ref.total_grad_norm);
    deltas.push(`total rel ${dt.toExponential(2)}`);
    assert.ok(dt < 1e-4, `total grad norm: ours ${ours.total_grad_norm} torch ${ref.total_grad_norm}`);
    process.stderr.write(`[crosscheck gelu ${gelu}] ${deltas.join('; ')}\n`);
  });
}

test('training matches PyTorch step by step: AdamW (decoupled decay), cosine warm-up schedule, clip_grad_norm_', async () => {
  await backend();
  const model = loadModel(storiesHf);
  const dir = tempDir();
  const path = join(dir, 'train.safetensors');
  const memory = createMemoryFor(model, { kind: 'memory', layer: 3, seed: 13 });
  saveMemory(path, memory);
  // Steps 6, peak lr 1e-2, weight decay 0.05, clip 0.5 (so clipping acts), warm-up 2: every piece is exercised.
  const [steps, peak, wd, clip, warmup] = [6, 1e-2, 0.05, 0.5, 2];
  const ref = JSON.parse(
    runPython(script, [storiesHf, path, TOKENS.join(','), '--train', String(steps), String(peak), String(wd), String(clip), String(warmup)]),
  ) as { losses: number[]; grad_norms: number[]; param_norms: Record<string, number> };
  const trainer = new MemoryTrainer(model, memory, { weightDecay: wd, gradClip: clip });
  const losses: number[] = [];
  const norms: number[] = [];
  for (let s = 0; s < steps; s++) {
    const r = trainer.step([{ ids: TOKENS }], cosineLearningRate(s, { peak, warmup, total: steps }));
    losses.push(r.loss);
    norms.push(r.gradNorm);
  }
  const report: string[] = [];
  for (let s = 0; s < steps; s++) {
    report.push(`step ${s} loss rel ${relDiff(losses[s], ref.losses[s]).toExponential(1)}`);
    assert.ok(relDiff(losses[s], ref.losses[s]) < 1e-4, `step ${s}: loss ${losses[s]} vs torch ${ref.losses[s]}`);
    assert.ok(relDiff(norms[s], ref.grad_norms[s]) < 1e-3, `step ${s}: grad norm ${norms[s]} vs torch ${ref.grad_norms[s]}`);
  }
  assert.ok(
    ref.grad_norms.some((n) => n > clip),
    'clipping was exercised',
  );
  assert.ok(ref.losses[steps - 1] < ref.losses[0], 'the loss went down');
  for (const [name, p] of memory.parameters()) {
    const ours = Math.sqrt(tf.tidy(() => tf.sum(tf.square(p.variable)).dataSync()[0]));
    assert.ok(relDiff(ours, ref.param_norms[name]) < 1e-4, `${name}: norm ${ours} vs torch ${ref.param_norms[name]}`);
  }
  process.stderr.write(`[crosscheck training] ${report.join('; ')}\n`);
  trainer.dispose();
  memory.dispose();
  model.dispose();
});
