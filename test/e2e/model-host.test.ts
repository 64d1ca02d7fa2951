import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ServiceError } from '@grpc/grpc-js';
import { modelHost } from '@memorize/contracts';
import { callStream, callUnary, checkHealth, connect, status } from '@memorize/service-kit';
import { sharedRootsEnv, startServiceProcess, storiesDir, type ServiceProcess } from '@memorize/testing';

const stories = `${storiesDir}/`;
const golden = JSON.parse(readFileSync(`${stories}golden-public.json`, 'utf8')).generations[0] as {
  text: string;
  token_ids: number[];
  prompt_tokens_with_bos: number[];
};

let host: ServiceProcess;
let client: InstanceType<typeof modelHost.ModelHostClient>;
let modelId: string;

before(async () => {
  host = await startServiceProcess('model-host', sharedRootsEnv());
  client = connect(modelHost.ModelHostClient, host.address);
  const loaded = await callUnary(
    client,
    client.loadModel,
    { path: `${stories}stories260K.bin`, tokenizerPath: `${stories}tok512.bin`, modelId: 'stories', skipOptimizer: false },
    60_000,
  );
  modelId = loaded.model!.modelId;
});

after(async () => {
  client?.close();
  assert.equal(await host.stop(), 0);
});

test('LoadModel reports the architecture; loading again is idempotent; the HF folder has the same weights', async () => {
  const info = (await callUnary(client, client.getModelInfo, { modelId }, 10_000)).model!;
  assert.equal(info.architecture, 'llama');
  assert.equal(info.layers, 5);
  assert.equal(info.hiddenSize, 64);
  assert.equal(info.vocabSize, 512);
  assert.equal(info.kvHeads, 4);
  assert.match(info.fingerprint, /^[0-9a-f]{64}$/);
  const again = await callUnary(
    client,
    client.loadModel,
    { path: `${stories}stories260K.bin`, tokenizerPath: `${stories}tok512.bin`, modelId: 'stories', skipOptimizer: false },
    60_000,
  );
  assert.equal(again.alreadyLoaded, true);
  const hf = await callUnary(
    client,
    client.loadModel,
    modelHost.LoadModelRequest.fromPartial({ path: `${stories}hf`, modelId: 'stories-hf' }),
    60_000,
  );
  assert.equal(hf.model!.layers, 5);
  const listed = await callUnary(client, client.listModels, {}, 10_000);
  assert.deepEqual(listed.models.map((m) => m.modelId).sort(), ['stories', 'stories-hf']);
  await callUnary(client, client.unloadModel, { modelId: 'stories-hf' }, 10_000);
  assert.equal((await callUnary(client, client.listModels, {}, 10_000)).models.length, 1);
});

test('Tokenize and Generate (streamed, greedy) reproduce llama2.c', async () => {
  const tokens = await callUnary(client, client.tokenize, { modelId, texts: ['Once upon a time'], addBos: true }, 10_000);
  assert.deepEqual(tokens.rows[0].ids, golden.prompt_tokens_with_bos);
  const pieces: string[] = [];
  const ids: number[] = [];
  let finish = 0;
  for await (const m of callStream(
    client,
    client.generate,
    {
      modelId,
      prompt: 'Once upon a time',
      promptIds: [],
      maxNewTokens: 60,
      temperature: 0,
      topP: 1,
      seed: 0n,
      documentIndex: -1,
      stop: [],
      memory: undefined,
    },
    60_000,
  )) {
    if (m.id >= 0) ids.push(m.id);
    pieces.push(m.text);
    if (m.finishReason) finish = m.finishReason;
  }
  assert.deepEqual(ids, golden.token_ids.slice(5));
  assert.equal('Once upon a time' + pieces.join(''), golden.text);
  assert.equal(finish, modelHost.FinishReason.FINISH_REASON_LENGTH);
});

test('Detokenize inverts Tokenize, row by row, for many rows at once', async () => {
  const texts = Array.from({ length: 200 }, (_, i) => `Once upon a time, ${i} cats sat on ${i % 7} mats.`);
  const tokens = await callUnary(client, client.tokenize, { modelId, texts, addBos: false }, 30_000);
  const back = await callUnary(client, client.detokenize, { modelId, rows: tokens.rows.map((r) => ({ ids: r.ids, weights: [] })) }, 30_000);
  assert.deepEqual(back.texts, texts);
});

test('Generate stops at a stop string', async () => {
  let text = '';
  let finish = 0;
  for await (const m of callStream(
    client,
    client.generate,
    {
      modelId,
      prompt: 'Once upon a time',
      promptIds: [],
      maxNewTokens: 60,
      temperature: 0,
      topP: 1,
      seed: 0n,
      documentIndex: -1,
      stop: ['Lily'],
      memory: undefined,
    },
    60_000,
  )) {
    text += m.text;
    if (m.finishReason) finish = m.finishReason;
  }
  assert.equal(finish, modelHost.FinishReason.FINISH_REASON_STOP);
  assert.ok(text.endsWith('Lily'), text);
});

test('Score does not depend on the batch size; DocumentLoss is consistent with Score', async () => {
  const ids = golden.token_ids;
  const items = [
    { context: ids.slice(0, 5), continuation: ids.slice(5, 12), documentIndex: -1 },
    { context: ids.slice(0, 20), continuation: ids.slice(20, 22), documentIndex: -1 },
    { context: ids.slice(0, 2), continuation: ids.slice(2, 40), documentIndex: -1 },
  ];
  const one = await callUnary(client, client.score, { modelId, items, batchSize: 1, memory: undefined }, 30_000);
  const three = await callUnary(client, client.score, { modelId, items, batchSize: 3, memory: undefined }, 30_000);
  for (let i = 0; i < items.length; i++) {
    assert.ok(Math.abs(one.scores[i].logprob - three.scores[i].logprob) < 1e-4, `item ${i}`);
    assert.equal(one.scores[i].tokens, items[i].continuation.length);
  }
  // Greedy output is greedy under the model.
  assert.equal(one.scores[0].greedy, true);
  const loss = await callUnary(
    client,
    client.documentLoss,
    {
      modelId,
      rows: [
        { ids: ids.slice(0, 40), documentIndex: -1, weights: [] },
        { ids: ids.slice(0, 12), documentIndex: -1, weights: [] },
      ],
      batchSize: 2,
      memory: undefined,
    },
    30_000,
  );
  assert.deepEqual(loss.rowTokens, [39, 11]);
  // Row 0's loss over tokens 1..39 equals minus the mean logprob of items[2]'s continuation (tokens 2..39) plus token 1.
  const first = await callUnary(
    client,
    client.score,
    { modelId, items: [{ context: ids.slice(0, 1), continuation: ids.slice(1, 40), documentIndex: -1 }], batchSize: 1, memory: undefined },
    30_000,
  );
  assert.ok(Math.abs(loss.rowLoss[0] - -first.scores[0].logprob / 39) < 1e-4);
});

test('bad input gets INVALID_ARGUMENT or NOT_FOUND naming the field, and the service stays up', async () => {
  await assert.rejects(
    callUnary(client, client.getModelInfo, { modelId: 'nope' }, 10_000),
    (e: ServiceError) => e.code === status.NOT_FOUND && /nope/.test(e.details),
  );
  await assert.rejects(
    callUnary(
      client,
      client.score,
      { modelId, items: [{ context: [1, 9999], continuation: [5], documentIndex: -1 }], batchSize: 0, memory: undefined },
      10_000,
    ),
    (e: ServiceError) =>
      e.code === status.INVALID_ARGUMENT &&
      /items\[0\]\.context\[1\] must be a token id in \[0, 512\), got 9999/.test(e.details) &&
      e.metadata.get('memorize-field')[0] === 'items[0].context',
  );
  await assert.rejects(
    callUnary(client, client.loadModel, { path: 'models/no/such/model.bin', tokenizerPath: '', modelId: '', skipOptimizer: false }, 10_000),
    (e: ServiceError) => e.code === status.NOT_FOUND && /^path: /.test(e.details),
  );
  await assert.rejects(
    callUnary(
      client,
      client.loadModel,
      { path: `${stories}golden-public.json`, tokenizerPath: `${stories}tok512.bin`, modelId: 'bad', skipOptimizer: false },
      10_000,
    ),
    (e: ServiceError) => e.code === status.INVALID_ARGUMENT,
  );
  await assert.rejects(
    callUnary(
      client,
      client.score,
      { modelId, items: [{ context: [1], continuation: [2], documentIndex: -1 }], batchSize: 0, memory: { memoryId: 'm', maskSource: 0 } },
      10_000,
    ),
    (e: ServiceError) => e.code === status.NOT_FOUND && /memory/.test(e.details),
  );
  assert.equal(await checkHealth(host.address), 'SERVING');
});
