import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { tf } from '@memorize/tensor';
import { ParallelModel, documentLoss, loadModel, mulberry32, scoreContinuations, shardRows, type ArrayTensor } from '@memorize/lm';
import { createHook } from './fixtures/tanh-hook.js';
import { backend, maxAbsDiff, storiesBin, values } from '@memorize/testing';
import { golden } from './helpers.js';

function randomArray(shape: number[], seed: number, scale: number): ArrayTensor {
  const rand = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale), shape };
}

test('shardRows splits rows into contiguous, nearly equal shares', () => {
  assert.deepEqual(shardRows(4, 2), [
    [0, 2],
    [2, 4],
  ]);
  assert.deepEqual(shardRows(5, 2), [
    [0, 3],
    [3, 5],
  ]);
  assert.deepEqual(shardRows(1, 3), [[0, 1]]);
});

test('ParallelModel (2 workers) matches the single-thread forward, scores, loss and hook gradients', async () => {
  await backend();
  const model = loadModel(storiesBin);
  const g = golden();
  const d = model.config.dim;
  const ids = g.token_ids;
  const tokens = [ids.slice(0, 20), ids.slice(20, 40), ids.slice(40, 60)];
  const attentionMask = [new Array(20).fill(1), new Array(20).fill(1), [...new Array(14).fill(1), ...new Array(6).fill(0)]];
  const params = { w1: randomArray([d, 8], 1, 0.3), w2: randomArray([8, d], 2, 0.3), b2: randomArray([d], 3, 0.1) };
  const names = Object.keys(params) as (keyof typeof params)[];
  const spec = { module: fileURLToPath(new URL('./fixtures/tanh-hook.ts', import.meta.url)), layer: 2, params };
  const pm = await ParallelModel.create(model, { workers: 2 });
  try {
    assert.equal(pm.workerCount, 2);
    const logits = await pm.forward(tokens, { attentionMask });
    assert.deepEqual(logits.shape, [3, 20, model.config.vocabSize]);
    assert.ok(maxAbsDiff(logits.data, values(model.forward(tokens, { attentionMask }))) < 1e-4);

    const requests = [
      { context: ids.slice(0, 5), continuation: ids.slice(5, 9) },
      { context: ids.slice(0, 12), continuation: ids.slice(12, 13) },
      { context: ids.slice(3, 6), continuation: ids.slice(6, 16) },
    ];
    const ref = await scoreContinuations(model, requests);
    const par = await pm.scoreContinuations(requests);
    assert.equal(par.length, ref.length);
    par.forEach((r, i) => {
      assert.ok(Math.abs(r.logprob - ref[i].logprob) < 1e-4);
      assert.equal(r.greedy, ref[i].greedy);
    });

    const tensors = names.map((n) => tf.tensor(params[n].data, params[n].shape));
    const single = tf.valueAndGrads((...xs: tf.Tensor[]) => {
      const hook = createHook(Object.fromEntries(names.map((n, i) => [n, xs[i]])));
      return documentLoss(model, tokens, { attentionMask, hooks: new Map([[2, hook]]) }).loss;
    })(tensors);
    const result = await pm.documentLossGradients(tokens, spec, { attentionMask });
    assert.deepEqual(result.tokenCounts, [19, 19, 13]);
    assert.ok(Math.abs(result.loss - single.value.dataSync()[0]) < 1e-5);
    names.forEach((n, i) => {
      const ref = single.grads[i].dataSync();
      const scale = Math.max(...Array.from(ref, Math.abs));
      assert.ok(scale > 0);
      assert.ok(maxAbsDiff(result.grads[n].data, ref) < 1e-4 * scale, `gradient of ${n}`);
    });
    tf.dispose([single.value, ...single.grads, ...tensors]);
  } finally {
    await pm.dispose();
  }
});
