import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@memorize/tensor';
import { documentLoss, loadModel, mulberry32, type HookContext, type LayerHook } from '@memorize/lm';
import { backend, maxAbsDiff, storiesBin, values } from '@memorize/testing';
import { golden } from './helpers.js';

const g = golden();

function randomTensor(shape: number[], seed: number, scale: number): tf.Tensor {
  const rand = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale),
    shape,
  );
}

/** A residual MLP memory h + tanh(h W1) W2 with trainable W1, W2 (the memory-training workload in miniature). */
function residualMlp(w1: tf.Tensor, w2: tf.Tensor): LayerHook {
  return (h) => {
    const [b, t, d] = h.shape;
    const flat = tf.reshape(h, [b * t, d]) as tf.Tensor2D;
    const delta = tf.matMul(tf.tanh(tf.matMul(flat, w1 as tf.Tensor2D)), w2 as tf.Tensor2D);
    return tf.add(h, tf.reshape(delta, [b, t, d])) as tf.Tensor3D;
  };
}

test('hooks run after the named block and see per-row context', async () => {
  await backend();
  const model = loadModel(storiesBin);
  const rows = [g.token_ids.slice(0, 6), g.token_ids.slice(6, 12)];
  const seen: HookContext[] = [];
  const identity = values(
    model.forward(rows, {
      hooks: new Map([[2, (h: tf.Tensor3D, ctx: HookContext) => (seen.push(ctx), h)]]),
      docIds: ['doc-a', 'doc-b'],
      attentionMask: [
        [1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 0],
      ],
    }),
  );
  assert.equal(seen.length, 1);
  assert.equal(seen[0].layer, 2);
  assert.deepEqual(seen[0].tokens, rows);
  assert.deepEqual(seen[0].docIds, ['doc-a', 'doc-b']);
  assert.deepEqual(seen[0].positions, [
    [0, 1, 2, 3, 4, 5],
    [0, 1, 2, 3, 4, 4],
  ]);
  const plain = values(
    model.forward(rows, {
      attentionMask: [
        [1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 0],
      ],
    }),
  );
  assert.ok(maxAbsDiff(identity, plain) < 1e-6);
  // Zeroing the stream after the last block leaves RMSNorm(0) = 0, so every logit is 0.
  const last = model.config.nLayers - 1;
  const zeroed = values(model.forward(rows, { hooks: new Map([[last, (h: tf.Tensor3D) => tf.zerosLike(h)]]) }));
  assert.equal(Math.max(...zeroed.map(Math.abs)), 0);
  // With a KV cache, hooks see the tokens already cached.
  const cache = model.newCache();
  model.forward([rows[0]], { cache }).dispose();
  const ctxs: HookContext[] = [];
  model.forward([[rows[1][0]]], { cache, hooks: new Map([[0, (h: tf.Tensor3D, c: HookContext) => (ctxs.push(c), h)]]) }).dispose();
  assert.deepEqual(ctxs[0].pastTokens, [rows[0]]);
  assert.deepEqual(ctxs[0].pastAttentionMask, [[1, 1, 1, 1, 1, 1]]);
  assert.deepEqual(ctxs[0].positions, [[6]]);
  cache.dispose();
  // Cached padding is visible to hooks, so they can ignore it.
  const padded = model.newCache();
  model.forward([[0, 0, ...rows[0].slice(0, 4)]], { cache: padded, attentionMask: [[0, 0, 1, 1, 1, 1]] }).dispose();
  const later: HookContext[] = [];
  model
    .forward([[rows[0][4]]], { cache: padded, rowContext: [[7, 8]], hooks: new Map([[0, (h: tf.Tensor3D, c: HookContext) => (later.push(c), h)]]) })
    .dispose();
  assert.deepEqual(later[0].pastAttentionMask, [[0, 0, 1, 1, 1, 1]]);
  assert.deepEqual(later[0].rowContext, [[7, 8]], 'rowContext is passed through untouched');
  padded.dispose();
  assert.throws(() => model.forward(rows, { hooks: new Map([[model.config.nLayers, (h: tf.Tensor3D) => h]]) }), /hook layer/);
});

test('gradient at a hook point passes a finite-difference check', async () => {
  await backend();
  const model = loadModel(storiesBin);
  const d = model.config.dim;
  const w1 = randomTensor([d, 16], 1, 0.3);
  const w2 = randomTensor([16, d], 2, 0.3);
  const tokens = [g.token_ids.slice(0, 24), g.token_ids.slice(24, 48)];
  const lossAt = (a: tf.Tensor, b: tf.Tensor) => documentLoss(model, tokens, { hooks: new Map([[2, residualMlp(a, b)]]) }).loss;
  const { grads } = (() => {
    const fn = tf.grads((a: tf.Tensor, b: tf.Tensor) => lossAt(a, b));
    return { grads: fn([w1, w2]) };
  })();
  // Directional derivative along a random direction, compared with central differences in float32.
  const dir1 = randomTensor([d, 16], 3, 1);
  const dir2 = randomTensor([16, d], 4, 1);
  const analytic = tf.add(tf.sum(tf.mul(grads[0], dir1)), tf.sum(tf.mul(grads[1], dir2))).dataSync()[0];
  const eps = 1e-2;
  const plus = lossAt(tf.add(w1, tf.mul(dir1, eps)), tf.add(w2, tf.mul(dir2, eps))).dataSync()[0];
  const minus = lossAt(tf.sub(w1, tf.mul(dir1, eps)), tf.sub(w2, tf.mul(dir2, eps))).dataSync()[0];
  const numeric = (plus - minus) / (2 * eps);
  assert.ok(Math.abs(analytic) > 1e-3, `directional derivative ${analytic} too small to test`);
  assert.ok(Math.abs(numeric - analytic) < 2e-2 * Math.abs(analytic), `analytic ${analytic} vs numeric ${numeric}`);
  // Single coordinates too (the largest gradient entries of each matrix).
  for (const [i, w, gr] of [
    [0, w1, grads[0]],
    [1, w2, grads[1]],
  ] as const) {
    const gv = gr.dataSync();
    let k = 0;
    for (let j = 1; j < gv.length; j++) if (Math.abs(gv[j]) > Math.abs(gv[k])) k = j;
    const bump = (s: number) => {
      const arr = Float32Array.from(w.dataSync());
      arr[k] += s;
      return tf.tensor(arr, w.shape);
    };
    const f = (s: number) => (i === 0 ? lossAt(bump(s), w2) : lossAt(w1, bump(s))).dataSync()[0];
    const num = (f(eps) - f(-eps)) / (2 * eps);
    assert.ok(Math.abs(num - gv[k]) < 3e-2 * Math.abs(gv[k]) + 1e-4, `W${i + 1}[${k}]: analytic ${gv[k]} vs numeric ${num}`);
  }
});

test('base weights are frozen: not variables, not differentiable, unchanged by an optimizer step', async () => {
  await backend();
  const model = loadModel(storiesBin);
  const d = model.config.dim;
  const w1 = tf.variable(randomTensor([d, 16], 5, 0.3), true, 'hook_w1');
  const w2 = tf.variable(randomTensor([16, d], 6, 0.3), true, 'hook_w2');
  const blk = model.weights.blocks[1];
  const base = [model.weights.embed, blk.qkv.w, blk.out.w, blk.gate!.w, blk.up.w, blk.down.w, model.weights.classifier.w];
  for (const t of base) assert.ok(!(t instanceof tf.Variable));
  const tokens = [g.token_ids.slice(0, 32)];
  const loss = () => documentLoss(model, tokens, { hooks: new Map([[3, residualMlp(w1, w2)]]) }).loss;
  // The tape reaches only the hook's variables.
  const { grads } = tf.variableGrads(loss);
  assert.deepEqual(Object.keys(grads).sort(), ['hook_w1', 'hook_w2']);
  // Frozen linear layers produce no weight gradient at all: asking for one finds no path.
  assert.throws(() => tf.grads(() => loss())([blk.up.w]), /Cannot compute gradient/);
  const before = base.map((t) => Float32Array.from(t.dataSync()));
  const w1Before = Float32Array.from(w1.dataSync());
  const opt = tf.train.adam(1e-2);
  const first = opt.minimize(loss, true)!.dataSync()[0];
  for (let i = 0; i < 5; i++) opt.minimize(loss);
  const after = loss().dataSync()[0];
  base.forEach((t, i) => assert.equal(maxAbsDiff(t.dataSync(), before[i]), 0));
  assert.ok(maxAbsDiff(w1.dataSync(), w1Before) > 0);
  assert.ok(after < first, `training the hook lowers the loss: ${first} -> ${after}`);
});
