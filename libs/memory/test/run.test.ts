import { test } from 'node:test';
import assert from 'node:assert/strict';
import { derivedRandom, tf } from '@memorize/tensor';
import {
  TRAINING_DEFAULTS,
  TrainingRun,
  cosineLearningRate,
  createMemoryFor,
  deriveSeed,
  resolveSchedule,
  scheduleBatch,
  type MemoryConfig,
  type MemoryModule,
  type TrainingRow,
} from '@memorize/memory';
import { backend, tokenRows } from '@memorize/testing';
import { tinyModel } from './helpers.js';

test('one seed derivation keeps its values: memory files (deriveSeed), FEVER splits and batch orders (derivedRandom over it)', () => {
  assert.equal(deriveSeed(0, 'mlp/init'), 3385789304);
  assert.equal(deriveSeed(1, 'simset/minhash'), 2167946023);
  assert.equal(deriveSeed(7, 'doc-key/key/3'), 668702503);
  assert.equal(deriveSeed(2 ** 40 + 5, 'random/document/2'), 1974428395);
  assert.equal(deriveSeed(4294967295, 'anchor/0/0'), 71536105);
  // mulberry32 over derive_seed(0, 'pool\0Pocahontas') of the independent Python in format_vectors.py.
  assert.equal(derivedRandom(0, 'pool', 'Pocahontas')(), 0.8863016129471362);
});

test('schedule: steps from epochs, batches cover every row once per epoch, seeded; one full batch keeps the order', () => {
  const s = resolveSchedule({ batchSize: 3, epochs: 2, seed: 5 }, 7);
  assert.equal(s.stepsPerEpoch, 3);
  assert.equal(s.steps, 6);
  assert.equal(s.learningRate, TRAINING_DEFAULTS.learningRate);
  assert.equal(s.gradClip, TRAINING_DEFAULTS.gradClip);
  for (const epoch of [0, 1]) {
    const seen = [0, 1, 2].flatMap((b) => scheduleBatch(s, 7, epoch * 3 + b));
    assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4, 5, 6]);
  }
  assert.deepEqual(scheduleBatch(s, 7, 4), scheduleBatch(resolveSchedule({ batchSize: 3, epochs: 2, seed: 5 }, 7), 7, 4));
  assert.notDeepEqual(
    [0, 1, 2].flatMap((b) => scheduleBatch(s, 7, b)),
    [0, 1, 2].flatMap((b) => scheduleBatch(s, 7, 3 + b)),
  );
  assert.deepEqual(scheduleBatch(resolveSchedule({ batchSize: 8 }, 7), 7, 3), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(resolveSchedule({}, 9).steps, TRAINING_DEFAULTS.epochs * Math.ceil(9 / TRAINING_DEFAULTS.batchSize));
  assert.throws(() => resolveSchedule({ batchSize: 0 }, 3), /batchSize/);
  assert.throws(() => resolveSchedule({}, 0), /rows/);
});

const config: MemoryConfig = { kind: 'dlp', layer: 1, entries: 16, layerNorm: false, gateInit: 0, seed: 4 };

function setup() {
  const model = tinyModel();
  const rows: TrainingRow[] = tokenRows(5, 10, model.config.vocabSize, 9).map((ids, i) => ({ ids, documentIndex: i }));
  const outside: TrainingRow[] = tokenRows(2, 10, model.config.vocabSize, 31).map((ids) => ({ ids }));
  const memory = () =>
    createMemoryFor(
      model,
      config,
      rows.map((r) => ({ tokens: r.ids })),
    );
  return { model, rows, outside, memory };
}

const weights = (m: MemoryModule) => [...m.parameters()].map(([name, p]) => [name, Array.from(p.variable.dataSync())]);

test("TrainingRun: step by step with the schedule's rates, evaluations every N steps, abort between steps", async () => {
  await backend();
  const { model, rows, outside, memory } = setup();
  const m = memory();
  const seen: number[] = [];
  const controller = new AbortController();
  const run = new TrainingRun(model, m, rows, {
    schedule: { steps: 7, batchSize: 2, learningRate: 1e-2, warmupSteps: 2, seed: 1 },
    outside,
    evalEvery: 3,
    onStep: (r) => {
      seen.push(r.index);
      if (r.index === 4) controller.abort();
    },
  });
  assert.equal(run.outsideMaskSource, 'none', 'dlp meets text without a document with no entry on');
  const base = run.baseline();
  const init = run.evaluate();
  assert.equal(init.step, 0);
  assert.equal(init.memorizationError, base.memorizationError, 'gate 0: the untrained memory changes nothing');
  assert.equal(init.outsideNll, base.outsideNll);
  const taken = await run.run({ signal: controller.signal });
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  assert.equal(run.steps, 5);
  assert.equal(run.done, false);
  taken.forEach((r, i) => {
    assert.equal(r.learningRate, cosineLearningRate(i, { peak: 1e-2, warmup: 2, total: 7 }));
    assert.equal(r.step, i + 1);
    assert.equal(r.epoch, Math.floor(i / 3));
    assert.equal(
      r.tokens,
      run.batch(i).reduce((a, b) => a + b.ids.length - 1, 0),
    );
    assert.equal(r.evaluation !== undefined, i === 2, `evaluation after step ${i}`);
  });
  assert.ok(taken[2].evaluation!.memorizationError < base.memorizationError);
  // The rest of the run, then the last step measures.
  const rest = await run.run();
  assert.deepEqual(
    rest.map((r) => r.index),
    [5, 6],
  );
  assert.equal(rest[0].evaluation?.step, 6);
  assert.equal(rest[1].evaluation?.step, 7);
  assert.ok(run.done);
  assert.throws(() => run.step(), /all its 7 steps/);
  run.dispose();
  m.dispose();
  model.dispose();
});

test('TrainingRun resumed at step k with the optimizer state saved at k takes the same steps as an uninterrupted run', async () => {
  await backend();
  const { model, rows, memory } = setup();
  const schedule = { steps: 6, batchSize: 2, learningRate: 1e-2, warmupSteps: 2, seed: 3 };
  const a = memory();
  const whole = new TrainingRun(model, a, rows, { schedule });
  const wholeSteps = await whole.run();
  const b = memory();
  const first = new TrainingRun(model, b, rows, { schedule });
  for (let i = 0; i < 3; i++) first.step();
  const state = first.trainer.getState();
  first.dispose();
  assert.throws(() => new TrainingRun(model, b, rows, { schedule, startStep: 2, optimizerState: state }), /step 3/);
  const resumed = new TrainingRun(model, b, rows, { schedule, optimizerState: state });
  assert.equal(resumed.steps, 3);
  const resumedSteps = await resumed.run();
  assert.deepEqual(
    resumedSteps.map((r) => [r.index, r.learningRate, r.loss, r.gradNorm]),
    wholeSteps.slice(3).map((r) => [r.index, r.learningRate, r.loss, r.gradNorm]),
  );
  assert.deepEqual(weights(b), weights(a));
  for (const x of [whole, resumed]) x.dispose();
  for (const x of [a, b]) x.dispose();
  model.dispose();
});

test('TrainingRun.create draws anchor rows from the base model when the anchor term is on', async () => {
  await backend();
  const { model, rows } = setup();
  const m = createMemoryFor(model, { kind: 'memory', layer: 1, entries: 8, layerNorm: false, gateInit: 0, seed: 2 });
  const run = await TrainingRun.create(model, m, rows, { schedule: { steps: 2, batchSize: 5, anchor: { weight: 1, samples: 3, tokens: 4 } } });
  assert.equal(run.anchorRows?.length, 3);
  assert.ok(run.anchorRows!.every((r) => r[0] === model.config.bosId && r.length >= 2 && r.length <= 5));
  assert.equal(run.outsideMaskSource, undefined, 'the unstructured memory has no mask');
  const [r] = await run.run();
  assert.ok(Math.abs(r.loss - r.lmLoss) < 1e-6, 'gate 0: no anchor KL at the first step');
  assert.throws(() => new TrainingRun(model, m, rows, { schedule: { anchor: { weight: 1 } } }), /anchor rows/);
  run.dispose();
  m.dispose();
  model.dispose();
});

test('each kind says which mask a row gets without an explicit source; the hooks use it', async () => {
  await backend();
  const model = tinyModel();
  const docs = tokenRows(3, 10, model.config.vocabSize, 5);
  const make = (c: Omit<MemoryConfig, 'layer'>) =>
    createMemoryFor(
      model,
      { layer: 1, entries: 12, setProbability: 0.4, ...c },
      docs.map((tokens) => ({ tokens })),
    );
  const expected: [Omit<MemoryConfig, 'layer'>, string | undefined, string | undefined][] = [
    [{ kind: 'memory' }, undefined, undefined],
    [{ kind: 'dlp' }, 'oracle', 'none'],
    [{ kind: 'random' }, 'oracle', 'none'],
    [{ kind: 'doc-key' }, 'oracle', 'none'],
    [{ kind: 'simset' }, 'oracle', 'context'],
    [{ kind: 'simset', mode: 'token' }, 'context', 'context'],
  ];
  for (const [c, withDocument, without] of expected) {
    const m = make(c);
    assert.equal(m.defaultMaskSource(true), withDocument, `${c.kind} ${c.mode ?? 'dim'} with a document`);
    assert.equal(m.defaultMaskSource(false), without, `${c.kind} ${c.mode ?? 'dim'} without one`);
    if (m.masker) {
      const logits = (maskSource?: 'none' | 'context' | 'oracle', docIds?: number[]) =>
        tf.tidy(() => Array.from(model.forward(docs, { hooks: m.hooks({ maskSource }), docIds }).dataSync()));
      assert.deepEqual(logits(), logits(without as 'none' | 'context'));
      assert.deepEqual(logits(undefined, [0, 1, 2]), logits(withDocument as 'oracle' | 'context', [0, 1, 2]));
    }
    m.dispose();
  }
  model.dispose();
});
