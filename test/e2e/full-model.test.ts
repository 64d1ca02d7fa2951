import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { common, modelHost } from '@memorize/contracts';
import { callUnary, connect, status } from '@memorize/service-kit';
import { DEMO_DOCUMENT_SETS, DEMO_OUTSIDE_TEXTS } from '@memorize/memory';
import { maxAbsDiff, relDiff, runPython, startServiceProcess, testingPython, storiesHf, type ServiceProcess } from '@memorize/testing';

/**
 * The full-parameter job kind over real gRPC (issue 12, part 5): model-host as its own process, TrainStep with
 * model_id training every weight of stories260K, SaveModel writing an HF folder (with the optimizer state) inside
 * the model root, LoadModel of that folder restoring the optimizer so the next steps continue exactly as the
 * uninterrupted model does; the statuses of the bad cases name the proto field.
 */

// The model root is a temp folder holding a copy of stories260K's HF folder: SaveModel writes beside it.
const root = mkdtempSync(join(tmpdir(), 'memorize-full-model-'));
let host: ServiceProcess;
let client: InstanceType<typeof modelHost.ModelHostClient>;
let rows: { ids: number[] }[];

const call = <Req, Res>(method: (req: Req, cb: (e: ServiceError | null, r: Res) => void) => unknown, request: Req, ms = 60_000) =>
  callUnary(client, method as never, request as never, ms) as Promise<Res>;
const step = (modelId: string, learningRate = 3e-3, dryRun = false) =>
  call<modelHost.TrainStepRequest, modelHost.TrainStepResponse>(
    client.trainStep,
    modelHost.TrainStepRequest.fromPartial({ modelId, rows, learningRate, dryRun }),
  );
const info = async (modelId: string) =>
  (await call<modelHost.GetModelInfoRequest, modelHost.GetModelInfoResponse>(client.getModelInfo, { modelId })).model!;
const save = (request: Partial<modelHost.SaveModelRequest>) =>
  call<modelHost.SaveModelRequest, modelHost.SaveModelResponse>(client.saveModel, modelHost.SaveModelRequest.fromPartial(request));
const load = (request: Partial<modelHost.LoadModelRequest>) =>
  call<modelHost.LoadModelRequest, modelHost.LoadModelResponse>(client.loadModel, modelHost.LoadModelRequest.fromPartial(request));

async function refused(promise: Promise<unknown>, code: number, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: ServiceError) => {
    assert.equal(e.code, code, e.details);
    assert.match(e.details, pattern);
    return true;
  });
}

before(async () => {
  cpSync(storiesHf, join(root, 'base'), { recursive: true });
  mkdirSync(join(root, 'memories'));
  host = await startServiceProcess('model-host', {
    MEMORIZE_MODEL_HOST_MODEL_ROOT: root,
    MEMORIZE_MODEL_HOST_MEMORY_ROOT: join(root, 'memories'),
  });
  client = connect(modelHost.ModelHostClient, host.address);
  await load({ path: 'base', modelId: 'base' });
  const texts = [...DEMO_DOCUMENT_SETS.a];
  const tokenized = await call<modelHost.TokenizeRequest, modelHost.TokenizeResponse>(client.tokenize, { modelId: 'base', texts, addBos: true });
  rows = tokenized.rows.map((r) => ({ ids: r.ids }));
});

after(async () => {
  client?.close();
  rmSync(root, { recursive: true, force: true });
  assert.equal(await host.stop(), 0);
});

test('full-parameter TrainStep, SaveModel with the optimizer, LoadModel restoring it: the same losses as the uninterrupted model', async () => {
  const t0 = performance.now();
  const pristine = (await info('base')).fingerprint;
  const before = await step('base', 0, true);
  assert.equal(before.step, 0n);
  const losses: number[] = [];
  for (let s = 0; s < 40; s++) losses.push((await step('base')).loss);
  const trained = await step('base', 0, true);
  assert.equal(trained.step, 40n);
  process.stderr.write(`# full-parameter steps on stories260K: loss ${before.loss.toFixed(3)} -> ${trained.loss.toFixed(3)} in 40 steps\n`);
  assert.ok(trained.loss < 0.8 * before.loss, `loss ${before.loss} -> ${trained.loss}`);
  const trainedInfo = await info('base');
  assert.notEqual(trainedInfo.fingerprint, pristine, 'ModelInfo must not claim the pristine checkpoint after training');

  const saved = await save({ modelId: 'base', path: 'trained', includeOptimizer: true });
  assert.equal(saved.path, 'trained');
  assert.equal(saved.fingerprint, trainedInfo.fingerprint);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'optimizer.safetensors', 'memorize.json']) {
    assert.ok(existsSync(join(root, 'trained', f)), f);
  }
  assert.equal((JSON.parse(readFileSync(join(root, 'trained', 'config.json'), 'utf8')) as { model_type: string }).model_type, 'llama');
  assert.ok(saved.bytes > 1_000_000n, `${saved.bytes} bytes`);
  // The independent PyTorch forward (HF modeling_llama semantics) on the written folder: the continuation's
  // log-probability the host's Score gives.
  const outside = await call<modelHost.TokenizeRequest, modelHost.TokenizeResponse>(client.tokenize, {
    modelId: 'base',
    texts: [DEMO_OUTSIDE_TEXTS[0]],
    addBos: true,
  });
  const ids = outside.rows[0].ids.slice(0, 14);
  const [cut, end] = [8, 14];
  const scored = await call<modelHost.ScoreRequest, modelHost.ScoreResponse>(
    client.score,
    modelHost.ScoreRequest.fromPartial({ modelId: 'base', items: [{ context: ids.slice(0, cut), continuation: ids.slice(cut, end) }] }),
  );
  const torch = JSON.parse(runPython(join(testingPython, 'torch_llama.py'), [join(root, 'trained'), ids.join(',')])) as { logits: number[][] };
  let logprob = 0;
  for (let p = cut - 1; p < end - 1; p++) {
    const row = torch.logits[p];
    const max = Math.max(...row);
    logprob += row[ids[p + 1]] - max - Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
  }
  const torchDiff = Math.abs(logprob - scored.scores[0].logprob);
  process.stderr.write(
    `# SaveModel's folder in PyTorch: continuation log-prob ${logprob.toFixed(6)} vs Score ${scored.scores[0].logprob.toFixed(6)} (text outside the training rows)\n`,
  );
  assert.ok(torchDiff < 1e-3, `PyTorch ${logprob} vs Score ${scored.scores[0].logprob}`);

  const resumed = await load({ path: 'trained', modelId: 'resumed' });
  assert.equal(resumed.optimizerRestored, true);
  assert.equal(resumed.alreadyLoaded, false);
  assert.equal(resumed.model!.fingerprint, trainedInfo.fingerprint);
  const plain = await load({ path: 'trained', modelId: 'plain', skipOptimizer: true });
  assert.equal(plain.optimizerRestored, false);

  let worst = 0;
  for (let s = 0; s < 5; s++) {
    const [a, b] = [await step('base'), await step('resumed')];
    assert.equal(a.step, b.step);
    worst = Math.max(worst, relDiff(a.loss, b.loss));
  }
  process.stderr.write(`# resumed from SaveModel + LoadModel: max relative loss difference over 5 steps ${worst.toExponential(2)}\n`);
  assert.ok(worst <= 1e-6, `relative difference ${worst}`);
  assert.equal((await info('resumed')).fingerprint, (await info('base')).fingerprint);
  // Without its moments, the plain copy's first step differs from the restored one's.
  const fresh = await step('plain');
  assert.equal(fresh.step, 1n);
  process.stderr.write(`# full-model e2e: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
});

test('bad full-parameter requests: clear statuses naming the proto field', async () => {
  await save({ modelId: 'base', path: 'again' });
  await refused(save({ modelId: 'base', path: 'again' }), status.ALREADY_EXISTS, /path: again already exists \(set overwrite/);
  const replaced = await save({ modelId: 'base', path: 'again', overwrite: true });
  assert.equal(replaced.path, 'again');
  // The pristine checkpoint was not written by SaveModel: never replaced.
  await refused(
    save({ modelId: 'base', path: 'base', overwrite: true }),
    status.ALREADY_EXISTS,
    /base exists and is not a folder written by SaveModel/,
  );
  await refused(save({ modelId: 'base', path: '../outside' }), status.PERMISSION_DENIED, /path: \.\.\/outside is outside the root/);
  await refused(save({ modelId: 'nope', path: 'x' }), status.NOT_FOUND, /no model "nope" is loaded/);
  await load({ path: 'base', modelId: 'untrained' });
  await refused(save({ modelId: 'untrained', path: 'y', includeOptimizer: true }), status.INVALID_ARGUMENT, /include_optimizer/);
  await call(
    client.createMemory,
    modelHost.CreateMemoryRequest.fromPartial({
      modelId: 'untrained',
      memoryId: 'm',
      config: { kind: common.MemoryKind.MEMORY_KIND_MEMORY, layer: 2, entries: 16 },
    }),
  );
  await refused(step('untrained'), status.FAILED_PRECONDITION, /model_id.*memories attached \(m\)|memories attached \(m\)/);
  await call(client.deleteMemory, { memoryId: 'm' });
  assert.equal((await step('untrained')).step, 1n);
  await refused(
    call(client.trainStep, modelHost.TrainStepRequest.fromPartial({ modelId: 'untrained', memoryId: 'm', rows, learningRate: 1e-3 })),
    status.INVALID_ARGUMENT,
    /model_id|memory_id/,
  );
});

test('a Score running when a full-parameter TrainStep arrives sees one version of the weights, from its first row to its last', async () => {
  const items = Array.from({ length: 96 }, (_, i) => {
    const ids = rows[i % rows.length].ids;
    const cut = 6 + (i % 10);
    return modelHost.ScoreItem.fromPartial({ context: ids.slice(0, cut), continuation: ids.slice(cut, cut + 4) });
  });
  const score = async () =>
    (
      await call<modelHost.ScoreRequest, modelHost.ScoreResponse>(
        client.score,
        modelHost.ScoreRequest.fromPartial({ modelId: 'plain', items, batchSize: 4 }),
      )
    ).scores.map((s) => s.logprob);
  const before = await score();
  // Score first (many slices), the step right behind it: the step waits for the Score's read lock.
  // The step comes from another client, so round-robin would run it between two of the Score's slices.
  const scoring = score();
  const other = new Metadata();
  other.set('client', 'trainer');
  const stepping = callUnary(
    client,
    client.trainStep,
    modelHost.TrainStepRequest.fromPartial({ modelId: 'plain', rows, learningRate: 1e-2 }),
    60_000,
    other,
  );
  const [during, stepped] = await Promise.all([scoring, stepping]);
  const afterStep = await score();
  // Rows batch differently when slices interleave with other work, so scores agree to float rounding only.
  const [same, moved] = [maxAbsDiff(during, before), maxAbsDiff(afterStep, before)];
  process.stderr.write(`# Score during the step vs before: max |diff| ${same.toExponential(2)}; after the step: ${moved.toExponential(2)}\n`);
  assert.ok(same < 1e-4, `the Score saw the step: ${same}`);
  assert.ok(stepped.step > 0n);
  assert.ok(moved > 1e-2, `the step changed nothing: ${moved}`);
});
