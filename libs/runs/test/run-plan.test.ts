import { test } from 'node:test';
import assert from 'node:assert/strict';
import { common, trainer } from '@memorize/contracts';
import { InvalidArgumentError } from '@memorize/errors';
import { isDue, learningRateAt, modelIdFor, planRun, runPaths, tokenWeightedLoss } from '@memorize/runs';

const spec = (training: Partial<common.TrainingConfig>, extra: Partial<trainer.RunSpec> = {}): trainer.RunSpec =>
  trainer.RunSpec.fromPartial({ modelPath: 'm', training, ...extra });

/** transformers.get_cosine_schedule_with_warmup, written out: linear from 0 over the warm-up, then half a cosine to 0. */
function hfCosine(step: number, peak: number, warmup: number, total: number): number {
  if (step < warmup) return (peak * step) / Math.max(1, warmup);
  const progress = (step - warmup) / Math.max(1, total - warmup);
  return peak * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}

test('the schedule: the reference defaults, steps from epochs or max_steps, learning rates as transformers computes them', () => {
  const defaults = planRun(spec({}), 21);
  // 25 epochs of ceil(21 / 4) = 6 steps; AdamW 1e-3, warm-up 10, decay 0.05, clip 10 (DESIGN.md).
  assert.equal(defaults.schedule.stepsPerEpoch, 6);
  assert.equal(defaults.schedule.steps, 150);
  assert.deepEqual(
    [defaults.schedule.learningRate, defaults.schedule.warmupSteps, defaults.schedule.weightDecay, defaults.schedule.gradClip],
    [1e-3, 10, 0.05, 10],
  );
  assert.equal(defaults.evalEvery, 6);
  assert.equal(defaults.checkpointEvery, 6);

  const plan = planRun(spec({ maxSteps: 40, learningRate: 1e-2, warmupSteps: 5, batchSize: 2, checkpointEvery: 10 }, { evalEvery: 20 }), 5);
  assert.equal(plan.schedule.steps, 40);
  for (const s of [0, 1, 4, 5, 6, 20, 39]) {
    assert.ok(Math.abs(learningRateAt(plan, s) - hfCosine(s, 1e-2, 5, 40)) < 1e-12, `step ${s}`);
  }
  assert.equal(learningRateAt(plan, 0), 0);
  assert.deepEqual(
    [10, 15, 20, 40].map((n) => isDue(plan.checkpointEvery, n, 40)),
    [true, false, true, true],
  );
  assert.ok(isDue(plan.evalEvery, 40, 40) && isDue(7, 40, 40) && !isDue(7, 39, 40));
  assert.throws(
    () => planRun(spec({ learningRate: -1 }), 5),
    (e: unknown) => e instanceof InvalidArgumentError && /^spec\.training: learningRate must be > 0/.test(e.message),
  );
});

test('run paths, model ids and the token-weighted NLL', () => {
  const memory = runPaths('r1', spec({}));
  assert.equal(memory.output, 'runs/r1/memory.safetensors');
  assert.equal(memory.checkpoint(50), 'runs/r1/checkpoints/step-000050.safetensors');
  const full = runPaths('r2', spec({}, { jobKind: trainer.JobKind.JOB_KIND_FULL }));
  assert.equal(full.output, 'runs/r2/model');
  assert.equal(full.checkpoint(7), 'runs/r2/checkpoints/step-000007');
  assert.equal(runPaths('r3', spec({}, { outputPath: 'mine/x.safetensors' })).output, 'mine/x.safetensors');
  // Memory runs on one checkpoint share the base model; a full run trains a private copy.
  assert.equal(modelIdFor('a', spec({})), modelIdFor('b', spec({})));
  assert.match(modelIdFor('a', spec({})), /^base\.[0-9a-f]{16}$/);
  assert.equal(modelIdFor('a', spec({}, { jobKind: trainer.JobKind.JOB_KIND_FULL })), 'run.a');
  // (2.0 * 10 + 4.0 * 30) / 40
  assert.equal(
    tokenWeightedLoss([
      { loss: 2, tokens: 10n },
      { loss: 4, tokens: 30n },
    ]),
    3.5,
  );
});
