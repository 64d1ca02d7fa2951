import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { common, evaluator, trainer } from '@memorize/contracts';
import { callUnary, connect } from '@memorize/service-kit';
import { feverDir, startServiceProcess, storiesHf, type ServiceProcess } from '@memorize/testing';

/**
 * The `full` control as a sweep variant, with the four services as separate processes: a sweep {pretrained, full}
 * on the shared FEVER slice and stories260K whose full cell trains a full-parameter run (JOB_KIND_FULL) through
 * the Trainer on the corpus the sweep evaluates, evaluates the HF folder that run wrote (not the base model, and no
 * memory), and is compared with the pretrained cell by McNemar's test.
 */

const { JobState } = common;
// One root for data and models (the run writes its model inside model-host's model root, and DataService reads the
// evaluation's tokenizer from the same relative path): a copy of stories260K's HF folder and of the FEVER slice.
const root = mkdtempSync(join(tmpdir(), 'memorize-sweep-full-'));
let data: ServiceProcess;
let host: ServiceProcess;
let trainerProcess: ServiceProcess;
let evaluatorProcess: ServiceProcess;
let client: InstanceType<typeof evaluator.EvaluatorClient>;
let trainerClient: InstanceType<typeof trainer.TrainerClient>;

before(async () => {
  cpSync(storiesHf, join(root, 'base'), { recursive: true });
  cpSync(feverDir, join(root, 'fever'), { recursive: true });
  [data, host] = await Promise.all([
    startServiceProcess('data', { MEMORIZE_DATA_DATA_ROOT: root }),
    startServiceProcess('model-host', { MEMORIZE_MODEL_HOST_MODEL_ROOT: root, MEMORIZE_MODEL_HOST_MEMORY_ROOT: join(root, 'memories') }),
  ]);
  trainerProcess = await startServiceProcess('trainer', {
    MEMORIZE_TRAINER_DATA_ADDRESS: data.address,
    MEMORIZE_TRAINER_MODEL_HOSTS: host.address,
    MEMORIZE_TRAINER_DATA_DIR: join(root, 'trainer'),
  });
  evaluatorProcess = await startServiceProcess('evaluator', {
    MEMORIZE_EVALUATOR_DATA_ADDRESS: data.address,
    MEMORIZE_EVALUATOR_MODEL_HOSTS: host.address,
    MEMORIZE_EVALUATOR_TRAINER_ADDRESS: trainerProcess.address,
    MEMORIZE_EVALUATOR_DATA_DIR: join(root, 'evaluator'),
  });
  client = connect(evaluator.EvaluatorClient, evaluatorProcess.address);
  trainerClient = connect(trainer.TrainerClient, trainerProcess.address);
});

after(async () => {
  client?.close();
  trainerClient?.close();
  await Promise.all([evaluatorProcess?.stop(5_000), trainerProcess?.stop(5_000), host?.stop(5_000), data?.stop(5_000)]);
  rmSync(root, { recursive: true, force: true });
});

const CLAIMS = 12;

const spec = evaluator.SweepSpec.fromPartial({
  evaluation: {
    modelPath: 'base',
    claimsPath: 'fever/paper_test.jsonl',
    pagesPath: 'fever/wiki-pages.jsonl',
    assignmentPath: 'fever/page_assignment.jsonl',
    topN: 3,
    scoring: evaluator.ScoringMode.SCORING_MODE_LOGLIK,
    limit: CLAIMS,
    seed: 1n,
  },
  variants: [{ name: 'pretrained' }, { name: 'full', full: true }],
  // One epoch over the 3 pages, a learning rate large enough that the weights move visibly.
  training: { epochs: 1, batchSize: 4, learningRate: 3e-3, warmupSteps: 1, maxLength: 128, seed: 1n },
  localityPages: 2,
});

async function waitSweep(sweepId: string): Promise<evaluator.Sweep> {
  const ended = [JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED];
  for (;;) {
    const s = (await callUnary(client, client.getSweep, { sweepId }, 30_000)).sweep!;
    if (ended.includes(s.state)) return s;
    await new Promise((r) => setTimeout(r, 300));
  }
}

test('a sweep {pretrained, full}: the full cell fine-tunes the model (JOB_KIND_FULL), evaluates the folder it wrote, and is compared with pretrained', async () => {
  const began = Date.now();
  await callUnary(client, client.startSweep, { sweepId: 'sf', spec }, 10_000);
  const sweep = await waitSweep('sf');
  const seconds = (Date.now() - began) / 1000;
  assert.equal(sweep.state, JobState.JOB_STATE_SUCCEEDED, sweep.error);
  assert.deepEqual(
    sweep.cells.map((c) => [c.variant, c.layer]),
    [
      ['pretrained', -1],
      ['full', -1],
    ],
  );
  const [pretrained, full] = sweep.cells;
  assert.equal(pretrained.runId, '');

  // The full cell's run: a full-parameter fine-tune of the sweep's model on the sweep's corpus.
  assert.equal(full.runId, 'sf.full');
  const run = (await callUnary(trainerClient, trainerClient.getRun, { runId: full.runId }, 10_000)).run!;
  assert.equal(run.state, JobState.JOB_STATE_SUCCEEDED, run.error);
  assert.equal(run.spec!.jobKind, trainer.JobKind.JOB_KIND_FULL);
  assert.equal(run.spec!.memory, undefined);
  assert.equal(run.spec!.modelPath, 'base');
  assert.equal(run.spec!.claimsPath, 'fever/paper_test.jsonl');
  assert.equal(run.spec!.topN, 3);
  assert.equal(run.spec!.training!.epochs, 1);
  assert.ok(run.steps.length > 0);
  assert.equal(run.outputPath, 'runs/sf.full/model');
  for (const file of ['config.json', 'model.safetensors']) assert.ok(existsSync(join(root, run.outputPath, file)), file);

  // Its evaluation is of that folder, without a memory.
  const evaluation = (await callUnary(client, client.getEvaluation, { evaluationId: full.evaluationId }, 10_000)).evaluation!;
  assert.equal(evaluation.spec!.modelPath, run.outputPath);
  assert.equal(evaluation.spec!.memoryPath, '');

  for (const cell of [pretrained, full]) {
    const report = cell.report!;
    assert.equal(report.predictions.length, CLAIMS, cell.variant);
    assert.equal(report.metrics!.count, CLAIMS);
    assert.ok(report.metrics!.accuracy >= 0 && report.metrics!.accuracy <= 1);
    assert.ok(report.metrics!.accuracyCiLow <= report.metrics!.accuracy && report.metrics!.accuracy <= report.metrics!.accuracyCiHigh);
  }
  // The fine-tuned model scores the same claims differently from the base model.
  const base = new Map(pretrained.report!.predictions.map((p) => [p.claimId, p.logprobs]));
  const moved = full.report!.predictions.some((p) => p.logprobs.some((x, k) => Math.abs(x - base.get(p.claimId)![k]) > 1e-3));
  assert.ok(moved, 'the full cell scored with the fine-tuned weights');
  // Memorization error and locality come from the run, as a memory cell's do.
  assert.equal(full.report!.memorizationError, run.lastMemorizationError);
  assert.ok(full.report!.memorizationError > 0 && full.report!.locality > 0);
  assert.ok(full.measures.length >= 2 && Number(full.measures[0].step) === 0, 'the run curve from the base model on');

  // McNemar against pretrained (one comparison: Holm leaves it as it is).
  assert.equal(pretrained.pValueVsPretrained, 1);
  assert.ok(full.pValueVsPretrained > 0 && full.pValueVsPretrained <= 1, String(full.pValueVsPretrained));
  assert.equal(full.pHolm, full.pValueVsPretrained);
  assert.equal(full.significant, full.pHolm < 0.05);
  assert.match(sweep.tableMarkdown, /\| pretrained \| full \|/);
  assert.match(sweep.significance, /Holm's correction across the 1 comparison/);
  console.log(
    JSON.stringify({
      test: 'sweep-full',
      seconds,
      steps: run.steps.length,
      pretrained_accuracy: pretrained.report!.metrics!.accuracy,
      full_accuracy: full.report!.metrics!.accuracy,
      p: full.pValueVsPretrained,
      base_nll: run.baseMemorizationError,
      nll: run.lastMemorizationError,
    }),
  );
});
