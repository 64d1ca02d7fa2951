import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { data, protoFiles, protoRoot, serviceNames } from '@memorize/contracts';
import { InvalidArgumentError } from '@memorize/errors';
import {
  callStream,
  callUnary,
  checkHealth,
  connect,
  createLogger,
  loadServiceConfig,
  startService,
  status,
  type Implementation,
} from '@memorize/service-kit';

type Definition = typeof data.DataServiceService;

function logSink(): { stream: Writable; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { stream, lines };
}

async function start(implementation: Implementation<Definition>, overrides: Record<string, string> = {}) {
  const sink = logSink();
  const config = loadServiceConfig('data', { port: 0, ...overrides }, {});
  const running = await startService({
    config,
    services: [{ serviceName: serviceNames.data, definition: data.DataServiceService, implementation, protoFile: protoFiles.data }],
    protoRoot,
    logger: createLogger('data', 'info', sink.stream),
    handleSignals: false,
  });
  const client = connect(data.DataServiceClient, running.address);
  return { running, client, logs: sink.lines };
}

const corpus = (id: string) => ({ corpus: { corpusId: id, options: undefined, stats: undefined } });

test('unary calls answer, domain errors map to statuses, one log line per RPC', async () => {
  const { running, client, logs } = await start({
    async getCorpus(request) {
      if (request.corpusId === '') throw new InvalidArgumentError('corpus_id is required', 'corpus_id');
      return corpus(request.corpusId);
    },
  });
  try {
    const ok = await callUnary(client, client.getCorpus, { corpusId: 'abc' }, 5_000);
    assert.equal(ok.corpus?.corpusId, 'abc');
    await assert.rejects(
      callUnary(client, client.getCorpus, { corpusId: '' }, 5_000),
      (e: ServiceError) => e.code === status.INVALID_ARGUMENT && /corpus_id is required/.test(e.details),
    );
    await assert.rejects(
      callUnary(client, client.listCorpora, {}, 5_000),
      (e: ServiceError) => e.code === status.UNIMPLEMENTED && /ListCorpora is not implemented yet/.test(e.details),
    );
    const rpcLines = logs.filter((l) => l.msg === 'rpc');
    assert.equal(rpcLines.length, 3);
    assert.deepEqual(
      rpcLines.map((l) => l.code),
      ['OK', 'INVALID_ARGUMENT', 'UNIMPLEMENTED'],
    );
    for (const line of rpcLines) {
      assert.match(String(line.method), /^\/memorize\.v1\.DataService\//);
      assert.equal(typeof line.durationMs, 'number');
      assert.match(String(line.peer), /127\.0\.0\.1/);
    }
  } finally {
    client.close();
    await running.shutdown();
  }
});

test('server streaming delivers every message; a client deadline aborts the handler', async () => {
  let aborted = false;
  const { running, client } = await start({
    async streamClaims(request, send, ctx) {
      if (request.corpusId === 'slow') {
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            resolve();
          }),
        );
        return;
      }
      for (let i = 0; i < 50; i++) await send({ claim: { id: BigInt(i), text: `claim ${i}`, label: 1, documentIndex: 0, split: 0 } });
    },
  });
  try {
    const ids: bigint[] = [];
    for await (const message of callStream(client, client.streamClaims, { corpusId: 'c', split: 0 }, 5_000)) ids.push(message.claim!.id);
    assert.deepEqual(
      ids,
      Array.from({ length: 50 }, (_, i) => BigInt(i)),
    );
    await assert.rejects(
      (async () => {
        for await (const _ of callStream(client, client.streamClaims, { corpusId: 'slow', split: 0 }, 300)) void _;
      })(),
      (e: ServiceError) => e.code === status.DEADLINE_EXCEEDED,
    );
    for (let i = 0; i < 50 && !aborted; i++) await sleep(20);
    assert.equal(aborted, true, 'the handler saw the deadline as an abort');
  } finally {
    client.close();
    await running.shutdown();
  }
});

test('graceful shutdown lets an in-flight call finish and refuses new ones', async () => {
  let started!: () => void;
  const inHandler = new Promise<void>((r) => (started = r));
  const { running, client } = await start({
    async getCorpus(request) {
      started();
      await sleep(400);
      return corpus(request.corpusId);
    },
  });
  const inFlight = callUnary(client, client.getCorpus, { corpusId: 'slow' }, 5_000);
  await inHandler;
  assert.equal(running.inFlight(), 1);
  const order: string[] = [];
  const stopped = running.shutdown('test').then(() => order.push('stopped'));
  const late = connect(data.DataServiceClient, running.address);
  await assert.rejects(callUnary(late, late.getCorpus, { corpusId: 'late' }, 2_000), (e: ServiceError) => e.code === status.UNAVAILABLE);
  const answer = await inFlight.then((a) => (order.push('answered'), a));
  assert.equal(answer.corpus?.corpusId, 'slow');
  await stopped;
  assert.deepEqual(order, ['answered', 'stopped'], 'shutdown waited for the call in flight');
  late.close();
  client.close();
});

test('shutdown cancels calls still running when the grace period ends', async () => {
  let sawAbort = false;
  const { running, client } = await start(
    {
      async getCorpus(_request, ctx) {
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true;
            resolve();
          }),
        );
        throw ctx.signal.reason;
      },
    },
    { shutdownGraceMs: '200' },
  );
  const call = callUnary(client, client.getCorpus, { corpusId: 'forever' }, 10_000).then(
    () => 'ok',
    (e: ServiceError) => e.code,
  );
  for (let i = 0; i < 100 && running.inFlight() === 0; i++) await sleep(10);
  assert.equal(running.inFlight(), 1);
  // Resolves only because the grace period ends: the handler never returns on its own.
  await running.shutdown('test');
  assert.equal(sawAbort, true);
  assert.notEqual(await call, 'ok');
  client.close();
});

test('health: SERVING once bound, NOT_SERVING when set, Watch sees the transition; unknown services are reported', async () => {
  const { running, client } = await start({});
  try {
    assert.equal(await checkHealth(running.address, ''), 'SERVING');
    assert.equal(await checkHealth(running.address, serviceNames.data), 'SERVING');
    await assert.rejects(checkHealth(running.address, 'memorize.v1.Nope'), (e: ServiceError) => e.code === status.NOT_FOUND);

    const pkg = loadPackageDefinition(loadSync(healthProtoPath, { keepCase: true, enums: String })) as unknown as {
      grpc: {
        health: {
          v1: {
            Health: new (
              a: string,
              c: ReturnType<typeof credentials.createInsecure>,
            ) => { watch(req: object, md: Metadata, opts: object): AsyncIterable<{ status: string }> & { cancel(): void }; close(): void };
          };
        };
      };
    };
    const health = new pkg.grpc.health.v1.Health(running.address, credentials.createInsecure());
    const watch = health.watch({ service: serviceNames.data }, new Metadata(), { deadline: Date.now() + 5_000 });
    const seen: string[] = [];
    for await (const update of watch) {
      seen.push(update.status);
      if (seen.length === 1) running.setServing('NOT_SERVING');
      if (seen.length === 2) break;
    }
    watch.cancel();
    health.close();
    assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
    assert.equal(await checkHealth(running.address, ''), 'NOT_SERVING');
  } finally {
    client.close();
    await running.shutdown();
  }
});

test('past the concurrency limit calls get RESOURCE_EXHAUSTED', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { running, client } = await start(
    {
      async getCorpus(request) {
        await gate;
        return corpus(request.corpusId);
      },
    },
    { maxConcurrentCalls: '1' },
  );
  try {
    const first = callUnary(client, client.getCorpus, { corpusId: 'a' }, 5_000);
    for (let i = 0; i < 100 && running.inFlight() === 0; i++) await sleep(10);
    await assert.rejects(callUnary(client, client.getCorpus, { corpusId: 'b' }, 5_000), (e: ServiceError) => e.code === status.RESOURCE_EXHAUSTED);
    release();
    assert.equal((await first).corpus?.corpusId, 'a');
  } finally {
    client.close();
    await running.shutdown();
  }
});

test('a port already in use is a clear startup error', async () => {
  const { running, client } = await start({});
  try {
    const config = loadServiceConfig('data', { port: running.port }, {});
    await assert.rejects(
      startService({ config, services: [], protoRoot, logger: createLogger('data', 'silent'), handleSignals: false }),
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${running.port}`),
    );
  } finally {
    client.close();
    await running.shutdown();
  }
});
