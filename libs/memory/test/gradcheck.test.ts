/**
 * Finite-difference gradient check of every kind on a tiny random Llama (d 16, float32). For each memory
 * tensor, the two coordinates with the largest analytic gradient plus one fixed other coordinate are
 * perturbed by ±eps (eps = 1e-2: float32 loss rounding, ~5e-7 at a loss of 4, then contributes ~5e-5 to a
 * central difference, while the O(eps^2) truncation error stays near 1e-4 relative), and the central
 * difference (L(x+eps) - L(x-eps)) / 2 eps must match the tape's gradient within 3% relative + 3e-4 absolute.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@memorize/tensor';
import type { TransformerModel } from '@memorize/lm';
import {
  createMemoryFor,
  documentKey,
  guidanceLoss,
  kindLabel,
  lmLoss,
  type MemoryConfig,
  type MemoryModule,
  type TrainingRow,
} from '@memorize/memory';
import { backend, tokenRows } from '@memorize/testing';
import { tinyModel } from './helpers.js';

const EPS = 1e-2;

const CASES: { name: string; config: Omit<MemoryConfig, 'layer'>; guidance?: boolean }[] = [
  { name: 'memory (LN, gate, erf)', config: { kind: 'memory', entries: 12 } },
  { name: 'memory (tanh, no LN, no gate)', config: { kind: 'memory', entries: 12, gelu: 'tanh', layerNorm: false, gate: false } },
  { name: 'dlp alpha 0.5', config: { kind: 'dlp', entries: 12, alpha: 0.5 } },
  { name: 'simset-2 dim', config: { kind: 'simset', shingleK: 2, entries: 12, setProbability: 0.5 } },
  { name: 'simset-1 token', config: { kind: 'simset', shingleK: 1, mode: 'token', entries: 12, setProbability: 0.5 } },
  { name: 'random', config: { kind: 'random', entries: 12, setProbability: 0.5 } },
  {
    name: 'doc-key linear tanh + guidance',
    config: { kind: 'doc-key', entries: 12, keyDim: 6, keyActivation: 'tanh', guidanceMargin: 20 },
    guidance: true,
  },
  {
    name: 'doc-key nonlinear sigmoid + guidance',
    config: { kind: 'doc-key', entries: 12, keyDim: 6, keyGenerator: 'nonlinear', guidanceMargin: 20 },
    guidance: true,
  },
];

function lossFn(model: TransformerModel, memory: MemoryModule, rows: TrainingRow[], guidance: boolean): () => tf.Scalar {
  const negatives = rows.map((r) => documentKey(((r.documentIndex ?? 0) + 1) % rows.length, memory.config.keyDim, 99));
  return () => (guidance ? guidanceLoss(model, rows, memory, negatives).loss : lmLoss(model, rows, memory).loss);
}

for (const c of CASES) {
  test(`finite-difference gradient check: ${c.name}`, async () => {
    await backend();
    const model = tinyModel();
    const docs = tokenRows(4, 12, model.config.vocabSize);
    // Ragged rows exercise the padding path.
    docs[1] = docs[1].slice(0, 9);
    const rows: TrainingRow[] = docs.map((ids, i) => ({ ids, documentIndex: i }));
    const memory = createMemoryFor(
      model,
      { ...c.config, layer: 1, seed: 5 },
      docs.map((tokens) => ({ tokens })),
    );
    // Move LayerNorm/gate off their identity init so their gradients are not special.
    for (const [name, p] of memory.parameters()) {
      if (name.startsWith('ln.') || name === 'gate')
        p.variable.assign(tf.add(p.variable, tf.randomUniform(p.variable.shape, -0.3, 0.3, 'float32', 3)));
    }
    const f = lossFn(model, memory, rows, c.guidance ?? false);
    const { grads } = tf.variableGrads(f, memory.variables());
    let checked = 0;
    for (const [name, p] of memory.parameters()) {
      const g = grads[p.variable.name].dataSync() as Float32Array;
      const order = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]));
      const coords = [...new Set([order[0], order[1], Math.floor(g.length / 3)].filter((i) => i !== undefined))];
      const base = Float32Array.from(p.variable.dataSync() as Float32Array);
      for (const i of coords) {
        const at = (delta: number) => {
          const x = Float32Array.from(base);
          x[i] += delta;
          p.variable.assign(tf.tensor(x, p.variable.shape));
          return tf.tidy(() => f().dataSync()[0]);
        };
        const fd = (at(EPS) - at(-EPS)) / (2 * EPS);
        p.variable.assign(tf.tensor(base, p.variable.shape));
        const tol = 0.03 * Math.max(Math.abs(fd), Math.abs(g[i])) + 3e-4;
        assert.ok(Math.abs(fd - g[i]) <= tol, `${kindLabel(memory.config)} ${name}[${i}]: tape ${g[i]}, finite difference ${fd}`);
        checked++;
      }
    }
    for (const g of Object.values(grads)) g.dispose();
    assert.ok(checked >= memory.parameters().size * 2);
    memory.dispose();
    model.dispose();
  });
}
