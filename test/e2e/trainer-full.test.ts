import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { common, modelHost, trainer } from '@memorize/contracts';
import { generateWorld, writeWorld } from '@memorize/fever';
import { callUnary, connect } from '@memorize/service-kit';
import { runPython, startServiceProcess, storiesHf, testingPython, type ServiceProcess } from '@memorize/testing';

/**
 * The full-parameter job kind through the trainer (issue 12, part 5): a run whose job kind is full trains every
 * weight of stories260K on the pages of a synthetic fact world, through the same StartRun / checkpoints, and writes
 * an HF folder that LoadModel reads and whose log-probabilities PyTorch (the project's HF-semantics reference
 * forward, Debian's python3-torch) reproduces.
 */

const { JobState } = common;
// One root for data and models: the world, a copy of stories260K's HF folder, and what the run writes.
const root = mkdtempSync(join(tmpdir(), 'memorize-trainer-full-'));
let data: ServiceProcess;
let host: ServiceProcess;
let trainerProcess: ServiceProcess;
let client: InstanceType<typeof trainer.TrainerClient>;
let hostClient: InstanceType<typeof modelHost.ModelHostClient>;

before(async () => {
  cpSync(storiesHf, join(root, 'base'), { recursive: true });
  await writeWorld(join(root, 'world'), generateWorld({ seed: 5, entities: { pretrain: 30, memorize: 5 } }));
  [data, host] = await Promise.all([
    startServiceProcess('data', { MEMORIZE_DATA_DATA_ROOT: root }),
    startServiceProcess('model-host', { MEMORIZE_MODEL_HOST_MODEL_ROOT: root, MEMORIZE_MODEL_HOST_MEMORY_ROOT: join(root, 'memories') }),
  ]);
  trainerProcess = await startServiceProcess('trainer', {
    MEMORIZE_TRAINER_DATA_ADDRESS: data.address,
    MEMORIZE_TRAINER_MODEL_HOSTS: host.address,
    MEMORIZE_TRAINER_DATA_DIR: join(root, 'trainer'),
  });
  client = connect(trainer.TrainerClient, trainerProcess.address);
  hostClient = connect(modelHost.ModelHostClient, host.address);
});

after(async () => {
  client?.close();
  hostClient?.close();
  await Promise.all([trainerProcess?.stop(5_000), host?.stop(5_000), data?.stop(5_000)]);
  rmSync(root, { recursive: true, force: true });
});

test('a full-parameter run on a synthetic world lowers its loss and writes an HF folder PyTorch reproduces', async () => {
  const spec = trainer.RunSpec.fromPartial({
    jobKind: trainer.JobKind.JOB_KIND_FULL,
    modelPath: 'base',
    claimsPath: 'world/pretrain/claims.jsonl',
    pagesPath: 'world/pretrain/wiki-pages.jsonl',
    assignmentPath: 'world/pretrain/page_assignment.jsonl',
    localityPages: 0,
    training: { learningRate: 3e-3, batchSize: 4, maxSteps: 200, maxLength: 128, checkpointEvery: 100, seed: 1n },
    evalEvery: 100,
  });
  await callUnary(client, client.startRun, { runId: 'full', spec }, 10_000);
  let run: trainer.Run;
  for (;;) {
    run = (await callUnary(client, client.getRun, { runId: 'full' }, 10_000)).run!;
    if (run.state === JobState.JOB_STATE_SUCCEEDED || run.state === JobState.JOB_STATE_FAILED) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(run.state, JobState.JOB_STATE_SUCCEEDED, run.error);
  assert.equal(run.steps.length, 200);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const losses = run.steps.map((s) => s.loss);
  assert.ok(mean(losses.slice(-20)) < 0.7 * mean(losses.slice(0, 20)), `loss ${mean(losses.slice(0, 20))} -> ${mean(losses.slice(-20))}`);
  assert.ok(run.lastMemorizationError < 0.7 * run.baseMemorizationError, `page NLL ${run.baseMemorizationError} -> ${run.lastMemorizationError}`);
  assert.deepEqual(
    run.checkpoints.map((c) => [Number(c.step), c.path]),
    [
      [100, 'runs/full/checkpoints/step-000100'],
      [200, 'runs/full/model'],
    ],
  );
  for (const file of ['config.json', 'model.safetensors', 'tokenizer.json']) assert.ok(existsSync(join(root, run.outputPath, file)), file);
  // The run's private copy of the model is gone from the host; the folder loads as a new model.
  const models = (await callUnary(hostClient, hostClient.listModels, {}, 10_000)).models;
  assert.ok(!models.some((m) => m.modelId === 'run.full'), 'the run unloaded its model');
  await callUnary(hostClient, hostClient.loadModel, { path: run.outputPath, tokenizerPath: '', modelId: 'trained', skipOptimizer: false }, 60_000);

  const tokenized = await callUnary(
    hostClient,
    hostClient.tokenize,
    { modelId: 'trained', texts: ['Once upon a time there was a river .'], addBos: true },
    10_000,
  );
  const ids = tokenized.rows[0].ids.slice(0, 16);
  const cut = 6;
  const scored = await callUnary(
    hostClient,
    hostClient.score,
    modelHost.ScoreRequest.fromPartial({ modelId: 'trained', items: [{ context: ids.slice(0, cut), continuation: ids.slice(cut) }] }),
    30_000,
  );
  const torch = JSON.parse(runPython(join(testingPython, 'torch_llama.py'), [join(root, run.outputPath), ids.join(',')])) as { logits: number[][] };
  let logprob = 0;
  for (let p = cut - 1; p < ids.length - 1; p++) {
    const row = torch.logits[p];
    const max = Math.max(...row);
    logprob += row[ids[p + 1]] - max - Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
  }
  assert.ok(Math.abs(logprob - scored.scores[0].logprob) < 1e-3, `PyTorch ${logprob} vs Score ${scored.scores[0].logprob}`);
  console.log(
    JSON.stringify({
      test: 'full',
      first_loss: mean(losses.slice(0, 20)),
      last_loss: mean(losses.slice(-20)),
      base_nll: run.baseMemorizationError,
      nll: run.lastMemorizationError,
      tokens_per_s: run.timings!.tokensPerSecond,
      torch_logprob: logprob,
      score_logprob: scored.scores[0].logprob,
    }),
  );
});
