import { test } from 'node:test';
import assert from 'node:assert/strict';
import { documentLoss, documentLosses, generate, loadModel, loadModelInSlices, scoreContinuations, type TransformerModel } from '@memorize/lm';
import { tf } from '@memorize/tensor';
import { abortAtPause, backend, storiesBin, storiesHf, tokenRows } from '@memorize/testing';

/** Cancellation between slices (issue 10): a call aborted at slice k stops there, with the reason, leaking no tensor. */

await backend();
const model: TransformerModel = loadModel(storiesBin);
const rows = tokenRows(24, 20, model.config.vocabSize, 5).map((r) => [model.config.bosId, ...r]);
const requests = rows.map((r) => ({ context: r.slice(0, 12), continuation: r.slice(12, 16) }));

/** Counts forward passes of `model` while `work` runs. */
async function countingForwards<T>(work: () => Promise<T>): Promise<{ forwards: number; result: PromiseSettledResult<T> }> {
  const original = model.forward.bind(model);
  let forwards = 0;
  model.forward = ((...args: Parameters<TransformerModel['forward']>) => {
    forwards++;
    return original(...args);
  }) as TransformerModel['forward'];
  try {
    const [result] = await Promise.allSettled([work()]);
    return { forwards, result };
  } finally {
    model.forward = original;
  }
}

test('scoreContinuations with a token budget per slice: smaller batches, the same scores', async () => {
  const whole = await scoreContinuations(model, requests, { batchSize: 8 });
  const { forwards, result } = await countingForwards(() => scoreContinuations(model, requests, { batchSize: 8, sliceTokens: 32 }));
  const sliced = (result as PromiseFulfilledResult<Awaited<ReturnType<typeof scoreContinuations>>>).value;
  // Inputs are 15 tokens: 2 rows fit 32 padded tokens, so 24 rows take 12 forwards instead of 3.
  assert.equal(forwards, 12);
  // The invariance the batched scorer promises (1e-4: BLAS may block a product differently for other row counts).
  sliced.forEach((r, i) => assert.ok(Math.abs(r.logprob - whole[i].logprob) < 1e-4, `row ${i}: ${r.logprob} vs ${whole[i].logprob}`));
});

test('scoreContinuations aborted at the 2nd pause: rejects with the reason after 2 batches, no tensor leaked', async () => {
  const before = tf.memory().numTensors;
  const { options, pauses, reason } = abortAtPause(2);
  const { forwards, result } = await countingForwards(() => scoreContinuations(model, requests, { batchSize: 4, ...options }));
  assert.equal(result.status, 'rejected');
  assert.equal((result as PromiseRejectedResult).reason, reason);
  assert.equal(pauses(), 2);
  assert.equal(forwards, 2, 'batch 3 of 6 never ran');
  assert.equal(tf.memory().numTensors, before);
});

test('an already-aborted signal stops every call before its first forward', async () => {
  const controller = new AbortController();
  const reason = new Error('cancelled before start');
  controller.abort(reason);
  const before = tf.memory().numTensors;
  for (const work of <Array<() => Promise<unknown>>>[
    () => scoreContinuations(model, requests, { signal: controller.signal }),
    () =>
      documentLosses(
        model,
        rows.map((ids) => ({ ids })),
        { signal: controller.signal },
      ),
    () => generate(model, [model.config.bosId], { maxNewTokens: 5, signal: controller.signal }),
  ]) {
    const { forwards, result } = await countingForwards(work);
    assert.equal(result.status, 'rejected');
    assert.equal((result as PromiseRejectedResult).reason, reason);
    assert.equal(forwards, 0);
  }
  assert.equal(tf.memory().numTensors, before);
});

test('generate aborted at the 3rd pause: 3 tokens out, the KV cache freed', async () => {
  const before = tf.memory().numTensors;
  const { options, reason } = abortAtPause(3);
  const tokens: number[] = [];
  const { forwards, result } = await countingForwards(() =>
    generate(model, [model.config.bosId], { maxNewTokens: 50, stopTokens: [], onToken: (id) => void tokens.push(id), ...options }),
  );
  assert.equal((result as PromiseRejectedResult).reason, reason);
  assert.equal(tokens.length, 3);
  assert.equal(forwards, 3, 'the prompt and two one-token steps');
  assert.equal(tf.memory().numTensors, before);
});

test('documentLosses: equal to documentLoss batch by batch, independent of the batch size; aborted at the 1st pause after one batch', async () => {
  const lossRows = rows.map((ids, i) => ({ ids: ids.slice(0, 8 + (i % 9)) }));
  const reference = lossRows.map((r) => {
    const l = documentLoss(model, [[...r.ids]]);
    const value = l.perRow.dataSync()[0];
    tf.dispose([l.loss, l.perRow]);
    return value;
  });
  for (const batchSize of [1, 5, 24]) {
    const got = await documentLosses(model, lossRows, { batchSize });
    got.rowLoss.forEach((l, i) => assert.ok(Math.abs(l - reference[i]) < 1e-5, `batch ${batchSize} row ${i}: ${l} vs ${reference[i]}`));
    assert.deepEqual(
      got.rowTokens,
      lossRows.map((r) => r.ids.length - 1),
    );
    const weighted = reference.reduce((a, l, i) => a + l * got.rowTokens[i], 0) / got.tokens;
    assert.ok(Math.abs(got.loss - weighted) < 1e-5);
  }
  // A token budget per slice cuts batches (more forwards), never the results.
  const budgeted = await countingForwards(() => documentLosses(model, lossRows, { batchSize: 8, sliceTokens: 40 }));
  const got = (budgeted.result as PromiseFulfilledResult<Awaited<ReturnType<typeof documentLosses>>>).value;
  got.rowLoss.forEach((l, i) => assert.ok(Math.abs(l - reference[i]) < 1e-5, `sliceTokens row ${i}`));
  assert.ok(budgeted.forwards > 3, `${budgeted.forwards} forwards of at most 40 padded tokens`);
  const before = tf.memory().numTensors;
  const { options, reason } = abortAtPause(1);
  const { forwards, result } = await countingForwards(() => documentLosses(model, lossRows, { batchSize: 8, ...options }));
  assert.equal((result as PromiseRejectedResult).reason, reason);
  assert.equal(forwards, 1);
  assert.equal(tf.memory().numTensors, before);
});

test('loadModelInSlices: one block per slice, the same model as loadModel; aborted at the 3rd pause it frees what it made', async () => {
  for (const path of [storiesBin, storiesHf]) {
    const whole = loadModel(path);
    let pauses = 0;
    const sliced = await loadModelInSlices(path, { nextSlice: async () => void pauses++ });
    assert.equal(sliced.fingerprint, whole.fingerprint);
    assert.equal(pauses, whole.config.nLayers + 1, 'a pause after the embedding and after each block');
    sliced.dispose();
    whole.dispose();
    const before = tf.memory().numTensors;
    const { options, reason } = abortAtPause(3);
    await assert.rejects(loadModelInSlices(path, options), (e) => e === reason);
    assert.equal(tf.memory().numTensors, before, `${path}: no tensor of the stopped load is left`);
  }
});
