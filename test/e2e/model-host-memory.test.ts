import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { common, modelHost } from '@memorize/contracts';
import { callUnary, checkHealth, connect, status } from '@memorize/service-kit';
import { sharedRootsEnv, startServiceProcess, storiesDir, type ServiceProcess } from '@memorize/testing';

const stories = `${storiesDir}/`;
const texts = [
  'The blue whale named Oskar sang to the lighthouse every Tuesday.',
  'Marta the baker hid seven silver spoons under the red bridge.',
  'In the village of Pell, the clocks ran backwards on rainy days.',
];

let host: ServiceProcess;
let client: InstanceType<typeof modelHost.ModelHostClient>;
let documents: Array<{ documentIndex: number; ids: number[] }>;
const dir = mkdtempSync(join(tmpdir(), 'memorize-host-mem-'));

before(async () => {
  host = await startServiceProcess('model-host', sharedRootsEnv(dir));
  client = connect(modelHost.ModelHostClient, host.address);
  await callUnary(client, client.loadModel, modelHost.LoadModelRequest.fromPartial({ path: `${stories}stories260K.bin`, modelId: 'bin' }), 60_000);
  await callUnary(client, client.loadModel, modelHost.LoadModelRequest.fromPartial({ path: `${stories}hf`, modelId: 'hf' }), 60_000);
  const tokens = await callUnary(client, client.tokenize, { modelId: 'bin', texts, addBos: true }, 10_000);
  documents = tokens.rows.map((r, i) => ({ documentIndex: i, ids: r.ids }));
});

after(async () => {
  client?.close();
  rmSync(dir, { recursive: true, force: true });
  assert.equal(await host.stop(), 0);
});

const rows = () => documents.map((d) => ({ ids: d.ids, documentIndex: d.documentIndex }));
const loss = async (memoryId: string, maskSource = common.MaskSource.MASK_SOURCE_UNSPECIFIED) =>
  (
    await callUnary(
      client,
      client.documentLoss,
      modelHost.DocumentLossRequest.fromPartial({ modelId: 'bin', rows: rows(), memory: { memoryId, maskSource } }),
      30_000,
    )
  ).loss;

test('a memory created, trained by TrainStep, saved and loaded again gives the same document loss', async () => {
  const created = await callUnary(
    client,
    client.createMemory,
    modelHost.CreateMemoryRequest.fromPartial({
      modelId: 'bin',
      memoryId: 'simset',
      config: { kind: common.MemoryKind.MEMORY_KIND_SIMSET, layer: 3, entries: 32, shingleK: 2, seed: 1n },
      documents,
    }),
    30_000,
  );
  assert.equal(created.memory!.documents, 3);
  assert.equal(created.memory!.config!.entries, 32);
  assert.equal(created.memory!.config!.layerNorm, true, 'defaults filled in');
  const base = await loss('');
  let last = Infinity;
  for (let step = 0; step < 30; step++) {
    const r = await callUnary(
      client,
      client.trainStep,
      modelHost.TrainStepRequest.fromPartial({ memoryId: 'simset', rows: rows(), learningRate: 1e-2 }),
      30_000,
    );
    assert.equal(r.step, BigInt(step + 1));
    assert.ok(Number.isFinite(r.gradNorm) && r.gradNorm > 0);
    last = r.loss;
  }
  const trained = await loss('simset');
  assert.ok(trained < base * 0.8, `trained ${trained} vs base ${base} (last step loss ${last})`);
  const path = join(dir, 'simset.safetensors');
  const saved = await callUnary(client, client.saveMemory, { memoryId: 'simset', path, includeOptimizer: true, overwrite: false }, 30_000);
  assert.equal(saved.bytes, BigInt(statSync(path).size));
  assert.ok(statSync(`${path}.optim.safetensors`).size > 0);
  const loaded = await callUnary(
    client,
    client.loadMemory,
    { modelId: 'bin', path, memoryId: 'simset-copy', replace: false, skipOptimizer: false },
    30_000,
  );
  assert.equal(loaded.memory!.documents, 3);
  assert.ok(Math.abs((await loss('simset-copy')) - trained) < 1e-5);
  const got = await callUnary(client, client.getMemory, { memoryId: 'simset-copy', includeEntrySets: true }, 10_000);
  assert.equal(got.entrySets.length, 3);
  const listed = await callUnary(client, client.listMemories, { modelId: 'bin' }, 10_000);
  assert.deepEqual(listed.memories.map((m) => m.memoryId).sort(), ['simset', 'simset-copy']);
  await callUnary(client, client.deleteMemory, { memoryId: 'simset-copy' }, 10_000);
  await assert.rejects(
    callUnary(client, client.getMemory, { memoryId: 'simset-copy', includeEntrySets: false }, 10_000),
    (e: ServiceError) => e.code === status.NOT_FOUND,
  );
});

test('scores change with the memory selected per request and not without it', async () => {
  const item = { context: documents[0].ids.slice(0, 6), continuation: documents[0].ids.slice(6), documentIndex: 0 };
  const plain = await callUnary(client, client.score, modelHost.ScoreRequest.fromPartial({ modelId: 'bin', items: [item] }), 30_000);
  const plainAgain = await callUnary(
    client,
    client.score,
    modelHost.ScoreRequest.fromPartial({ modelId: 'bin', items: [item], memory: { memoryId: '' } }),
    30_000,
  );
  const withMemory = await callUnary(
    client,
    client.score,
    modelHost.ScoreRequest.fromPartial({
      modelId: 'bin',
      items: [item],
      memory: { memoryId: 'simset', maskSource: common.MaskSource.MASK_SOURCE_ORACLE },
    }),
    30_000,
  );
  assert.equal(plain.scores[0].logprob, plainAgain.scores[0].logprob);
  assert.ok(withMemory.scores[0].logprob > plain.scores[0].logprob, 'the memorized continuation got likelier');
});

test('TrainStep with the anchor term trains an unstructured memory against KL to the base model on its own samples', async () => {
  await callUnary(
    client,
    client.createMemory,
    modelHost.CreateMemoryRequest.fromPartial({
      modelId: 'bin',
      memoryId: 'anchored',
      config: { kind: common.MemoryKind.MEMORY_KIND_MEMORY, layer: 3, entries: 32, layerNorm: false, gateInit: 0, upBiasInit: -1.5, seed: 2n },
    }),
    30_000,
  );
  const step = (anchorKlWeight: number) =>
    callUnary(
      client,
      client.trainStep,
      modelHost.TrainStepRequest.fromPartial({
        memoryId: 'anchored',
        rows: rows(),
        learningRate: 1e-2,
        anchorKlWeight,
        anchorSamples: 4,
        anchorSampleTokens: 8,
      }),
      60_000,
    );
  const first = await step(4);
  assert.equal(first.step, 1n);
  // The gate starts at 0, so the memory is silent: no anchor KL yet, the loss is the LM loss.
  assert.ok(Math.abs(first.loss - first.lmLoss) < 1e-6);
  let last = first;
  for (let i = 0; i < 5; i++) last = await step(4);
  assert.ok(last.loss > last.lmLoss, `the anchor term counts once the memory speaks (loss ${last.loss}, lm ${last.lmLoss})`);
  await assert.rejects(step(-1), (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /anchor_kl_weight/.test(e.details));
  await callUnary(client, client.deleteMemory, { memoryId: 'anchored' }, 10_000);
});

test('memory errors: bad config, duplicate name, another base model, unknown memory', async () => {
  await assert.rejects(
    callUnary(
      client,
      client.createMemory,
      modelHost.CreateMemoryRequest.fromPartial({ modelId: 'bin', memoryId: 'x', config: { kind: 0, layer: 3 } }),
      10_000,
    ),
    (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /config\.kind/.test(e.details),
  );
  await assert.rejects(
    callUnary(
      client,
      client.createMemory,
      modelHost.CreateMemoryRequest.fromPartial({ modelId: 'bin', memoryId: 'x', config: { kind: common.MemoryKind.MEMORY_KIND_MEMORY, layer: 9 } }),
      10_000,
    ),
    (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /layer/.test(e.details),
  );
  await assert.rejects(
    callUnary(
      client,
      client.createMemory,
      modelHost.CreateMemoryRequest.fromPartial({
        modelId: 'bin',
        memoryId: 'simset',
        config: { kind: common.MemoryKind.MEMORY_KIND_MEMORY, layer: 3 },
      }),
      10_000,
    ),
    (e: ServiceError) => e.code === status.ALREADY_EXISTS,
  );
  await assert.rejects(
    callUnary(
      client,
      client.createMemory,
      modelHost.CreateMemoryRequest.fromPartial({
        modelId: 'bin',
        memoryId: 'y',
        config: { kind: common.MemoryKind.MEMORY_KIND_DLP, layer: 3 },
        documents: [{ documentIndex: 1, ids: [1, 2] }],
      }),
      10_000,
    ),
    (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /documents/.test(e.details),
  );
  await assert.rejects(
    callUnary(
      client,
      client.loadMemory,
      { modelId: 'hf', path: join(dir, 'simset.safetensors'), memoryId: 'z', replace: false, skipOptimizer: false },
      10_000,
    ),
    (e: ServiceError) => e.code === status.FAILED_PRECONDITION && /base model/.test(e.details),
  );
  await assert.rejects(
    callUnary(
      client,
      client.score,
      modelHost.ScoreRequest.fromPartial({
        modelId: 'hf',
        items: [{ context: [1], continuation: [2], documentIndex: -1 }],
        memory: { memoryId: 'simset' },
      }),
      10_000,
    ),
    (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /belongs to model "bin"/.test(e.details),
  );
  await assert.rejects(
    callUnary(client, client.trainStep, modelHost.TrainStepRequest.fromPartial({ memoryId: 'nope', rows: rows(), learningRate: 1e-3 }), 10_000),
    (e: ServiceError) => e.code === status.NOT_FOUND,
  );
  const unloaded = await callUnary(client, client.unloadModel, { modelId: 'bin' }, 10_000);
  assert.deepEqual(unloaded.deletedMemories, ['simset']);
  assert.equal(await checkHealth(host.address), 'SERVING');
});
