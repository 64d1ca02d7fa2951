/** The run summary `train`, `runs wait` and `runs list` print, and the progress lines on a non-terminal stderr. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { common, trainer } from '@memorize/contracts';
import { summarize } from '../src/commands/runs.js';
import { clock, RunProgress } from '../src/progress.js';

const run = (fields: trainer.DeepPartial<trainer.Run>): trainer.Run => trainer.Run.fromPartial({ runId: 'r1', ...fields });

test('summary of a finished run: figures from the record, the curve deciding before/after', () => {
  const s = summarize(
    run({
      state: common.JobState.JOB_STATE_SUCCEEDED,
      progress: { done: 20n, total: 20n },
      lastLoss: 3.5,
      steps: [
        { step: 18n, loss: 3.6 },
        { step: 19n, loss: 3.5 },
      ],
      measures: [
        { step: 0n, memorizationError: 4.8, locality: 4.7 },
        { step: 10n, memorizationError: 3.9, locality: 4.1 },
        { step: 20n, memorizationError: 3.5, locality: 3.8 },
      ],
      baseMemorizationError: 4.8,
      lastMemorizationError: 3.5,
      baseLocality: 4.7,
      lastLocality: 3.8,
      timings: { tokensPerSecond: 7000 },
      outputPath: 'runs/r1/memory.safetensors',
    }),
  );
  assert.deepEqual(s, {
    run_id: 'r1',
    state: 'succeeded',
    steps: 20,
    final_loss: 3.5,
    document_nll_before: 4.8,
    document_nll_after: 3.5,
    locality_nll_before: 4.7,
    locality_nll_after: 3.8,
    tokens_per_s: 7000,
    memory_path: 'runs/r1/memory.safetensors',
  });
});

test('summary of a run that failed before any step: nulls, not zeros or the base figures', () => {
  const s = summarize(
    run({
      state: common.JobState.JOB_STATE_FAILED,
      progress: { done: 0n, total: 20n },
      measures: [{ step: 0n, memorizationError: 4.8, locality: 4.7 }],
      baseMemorizationError: 4.8,
      lastMemorizationError: 4.8,
      baseLocality: 4.7,
      lastLocality: 4.7,
      error: 'model-host gone',
    }),
  );
  assert.equal(s.state, 'failed');
  assert.equal(s.steps, 0);
  assert.equal(s.final_loss, null);
  assert.equal(s.document_nll_before, 4.8);
  assert.equal(s.document_nll_after, null, 'no measure with the memory yet');
  assert.equal(s.locality_nll_after, null);
  assert.equal(s.tokens_per_s, null);
  assert.equal(s.memory_path, null);
  // A ListRuns record (no curves): the scalars, once steps were taken.
  const listed = summarize(
    run({ state: common.JobState.JOB_STATE_RUNNING, progress: { done: 5n }, lastLoss: 2, lastMemorizationError: 3, baseMemorizationError: 4 }),
  );
  assert.deepEqual(
    [listed.state, listed.final_loss, listed.document_nll_before, listed.document_nll_after, listed.locality_nll_before],
    ['running', 2, 4, 3, null],
  );
});

test('plain progress lines (stderr not a terminal): state changes always, steps at a modest rate, the last step before the end', () => {
  const lines: string[] = [];
  const progress = new RunProgress('r1', { write: (s: string) => lines.push(s), isTTY: false }, 60_000);
  const state = (s: common.JobState, message: string) => progress.update(trainer.WatchRunResponse.fromPartial({ state: s, step: -1n, message }));
  state(common.JobState.JOB_STATE_RUNNING, 'placed on model-host a:1');
  for (let i = 0n; i < 50n; i++)
    progress.update(
      trainer.WatchRunResponse.fromPartial({
        state: common.JobState.JOB_STATE_RUNNING,
        step: i,
        loss: 5 - Number(i) / 50,
        epoch: 0,
        progress: { done: i + 1n, total: 50n, etaSeconds: 50 - Number(i) },
        tokensPerSecond: 1000,
        memorizationError: i === 24n ? 3.25 : 0,
      }),
    );
  state(common.JobState.JOB_STATE_SUCCEEDED, 'finished');
  progress.finish();
  assert.deepEqual(lines, [
    'run r1: running (placed on model-host a:1)\n',
    'run r1: 1/50 steps  epoch 1  loss 5.0000  1000 tok/s  ETA 0:50\n',
    'run r1: 50/50 steps  epoch 1  loss 4.0200  1000 tok/s  ETA 0:01\n',
    'run r1: succeeded (finished)\n',
  ]);
  assert.equal(clock(3725), '1:02:05');
  assert.equal(clock(65), '1:05');
});
