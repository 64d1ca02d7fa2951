import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { common, evaluator } from '@memorize/contracts';
import type { ServiceError } from '@grpc/grpc-js';
import { callStream, callUnary, connect, status } from '@memorize/service-kit';
import { feverFiles, sharedRootsEnv, startServiceProcess, storiesHf, type ServiceProcess } from '@memorize/testing';

/**
 * The evaluator (issue 13) with the four services as separate processes: k-shot FEVER evaluations (loglik and
 * generate) whose reports are consistent with their predictions and do not depend on the batch size, and a sweep of
 * 2 layers x {pretrained, memory, simset-2 token} trained through the Trainer, compared with McNemar + Holm, that
 * resumes after a kill -9 of the evaluator without redoing finished cells and gives the same table for the same seed.
 */

const { JobState } = common;
const dir = mkdtempSync(join(tmpdir(), 'memorize-evaluator-'));
const memoryRoot = join(dir, 'memories');
let data: ServiceProcess;
let host: ServiceProcess;
let trainerProcess: ServiceProcess;
let evaluatorProcess: ServiceProcess;
let client: InstanceType<typeof evaluator.EvaluatorClient>;

async function startEvaluator(): Promise<void> {
  evaluatorProcess = await startServiceProcess('evaluator', {
    MEMORIZE_EVALUATOR_DATA_ADDRESS: data.address,
    MEMORIZE_EVALUATOR_MODEL_HOSTS: host.address,
    MEMORIZE_EVALUATOR_TRAINER_ADDRESS: trainerProcess.address,
    MEMORIZE_EVALUATOR_DATA_DIR: join(dir, 'evaluator'),
  });
  client?.close();
  client = connect(evaluator.EvaluatorClient, evaluatorProcess.address);
}

before(async () => {
  [data, host] = await Promise.all([startServiceProcess('data', sharedRootsEnv()), startServiceProcess('model-host', sharedRootsEnv(memoryRoot))]);
  trainerProcess = await startServiceProcess('trainer', {
    MEMORIZE_TRAINER_DATA_ADDRESS: data.address,
    MEMORIZE_TRAINER_MODEL_HOSTS: host.address,
    MEMORIZE_TRAINER_DATA_DIR: join(dir, 'trainer'),
  });
  await startEvaluator();
});

after(async () => {
  client?.close();
  await Promise.all([evaluatorProcess?.stop(5_000), trainerProcess?.stop(5_000), host?.stop(5_000), data?.stop(5_000)]);
  rmSync(dir, { recursive: true, force: true });
});

const evaluation = (over: Partial<evaluator.EvaluationSpec>): evaluator.EvaluationSpec =>
  evaluator.EvaluationSpec.fromPartial({
    modelPath: storiesHf,
    claimsPath: feverFiles.claims,
    pagesPath: feverFiles.pages,
    assignmentPath: feverFiles.assignments,
    topN: 5,
    scoring: evaluator.ScoringMode.SCORING_MODE_LOGLIK,
    limit: 24,
    ...over,
  });

async function evaluate(evaluationId: string, spec: evaluator.EvaluationSpec): Promise<evaluator.Evaluation> {
  await callUnary(client, client.startEvaluation, { evaluationId, spec }, 10_000);
  let last: evaluator.Evaluation | undefined;
  for await (const e of callStream(client, client.watchEvaluation, { evaluationId }, 300_000)) last = e.evaluation;
  return last!;
}

test('a 1-shot loglik evaluation: metrics consistent with its predictions, the same scores at batch sizes 1 and 8', async () => {
  const a = await evaluate('loglik-b8', evaluation({ batchSize: 8 }));
  assert.equal(a.state, JobState.JOB_STATE_SUCCEEDED, a.error);
  const report = a.report!;
  assert.equal(report.predictions.length, 24);
  const correct = report.predictions.filter((p) => p.predicted === p.gold).length;
  assert.equal(report.metrics!.count, 24);
  assert.ok(Math.abs(report.metrics!.accuracy - correct / 24) < 1e-12);
  assert.equal(
    report.metrics!.confusion.reduce((x, y) => x + y, 0),
    24,
  );
  assert.equal(report.metrics!.perLabel.length, 3);
  assert.ok(report.metrics!.accuracyCiLow <= report.metrics!.accuracy && report.metrics!.accuracy <= report.metrics!.accuracyCiHigh);
  for (const p of report.predictions) {
    assert.equal(p.logprobs.length, 3);
    // The prediction is the option with the highest log-probability.
    assert.equal(p.predicted, [1, 2, 3][p.logprobs.indexOf(Math.max(...p.logprobs))]);
  }
  const b = await evaluate('loglik-b1', evaluation({ batchSize: 1 }));
  assert.equal(b.state, JobState.JOB_STATE_SUCCEEDED, b.error);
  b.report!.predictions.forEach((p, i) => {
    const q = report.predictions[i];
    assert.equal(p.claimId, q.claimId);
    assert.equal(p.predicted, q.predicted);
    p.logprobs.forEach((x, k) => assert.ok(Math.abs(x - q.logprobs[k]) < 1e-4, `claim ${p.claimId} option ${k}: ${x} vs ${q.logprobs[k]}`));
  });
  console.log(JSON.stringify({ test: 'loglik', accuracy: report.metrics!.accuracy, claims_per_s: report.claimsPerSecond }));
});

test('a generate-mode evaluation reads the first answer letter; unparsable answers count as invalid', async () => {
  const e = await evaluate('generate', evaluation({ scoring: evaluator.ScoringMode.SCORING_MODE_GENERATE, limit: 6, maxNewTokens: 6 }));
  assert.equal(e.state, JobState.JOB_STATE_SUCCEEDED, e.error);
  const invalid = e.report!.predictions.filter((p) => p.predicted === common.Label.LABEL_UNSPECIFIED).length;
  assert.ok(Math.abs(e.report!.metrics!.invalidRate - invalid / 6) < 1e-12);
  assert.ok(e.report!.predictions.every((p) => typeof p.answer === 'string' && p.logprobs.length === 0));
});

const sweepSpec = evaluator.SweepSpec.fromPartial({
  evaluation: evaluation({ limit: 30, seed: 1n }),
  variants: [
    { name: 'pretrained' },
    { name: 'memory', memory: { kind: common.MemoryKind.MEMORY_KIND_MEMORY, layer: 0, entries: 64 } },
    {
      name: 'simset-2 token',
      memory: { kind: common.MemoryKind.MEMORY_KIND_SIMSET, layer: 0, entries: 64, shingleK: 2, mode: common.MaskMode.MASK_MODE_TOKEN },
    },
  ],
  layers: [1, 3],
  training: { learningRate: 1e-2, batchSize: 4, maxSteps: 12, seed: 2n },
  evalEvery: 6,
  localityPages: 3,
});

async function waitSweep(sweepId: string, until?: (s: evaluator.Sweep) => boolean): Promise<evaluator.Sweep> {
  for (;;) {
    const s = (await callUnary(client, client.getSweep, { sweepId }, 30_000)).sweep!;
    if (until ? until(s) : [JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED].includes(s.state)) return s;
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('a sweep of 2 layers x {pretrained, memory, simset-2 token}: trained through the Trainer, compared with pretrained, resumed after kill -9 without redoing finished cells', async () => {
  const began = Date.now();
  await callUnary(client, client.startSweep, { sweepId: 'sweep-a', spec: sweepSpec }, 10_000);
  // Kill the evaluator once two cells are done.
  const partial = await waitSweep('sweep-a', (s) => s.cells.filter((c) => c.state === JobState.JOB_STATE_SUCCEEDED).length >= 2);
  const finishedBefore = new Map(
    partial.cells.filter((c) => c.state === JobState.JOB_STATE_SUCCEEDED).map((c) => [c.evaluationId, c.report!.claimsPerSecond]),
  );
  evaluatorProcess.child.kill('SIGKILL');
  await evaluatorProcess.stop();
  await startEvaluator();
  const sweep = await waitSweep('sweep-a');
  const seconds = (Date.now() - began) / 1000;
  assert.equal(sweep.state, JobState.JOB_STATE_SUCCEEDED, sweep.error);
  assert.deepEqual(
    sweep.cells.map((c) => [c.variant, c.layer]),
    [
      ['pretrained', -1],
      ['memory', 1],
      ['memory', 3],
      ['simset-2 token', 1],
      ['simset-2 token', 3],
    ],
  );
  // Finished cells were not redone: their reports (down to the measured claims/s) are the ones from before the kill.
  for (const [evaluationId, claimsPerSecond] of finishedBefore) {
    assert.equal(sweep.cells.find((c) => c.evaluationId === evaluationId)!.report!.claimsPerSecond, claimsPerSecond, evaluationId);
  }
  for (const cell of sweep.cells) {
    assert.equal(cell.report!.predictions.length, 30);
    assert.ok(cell.pValueVsPretrained >= 0 && cell.pValueVsPretrained <= 1);
    assert.ok(cell.pHolm >= cell.pValueVsPretrained - 1e-12 && cell.pHolm <= 1);
    if (cell.layer >= 0) {
      assert.ok(cell.runId && cell.report!.memorizationError > 0 && cell.report!.locality > 0, `${cell.variant} L${cell.layer} measured`);
      assert.ok(cell.measures.length >= 2 && Number(cell.measures[0].step) === 0, 'the run curve from the base model on');
    }
  }
  assert.match(sweep.tableMarkdown, /simset-2 token/);
  assert.match(sweep.significance, /McNemar's exact test, Holm's correction across the 4 comparisons/);

  // The same spec again (its runs and evaluations under new ids): the same table.
  await callUnary(client, client.startSweep, { sweepId: 'sweep-b', spec: sweepSpec }, 10_000);
  const again = await waitSweep('sweep-b');
  assert.equal(again.state, JobState.JOB_STATE_SUCCEEDED, again.error);
  assert.equal(again.tableMarkdown, sweep.tableMarkdown);
  console.log(JSON.stringify({ test: 'sweep', seconds, table: sweep.tableMarkdown, significance: sweep.significance }));

  // One cell per call, as the pods of an Indexed Job run it (JOB_COMPLETION_INDEX = cell): the same table once all
  // five have run, and a different spec under the same id is refused.
  for (let cell = 0; cell < 5; cell++) await callUnary(client, client.startSweep, { sweepId: 'sweep-c', spec: sweepSpec, cell }, 10_000);
  await assert.rejects(
    callUnary(client, client.startSweep, { sweepId: 'sweep-c', spec: { ...sweepSpec, layers: [2, 3] }, cell: 0 }, 10_000),
    (e: ServiceError) => e.code === status.FAILED_PRECONDITION && /different spec/.test(e.details),
  );
  const byCell = await waitSweep('sweep-c');
  assert.equal(byCell.state, JobState.JOB_STATE_SUCCEEDED, byCell.error);
  assert.equal(byCell.tableMarkdown, sweep.tableMarkdown);
});
