import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { common, modelHost } from '@memorize/contracts';
import { callUnary, checkHealth, connect, status } from '@memorize/service-kit';
import {
  jsonlPageTexts,
  feverFiles,
  healthDuring,
  sharedRootsEnv,
  startServiceProcess,
  storiesBin,
  storiesTok,
  type ServiceProcess,
} from '@memorize/testing';

/** model-host as a shared engine (issue 10): a bounded queue per model, slices, deadlines, consistent memories. */

const QUEUE_DEPTH = 8;
const dir = mkdtempSync(join(tmpdir(), 'memorize-engine-'));
let host: ServiceProcess;
let client: InstanceType<typeof modelHost.ModelHostClient>;
let pageRows: number[][];

/** Seconds of CPU the process has used (user + system), from /proc. */
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

const asClient = (name: string): Metadata => {
  const m = new Metadata();
  m.set('client', name);
  return m;
};

/** Score items: each page row cut into a context and a 4-token continuation. */
function items(count: number, offset = 0): modelHost.ScoreItem[] {
  return Array.from({ length: count }, (_, i) => {
    const ids = pageRows[(i + offset) % pageRows.length];
    const cut = 8 + ((i * 7) % Math.max(1, ids.length - 12));
    return modelHost.ScoreItem.fromPartial({ context: ids.slice(0, cut), continuation: ids.slice(cut, cut + 4) });
  });
}

interface ScoreInput {
  items: modelHost.ScoreItem[];
  batchSize?: number;
  memory?: { memoryId: string };
}
const score = (input: ScoreInput, deadlineMs = 120_000, metadata?: Metadata) =>
  callUnary(
    client,
    client.score,
    {
      modelId: 'stories',
      items: input.items,
      batchSize: input.batchSize ?? 0,
      memory: input.memory ? modelHost.MemorySelection.fromPartial(input.memory) : undefined,
    },
    deadlineMs,
    metadata,
  );

const trainRows = () => pageRows.slice(0, 4).map((ids, documentIndex) => ({ ids: ids.slice(0, 48), documentIndex }));

async function createMemory(memoryId: string): Promise<void> {
  await callUnary(
    client,
    client.createMemory,
    modelHost.CreateMemoryRequest.fromPartial({
      modelId: 'stories',
      memoryId,
      config: { kind: common.MemoryKind.MEMORY_KIND_MEMORY, layer: 2, entries: 64, seed: 3n },
    }),
    30_000,
  );
}

const trainStep = (memoryId: string, metadata?: Metadata) =>
  callUnary(client, client.trainStep, modelHost.TrainStepRequest.fromPartial({ memoryId, rows: trainRows(), learningRate: 1e-2 }), 60_000, metadata);

before(async () => {
  host = await startServiceProcess('model-host', { ...sharedRootsEnv(dir), MEMORIZE_MODEL_HOST_QUEUE_DEPTH: String(QUEUE_DEPTH) });
  client = connect(modelHost.ModelHostClient, host.address);
  await callUnary(
    client,
    client.loadModel,
    modelHost.LoadModelRequest.fromPartial({ path: storiesBin, tokenizerPath: storiesTok, modelId: 'stories' }),
    60_000,
  );
  const texts = jsonlPageTexts(feverFiles.pages)
    .slice(0, 40)
    .map((t) => t.slice(0, 400));
  pageRows = (await callUnary(client, client.tokenize, { modelId: 'stories', texts, addBos: true }, 30_000)).rows.map((r) => r.ids.slice(0, 96));
  await createMemory('m');
  for (let i = 0; i < 3; i++) await trainStep('m');
});

after(async () => {
  client?.close();
  rmSync(dir, { recursive: true, force: true });
  assert.equal(await host.stop(), 0);
});

test('40 concurrent Score calls against --queue-depth 8: the excess is refused at once, the rest match sequential scores, health SERVING', async () => {
  const calls = Array.from({ length: 40 }, (_, i) => items(24, i));
  const sequential: number[][] = [];
  for (const request of calls.slice(0, 12)) sequential.push((await score({ items: request })).scores.map((s) => s.logprob));
  const { result, worstMs, answered } = await healthDuring(host.address, () =>
    Promise.allSettled(calls.map((request, i) => score({ items: request }, 120_000, asClient(`c${i % 5}`)))),
  );
  const refused = result.filter((r) => r.status === 'rejected');
  const served = result.map((r, i) => ({ r, i })).filter(({ r }) => r.status === 'fulfilled');
  process.stderr.write(`# ${served.length} served, ${refused.length} refused; ${answered} health checks, slowest ${worstMs.toFixed(0)} ms\n`);
  assert.ok(refused.length > 0, 'some calls are refused');
  assert.ok(served.length >= QUEUE_DEPTH, `${served.length} served`);
  for (const r of refused) {
    const e = (r as PromiseRejectedResult).reason as ServiceError;
    assert.equal(e.code, status.RESOURCE_EXHAUSTED);
    assert.match(e.details, /model "stories" is busy: 8 calls queued or running \(--queue-depth 8\)/);
  }
  for (const { r, i } of served) {
    if (i >= sequential.length) continue;
    const got = (r as PromiseFulfilledResult<modelHost.ScoreResponse>).value.scores.map((s) => s.logprob);
    got.forEach((lp, j) => assert.ok(Math.abs(lp - sequential[i][j]) < 1e-4, `call ${i} row ${j}: ${lp} vs ${sequential[i][j]}`));
  }
  assert.ok(answered >= 3, `${answered} health checks answered during the load`);
  assert.ok(Number.isFinite(worstMs), 'every health check answered SERVING');
  assert.equal(await checkHealth(host.address), 'SERVING');
});

test('a Score with a 50 ms deadline on a large batch ends DEADLINE_EXCEEDED and the process is idle again within one slice', async () => {
  // One slice: a batch of 8 rows, timed on its own.
  const t0 = performance.now();
  await score({ items: items(8), batchSize: 8 });
  const sliceSeconds = (performance.now() - t0) / 1000;
  const pid = host.child.pid!;
  const before = cpuSeconds(pid);
  await assert.rejects(score({ items: items(2_000), batchSize: 8 }, 50), (e: ServiceError) => e.code === status.DEADLINE_EXCEEDED);
  const atDeadline = cpuSeconds(pid);
  // The call is stopped at its next slice boundary: a little later, the process uses no CPU.
  await new Promise((r) => setTimeout(r, 200));
  const settled = cpuSeconds(pid);
  await new Promise((r) => setTimeout(r, 500));
  const idle = cpuSeconds(pid) - settled;
  process.stderr.write(
    `# one slice ${(sliceSeconds * 1000).toFixed(1)} ms; CPU until the deadline ${(atDeadline - before).toFixed(3)} s, ` +
      `in the 200 ms after ${(settled - atDeadline).toFixed(3)} s, in the next 500 ms ${idle.toFixed(3)} s\n`,
  );
  // 2,000 rows would take 250 slices; after the deadline at most one runs (plus clock-tick granularity).
  assert.ok(settled - atDeadline <= sliceSeconds + 0.05, `${(settled - atDeadline).toFixed(3)} s of CPU after the deadline`);
  assert.ok(idle < 0.05, `${idle.toFixed(3)} s of CPU while idle`);
  assert.equal(await checkHealth(host.address), 'SERVING');
});

test('a TrainStep arriving during a Score waits for it: the Score sees one memory version from its first row to its last', async () => {
  await createMemory('versions');
  await trainStep('versions');
  const request = { items: items(160), batchSize: 8, memory: { memoryId: 'versions' } };
  const before = (await score(request)).scores.map((s) => s.logprob);
  const during = score(request);
  await new Promise((r) => setTimeout(r, 20));
  const step = trainStep('versions');
  const [scored] = await Promise.all([during, step]);
  const afterStep = (await score(request)).scores.map((s) => s.logprob);
  const got = scored.scores.map((s) => s.logprob);
  assert.ok(
    got.every((lp, i) => Math.abs(lp - before[i]) < 1e-4),
    'the Score in flight saw the memory as it was when it started',
  );
  assert.ok(
    afterStep.some((lp, i) => Math.abs(lp - before[i]) > 1e-4),
    'the TrainStep did change the memory',
  );
});

test('DeleteMemory during a Score waits for it and never corrupts it; afterwards the memory is gone', async () => {
  await createMemory('doomed');
  await trainStep('doomed');
  const request = { items: items(160), batchSize: 8, memory: { memoryId: 'doomed' } };
  const reference = (await score(request)).scores.map((s) => s.logprob);
  const order: string[] = [];
  const scoring = score(request).then((r) => {
    order.push('score');
    return r;
  });
  await new Promise((r) => setTimeout(r, 20));
  const deleting = callUnary(client, client.deleteMemory, { memoryId: 'doomed' }, 60_000).then(() => order.push('delete'));
  // New calls no longer see it, while the Score in flight goes on.
  await assert.rejects(score({ items: items(2), memory: { memoryId: 'doomed' } }), (e: ServiceError) => e.code === status.NOT_FOUND);
  const [scored] = await Promise.all([scoring, deleting]);
  assert.deepEqual(order, ['score', 'delete']);
  scored.scores.forEach((s, i) => assert.ok(Math.abs(s.logprob - reference[i]) < 1e-4, `row ${i}`));
  assert.equal(await checkHealth(host.address), 'SERVING');
});

test('a trainer-like client and a scorer-like client running together both progress', async () => {
  await createMemory('shared');
  const done = { train: [] as number[], score: [] as number[] };
  const start = Date.now();
  const trainer = (async () => {
    for (let i = 0; i < 12; i++) {
      await trainStep('shared', asClient('trainer'));
      done.train.push(Date.now() - start);
    }
  })();
  const scorer = (async () => {
    for (let i = 0; i < 4; i++) {
      await score({ items: items(96, i), batchSize: 8 }, 120_000, asClient('evaluator'));
      done.score.push(Date.now() - start);
    }
  })();
  await Promise.all([trainer, scorer]);
  const end = Math.max(...done.train, ...done.score);
  process.stderr.write(`# train steps done at ${done.train.join(', ')} ms; scores at ${done.score.join(', ')} ms\n`);
  // Neither waits for the other to finish: each has finished work in the first 60% of the joint run.
  assert.ok(done.train.filter((t) => t < end * 0.6).length >= 3, 'the trainer progressed while the evaluator scored');
  assert.ok(done.score.filter((t) => t < end * 0.6).length >= 1, 'the evaluator progressed while the trainer trained');
});

test('SaveMemory with optimizer state, LoadMemory, N more steps equals N uninterrupted steps', async () => {
  await createMemory('resume');
  for (let i = 0; i < 3; i++) await trainStep('resume');
  await callUnary(client, client.saveMemory, { memoryId: 'resume', path: 'resume.safetensors', includeOptimizer: true, overwrite: false }, 30_000);
  const uninterrupted: number[] = [];
  for (let i = 0; i < 3; i++) uninterrupted.push((await trainStep('resume')).loss);
  const loaded = await callUnary(
    client,
    client.loadMemory,
    modelHost.LoadMemoryRequest.fromPartial({ modelId: 'stories', path: 'resume.safetensors', memoryId: 'resumed' }),
    30_000,
  );
  assert.equal(loaded.optimizerRestored, true);
  assert.equal(loaded.memory!.steps, 3n);
  const resumed: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await trainStep('resumed');
    assert.equal(r.step, BigInt(4 + i));
    resumed.push(r.loss);
  }
  resumed.forEach((l, i) => assert.ok(Math.abs(l - uninterrupted[i]) <= 1e-5 * Math.abs(uninterrupted[i]), `step ${i}: ${l} vs ${uninterrupted[i]}`));
  // Without the optimizer state the moments start from zero: the losses differ.
  const fresh = await callUnary(
    client,
    client.loadMemory,
    modelHost.LoadMemoryRequest.fromPartial({ modelId: 'stories', path: 'resume.safetensors', memoryId: 'fresh', skipOptimizer: true }),
    30_000,
  );
  assert.equal(fresh.optimizerRestored, false);
  assert.equal(fresh.memory!.steps, 0n);
  const first = (await trainStep('fresh')).loss;
  assert.ok(Math.abs(first - uninterrupted[0]) < 1e-5 * Math.abs(uninterrupted[0]), 'the first loss is computed before any update');
  const second = (await trainStep('fresh')).loss;
  assert.ok(Math.abs(second - uninterrupted[1]) > 1e-6, 'a restart without moments trains differently');
});
