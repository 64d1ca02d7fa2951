import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel, type TransformerModel } from '@memorize/lm';
import { createMemoryFor, sampleAnchorRows, TrainingRun, type TrainingRow } from '@memorize/memory';
import { tf } from '@memorize/tensor';
import { abortAtPause, backend, storiesBin, tokenRows } from '@memorize/testing';

/** Slices in libs/memory (issue 10): anchor sampling one token per slice, a training run one step per slice, cancellable. */

await backend();
const model: TransformerModel = loadModel(storiesBin);
const rows: TrainingRow[] = tokenRows(4, 12, model.config.vocabSize, 3).map((ids, i) => ({ ids: [model.config.bosId, ...ids], documentIndex: i }));
const anchorOptions = { count: 3, tokens: 6, seed: 11 };

/** Counts forward passes of `model` while `work` runs. */
async function countingForwards<T>(work: (forwards: () => number) => Promise<T>): Promise<{ forwards: number; result: PromiseSettledResult<T> }> {
  const original = model.forward.bind(model);
  let forwards = 0;
  model.forward = ((...args: Parameters<TransformerModel['forward']>) => {
    forwards++;
    return original(...args);
  }) as TransformerModel['forward'];
  try {
    const [result] = await Promise.allSettled([work(() => forwards)]);
    return { forwards, result };
  } finally {
    model.forward = original;
  }
}

test('sampleAnchorRows: slices change nothing; aborted at pause k it rejects with the reason having run the forwards of k slices, no tensor leaked', async () => {
  const plain = await sampleAnchorRows(model, anchorOptions);
  // The forwards done when each pause is reached (a reference run that never aborts).
  const atPause: number[] = [];
  const { result } = await countingForwards((forwards) =>
    sampleAnchorRows(model, anchorOptions, { nextSlice: async () => void atPause.push(forwards()) }),
  );
  assert.deepEqual((result as PromiseFulfilledResult<number[][]>).value, plain, 'the same samples with a scheduler between slices');
  assert.ok(atPause.length >= anchorOptions.count, `${atPause.length} pauses`);
  // Within the first sample, at the pause between two samples, and the last pause.
  for (const k of [2, anchorOptions.tokens, atPause.length]) {
    const before = tf.memory().numTensors;
    const { options, pauses, reason } = abortAtPause(k);
    const run = await countingForwards(() => sampleAnchorRows(model, anchorOptions, options));
    assert.equal(run.result.status, 'rejected', `k ${k}`);
    assert.equal((run.result as PromiseRejectedResult).reason, reason);
    assert.equal(pauses(), k);
    assert.equal(run.forwards, atPause[k - 1], `k ${k}: no forward after the aborted pause`);
    assert.equal(tf.memory().numTensors, before, `k ${k}: the KV cache of the stopped sample is freed`);
  }
  const controller = new AbortController();
  controller.abort(new Error('before start'));
  const early = await countingForwards(() => sampleAnchorRows(model, anchorOptions, { signal: controller.signal }));
  assert.equal((early.result as PromiseRejectedResult).reason, controller.signal.reason);
  assert.equal(early.forwards, 0);
});

test('TrainingRun: one step per slice; nextSlice aborting at pause k leaves k steps taken, resumable; the run-wide signal stops step() with its reason', async () => {
  const schedule = { steps: 6, batchSize: 2, learningRate: 1e-2, seed: 1 };
  const reference = createMemoryFor(
    model,
    { kind: 'dlp', layer: 2, entries: 16, seed: 5 },
    rows.map((r) => ({ tokens: r.ids })),
  );
  const whole = new TrainingRun(model, reference, rows, { schedule });
  const wholeSteps = await whole.run();

  const memory = createMemoryFor(
    model,
    { kind: 'dlp', layer: 2, entries: 16, seed: 5 },
    rows.map((r) => ({ tokens: r.ids })),
  );
  const { options, pauses } = abortAtPause(2);
  const run = new TrainingRun(model, memory, rows, { schedule, ...options });
  const before = tf.memory().numTensors;
  const taken = await run.run();
  assert.equal(pauses(), 2);
  assert.equal(taken.length, 2, 'the abort at the 2nd pause ends the run before step 3');
  assert.equal(run.steps, 2);
  assert.equal(run.trainer.steps, 2);
  assert.equal(tf.memory().numTensors, before, 'no tensor left by the steps (optimizer moments exist from the start)');
  assert.throws(
    () => run.step(),
    (e) => e === options.signal!.reason,
  );
  assert.equal(run.trainer.steps, 2, 'the refused step changed nothing');
  // Resumable: the same memory, trainer state and step index continue without the aborted signal.
  const rest = await run.run({ signal: new AbortController().signal });
  assert.deepEqual(
    [...taken, ...rest].map((r) => [r.index, r.loss]),
    wholeSteps.map((r) => [r.index, r.loss]),
  );
  for (const x of [whole, run]) x.dispose();
  for (const x of [reference, memory]) x.dispose();
});

test('TrainingRun.create with the anchor term: sampling stops at the aborted pause with the reason, nothing leaked', async () => {
  const memory = createMemoryFor(model, { kind: 'memory', layer: 1, entries: 8, seed: 2 });
  const before = tf.memory().numTensors;
  const { options, reason } = abortAtPause(3);
  const schedule = { steps: 2, batchSize: 4, anchor: { weight: 1, samples: 3, tokens: 5 } };
  await assert.rejects(TrainingRun.create(model, memory, rows, { schedule, ...options }), (e) => e === reason);
  assert.equal(tf.memory().numTensors, before);
  let pauses = 0;
  const run = await TrainingRun.create(model, memory, rows, { schedule, nextSlice: async () => void pauses++ });
  assert.equal(run.anchorRows?.length, 3);
  assert.ok(pauses > 3);
  run.dispose();
  memory.dispose();
});
