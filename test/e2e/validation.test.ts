// Validation at the edge (libs/validation wired into every handler): model configurations refused before any
// allocation, corpus settings that leave nothing to evaluate, Trainer and Evaluator requests checked before
// UNIMPLEMENTED — each service a separate process with its roots in temp folders, driven over real gRPC.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { common, data, evaluator, modelHost, serviceNames, trainer } from '@memorize/contracts';
import { callStream, callUnary, checkHealth, connect, status } from '@memorize/service-kit';
import { feverFiles, pythonReflect, startServiceProcess, storiesBin, storiesHf, storiesTok, type ServiceProcess } from '@memorize/testing';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'memorize-validation-')));
const modelRoot = join(base, 'models');
const dataRoot = join(base, 'data');
const hfConfig = JSON.parse(readFileSync(join(storiesHf, 'config.json'), 'utf8')) as Record<string, unknown>;

let host: ServiceProcess;
let dataService: ServiceProcess;
let trainerService: ServiceProcess;
let evaluatorService: ServiceProcess;
let client: InstanceType<typeof modelHost.ModelHostClient>;
let dataClient: InstanceType<typeof data.DataServiceClient>;

/** An HF folder in the model root whose config.json overrides `fields` (no weights: they must never be read). */
function hfFolder(name: string, fields: Record<string, unknown>): string {
  mkdirSync(join(modelRoot, name), { recursive: true });
  writeFileSync(join(modelRoot, name, 'config.json'), JSON.stringify({ ...hfConfig, ...fields }));
  return name;
}

const field = (e: ServiceError): string | undefined => e.metadata.get('memorize-field')[0] as string | undefined;

before(async () => {
  for (const dir of [modelRoot, dataRoot]) mkdirSync(dir, { recursive: true });
  copyFileSync(storiesBin, join(modelRoot, 'stories260K.bin'));
  copyFileSync(storiesTok, join(modelRoot, 'tok512.bin'));
  // One page with three claims: the default pool of 5 per page leaves nothing to evaluate.
  const page = readFileSync(feverFiles.pages, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('{"id": "Pocahontas"'))!;
  writeFileSync(join(dataRoot, 'pages.jsonl'), `${page}\n`);
  const ids = [1, 2, 3];
  writeFileSync(
    join(dataRoot, 'claims.jsonl'),
    ids
      .map((id) =>
        JSON.stringify({ id, verifiable: 'VERIFIABLE', label: 'SUPPORTS', claim: `Pocahontas claim ${id}.`, evidence: [[[0, 0, 'Pocahontas', 0]]] }),
      )
      .join('\n') + '\n',
  );
  writeFileSync(
    join(dataRoot, 'assignment.jsonl'),
    ids.map((id) => JSON.stringify({ id, split: 'paper_test', page: 'Pocahontas', rule: 'evidence' })).join('\n') + '\n',
  );
  [host, dataService, trainerService, evaluatorService] = await Promise.all([
    startServiceProcess('model-host', { MEMORIZE_MODEL_HOST_MODEL_ROOT: modelRoot, MEMORIZE_MODEL_HOST_MEMORY_ROOT: join(base, 'memories') }),
    startServiceProcess('data', { MEMORIZE_DATA_DATA_ROOT: dataRoot }),
    startServiceProcess('trainer', {}),
    startServiceProcess('evaluator', {}),
  ]);
  client = connect(modelHost.ModelHostClient, host.address);
  dataClient = connect(data.DataServiceClient, dataService.address);
});

after(async () => {
  client?.close();
  dataClient?.close();
  const codes = await Promise.all([host, dataService, trainerService, evaluatorService].map((p) => p?.stop()));
  assert.deepEqual(codes, [0, 0, 0, 0]);
  rmSync(base, { recursive: true, force: true });
});

test('a config.json with max_position_embeddings 2e7 or 1e9 is INVALID_ARGUMENT naming the field and the file, before any allocation', async () => {
  for (const value of [2e7, 1e9]) {
    const folder = hfFolder(`ctx-${value}`, { max_position_embeddings: value });
    await assert.rejects(
      callUnary(client, client.loadModel, modelHost.LoadModelRequest.fromPartial({ path: folder }), 10_000),
      (e: ServiceError) =>
        e.code === status.INVALID_ARGUMENT &&
        e.details.includes(`${folder}/config.json: max_position_embeddings must be an integer in 1..1048576, got ${value}`) &&
        !e.details.includes(base) &&
        field(e) === 'path',
    );
  }
  assert.equal(await checkHealth(host.address), 'SERVING');
});

test('a config.json whose weights would not fit in free memory is RESOURCE_EXHAUSTED', async () => {
  const folder = hfFolder('huge', { hidden_size: 65536, intermediate_size: 262144, vocab_size: 1 << 20, num_hidden_layers: 1024, head_dim: 64 });
  await assert.rejects(
    callUnary(client, client.loadModel, modelHost.LoadModelRequest.fromPartial({ path: folder }), 10_000),
    (e: ServiceError) => e.code === status.RESOURCE_EXHAUSTED && /the model needs .* more than the .* available/.test(e.details),
  );
});

test('LoadCorpus with a pool that leaves no claim to evaluate is INVALID_ARGUMENT naming pool_per_page; a smaller pool loads', async () => {
  const request = data.LoadCorpusRequest.fromPartial({ claimsPath: 'claims.jsonl', pagesPath: 'pages.jsonl', assignmentPath: 'assignment.jsonl' });
  await assert.rejects(
    callUnary(dataClient, dataClient.loadCorpus, request, 30_000),
    (e: ServiceError) => e.code === status.INVALID_ARGUMENT && field(e) === 'pool_per_page' && /leaves 0 claims to evaluate/.test(e.details),
  );
  const loaded = await callUnary(dataClient, dataClient.loadCorpus, { ...request, poolPerPage: 1 }, 30_000);
  assert.equal(loaded.corpus!.stats!.eval, 2);
  assert.equal((await callUnary(dataClient, dataClient.listCorpora, {}, 5_000)).corpora.length, 1);
});

test('Trainer and Evaluator check requests first: bad input INVALID_ARGUMENT naming the field, unknown ids NOT_FOUND (no store yet)', async () => {
  const t = connect(trainer.TrainerClient, trainerService.address);
  const e = connect(evaluator.EvaluatorClient, evaluatorService.address);
  try {
    await assert.rejects(
      callUnary(t, t.listRuns, { state: 0, limit: 5000 }, 5_000),
      (err: ServiceError) => err.code === status.INVALID_ARGUMENT && field(err) === 'limit',
    );
    await assert.rejects(
      callUnary(t, t.getRun, { runId: '../x' }, 5_000),
      (err: ServiceError) => err.code === status.INVALID_ARGUMENT && field(err) === 'run_id',
    );
    await assert.rejects(
      callUnary(t, t.getRun, { runId: 'r1' }, 5_000),
      (err: ServiceError) =>
        err.code === status.NOT_FOUND && err.details.includes('no run "r1"') && err.metadata.get('memorize-field')[0] === 'run_id',
    );
    assert.deepEqual((await callUnary(t, t.listRuns, { state: 0, limit: 5 }, 5_000)).runs, []);
    await assert.rejects(
      callUnary(e, e.listEvaluations, { limit: -1 }, 5_000),
      (err: ServiceError) => err.code === status.INVALID_ARGUMENT && field(err) === 'limit',
    );
    await assert.rejects(
      callUnary(e, e.getSweep, { sweepId: 's1' }, 5_000),
      (err: ServiceError) =>
        err.code === status.NOT_FOUND && err.details.includes('no sweep "s1"') && err.metadata.get('memorize-field')[0] === 'sweep_id',
    );
  } finally {
    t.close();
    e.close();
  }
});

const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = (1n << 32n) - 1n;

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const m of stream) out.push(m);
  return out;
}

test('64-bit fields: a seed of 2^64-1 is taken modulo 2^32 and a claim id of 2^53+1 is answered exactly (grpc-js and the Python client)', async () => {
  const request = data.LoadCorpusRequest.fromPartial({
    claimsPath: 'claims.jsonl',
    pagesPath: 'pages.jsonl',
    assignmentPath: 'assignment.jsonl',
    poolPerPage: 1,
  });
  const small = await callUnary(dataClient, dataClient.loadCorpus, { ...request, seed: U32_MAX }, 30_000);
  const big = await callUnary(dataClient, dataClient.loadCorpus, { ...request, seed: U64_MAX }, 30_000);
  assert.equal(big.corpus!.corpusId, small.corpus!.corpusId, 'seed 2^64-1 is the corpus of seed 2^32-1');
  assert.equal(big.cached, true);
  const corpusId = big.corpus!.corpusId;
  await assert.rejects(
    callUnary(dataClient, dataClient.getPrompt, { corpusId, claimId: (1n << 53n) + 1n, shots: 1 }, 5_000),
    (e: ServiceError) => e.code === status.NOT_FOUND && /claim 9007199254740993 is not in corpus/.test(e.details),
  );
  const claims = await collect(callStream(dataClient, dataClient.streamClaims, { corpusId, split: 0 }, 5_000));
  assert.deepEqual(claims.map((c) => c.claim!.id).sort(), [1n, 2n, 3n]);

  // The independent client sends the 64-bit values as JSON strings, encoded by Python's protobuf.
  const loaded = pythonReflect(dataService.address, {
    method: `${serviceNames.data}/LoadCorpus`,
    body: { claims_path: 'claims.jsonl', pages_path: 'pages.jsonl', assignment_path: 'assignment.jsonl', pool_per_page: 1, seed: String(U64_MAX) },
  });
  assert.equal(loaded.call?.code, 'OK');
  assert.equal((loaded.call?.response as { corpus: { corpusId: string } }).corpus.corpusId, corpusId);
  const prompt = pythonReflect(dataService.address, {
    method: `${serviceNames.data}/GetPrompt`,
    body: { corpus_id: corpusId, claim_id: String((1n << 53n) + 1n) },
  });
  assert.equal(prompt.call?.code, 'NOT_FOUND');
  assert.match(prompt.call?.details ?? '', /claim 9007199254740993 /);
  const negative = pythonReflect(dataService.address, { method: `${serviceNames.data}/GetPrompt`, body: { corpus_id: corpusId, claim_id: '-1' } });
  assert.equal(negative.call?.code, 'INVALID_ARGUMENT');
  assert.match(negative.call?.details ?? '', /claim_id must be an integer in 0\.\.2\^63-1, got -1/);

  // ModelHost: Generate and CreateMemory take 2^64-1 as 2^32-1.
  await callUnary(
    client,
    client.loadModel,
    { path: 'stories260K.bin', tokenizerPath: 'tok512.bin', modelId: 'stories', skipOptimizer: false },
    60_000,
  );
  const sample = async (seed: bigint): Promise<number[]> => {
    const msgs = await collect(
      callStream(
        client,
        client.generate,
        modelHost.GenerateRequest.fromPartial({ modelId: 'stories', prompt: 'Once upon a time', maxNewTokens: 12, temperature: 1, seed }),
        30_000,
      ),
    );
    return msgs.map((m) => m.id);
  };
  assert.deepEqual(await sample(U64_MAX), await sample(U32_MAX));
  const memory = await callUnary(
    client,
    client.createMemory,
    modelHost.CreateMemoryRequest.fromPartial({
      modelId: 'stories',
      memoryId: 'big-seed',
      config: { kind: common.MemoryKind.MEMORY_KIND_MEMORY, layer: 2, entries: 8, seed: U64_MAX },
    }),
    30_000,
  );
  assert.equal(memory.memory!.config!.seed, U32_MAX);
  const viaPython = pythonReflect(host.address, {
    method: `${serviceNames.modelHost}/Generate`,
    body: { model_id: 'stories', prompt: 'Once upon a time', max_new_tokens: 12, temperature: 1, seed: String(U64_MAX) },
  });
  assert.equal(viaPython.call?.code, 'OK');
  assert.deepEqual(
    (viaPython.call?.responses as { id?: number }[]).map((r) => r.id ?? 0),
    await sample(U32_MAX),
  );
  assert.equal(await checkHealth(host.address), 'SERVING');
  assert.equal(await checkHealth(dataService.address), 'SERVING');
});
