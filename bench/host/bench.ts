/**
 * `npm run bench:host [-- --quick] [-- --queue-depth N] [-- --model-root DIR] [-- --model PATH] [-- --tokenizer PATH]`: model-host as a
 * shared engine, measured through one real model-host process on this machine (no assertions). Prints a line of
 * machine facts, the queue depth the host runs with, progress on stderr, then a table and one JSON object on its
 * last line:
 *   1. TrainStep tokens/s through gRPC against libs/memory's MemoryTrainer in this process on the same workload
 *      (same model file, memory kind/layer/seed, rows, learning rate and step count, after warm-up; measured in
 *      alternating rounds so drift on a shared machine hits both) — target >= 0.9x.
 *   2. Score rows/s with 1, 4 and 16 concurrent clients: the same fixed total of FEVER 1-shot prompt rows
 *      (context ~100-200 tokens, a 2-4 token answer candidate), default batch_size; each client has its own
 *      channel (its own connection) and its own `client` metadata key (the engine's round-robin key).
 *   3. grpc.health.v1 Check latency p50/p99, every 20 ms from a separate process over its own channel, while the
 *      engine is saturated by the 16-client Score load, by a TrainStep loop, and by both — target p99 < 100 ms.
 *   4. CPU seconds the host spends after a call's deadline: a Score of thousands of rows with a 200 ms deadline;
 *      from its DEADLINE_EXCEEDED to the host being idle (/proc/<pid>/stat utime+stime, no growth for 300 ms),
 *      against one slice (a Score of one batch, timed alone) — target: at most one slice.
 * `--quick` runs a short version (fewer steps and rows). The model-host child is killed on every way out.
 */
import { dirname, join } from 'node:path';
import { credentials, Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { common, modelHost } from '@memorize/contracts';
import { loadModel, loadTokenizer } from '@memorize/lm';
import { createMemoryFor, MemoryTrainer, TRAINING_DEFAULTS, type TrainingRow } from '@memorize/memory';
import { callUnary } from '@memorize/service-kit';
import { initBackend } from '@memorize/tensor';
import { sharedDir, storiesBin } from '@memorize/testing';
import { guardChildren } from '../shared/children.js';
import { clockTicks, cpuSeconds, machineFacts } from '../shared/machine.js';
import { f0, f1, f2, meets, tableLines } from '../shared/report.js';
import { startHealthProbe, startModelHost, type HealthSample } from './processes.js';
import { feverScoreItems, mean, pageTrainRows, percentile, type ScoreItemIds } from './workload.js';

// ---- settings ---------------------------------------------------------------------------------------------
function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const value = process.argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}
const quick = process.argv.includes('--quick');
const QUEUE_DEPTH = Number(flag('--queue-depth') ?? 256);
if (!Number.isInteger(QUEUE_DEPTH) || QUEUE_DEPTH < 1) throw new Error(`--queue-depth must be a positive integer`);
const MODEL_ROOT = flag('--model-root') ?? sharedDir;
const MODEL = flag('--model') ?? storiesBin;
const TOKENIZER = flag('--tokenizer') ?? join(dirname(MODEL), 'tok512.bin');

/** TrainStep: the reference batch (4 rows) of 128-token page windows, a default `memory` at the middle block. */
const TRAIN_ROWS = TRAINING_DEFAULTS.batchSize;
const TRAIN_LENGTH = 128;
const TRAIN_LR = 1e-3;
const TRAIN_SEED = 7;
const TRAIN_WARMUP = 3;
const TRAIN_STEPS = quick ? 6 : 30;
const TRAIN_ROUNDS = 2;
/** Score: calls of 24 rows (8 claims x 3 candidates); the same total for 1, 4 and 16 clients. */
const ROWS_PER_CALL = 24;
const SCORE_CALLS = quick ? 16 : 48;
const MAX_CONTEXT = 200;
const CONCURRENCY = [1, 4, 16] as const;
/** Health: one check every 20 ms; a TrainStep loop of this many seconds alone. */
const HEALTH_INTERVAL_MS = 20;
const TRAIN_LOOP_MS = quick ? 3_000 : 6_000;
/** After a deadline: this many rows, this deadline; idle = CPU grows less than 2 ticks in 300 ms. */
const LARGE_ROWS = quick ? 1_500 : 3_000;
const DEADLINE_MS = 200;
const QUIET_MS = 300;
const IDLE_CAP_MS = quick ? 30_000 : 90_000;
const SLICE_REPEATS = 7;
const CALL_DEADLINE_MS = 180_000;

guardChildren('bench:host', quick ? 240_000 : 540_000);
const log = (line: string) => process.stderr.write(`bench:host: ${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- machine and process facts -----------------------------------------------------------------------------
/** Waits until the process's CPU grows less than 2 ticks in `QUIET_MS`; the CPU and time when that quiet began. */
async function untilIdle(pid: number, capMs: number): Promise<{ cpu: number; at: number; busy: boolean }> {
  const history: Array<{ at: number; cpu: number }> = [{ at: performance.now(), cpu: cpuSeconds(pid) }];
  const start = history[0].at;
  for (;;) {
    await sleep(25);
    const now = { at: performance.now(), cpu: cpuSeconds(pid) };
    history.push(now);
    const windowStart = history.findLast((h) => h.at <= now.at - QUIET_MS);
    if (windowStart && now.cpu - windowStart.cpu < 2 / clockTicks) return { ...windowStart, busy: false };
    if (now.at - start > capMs) return { ...now, busy: true };
    while (history.length > 2 && history[1].at <= now.at - QUIET_MS) history.shift();
  }
}

// ---- gRPC helpers ------------------------------------------------------------------------------------------
type HostClient = InstanceType<typeof modelHost.ModelHostClient>;
/** A client on a channel of its own (a local subchannel pool: its own connection, its own peer address). */
function ownChannel(address: string): HostClient {
  return new modelHost.ModelHostClient(address, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.use_local_subchannel_pool': 1,
  });
}
function asClient(name: string): Metadata {
  const m = new Metadata();
  m.set('client', name);
  return m;
}
const codeName = (error: unknown): string => {
  const code = (error as ServiceError)?.code;
  return typeof code === 'number' ? (grpcStatus[code] ?? String(code)) : `error: ${(error as Error)?.message ?? String(error)}`;
};

// ---- the run -----------------------------------------------------------------------------------------------
const facts = machineFacts();
console.log(`machine: ${facts}`);
const backend = await initBackend({ logger: () => {} });
const tokenizer = await loadTokenizer(TOKENIZER);
const trainIds = pageTrainRows(tokenizer, TRAIN_ROWS, TRAIN_LENGTH);
const trainRows: TrainingRow[] = trainIds.map((ids) => ({ ids }));
const scoreItems = feverScoreItems(tokenizer, (SCORE_CALLS * ROWS_PER_CALL) / 3, MAX_CONTEXT);
const largeItems = feverScoreItems(tokenizer, Math.ceil(LARGE_ROWS / 3), MAX_CONTEXT).slice(0, LARGE_ROWS);
const contextLengths = scoreItems.map((i) => i.context.length);
const continuationLengths = scoreItems.map((i) => i.continuation.length);
const toProto = (items: readonly ScoreItemIds[]) => items.map((i) => modelHost.ScoreItem.fromPartial(i));
const scoreCalls = Array.from({ length: SCORE_CALLS }, (_, c) => toProto(scoreItems.slice(c * ROWS_PER_CALL, (c + 1) * ROWS_PER_CALL)));

log(`starting model-host (model root ${MODEL_ROOT})`);
const host = await startModelHost(QUEUE_DEPTH, { MEMORIZE_MODEL_HOST_MODEL_ROOT: MODEL_ROOT });
console.log(
  `model-host pid ${host.pid} at ${host.address}; queue depth via ${host.queueDepthVia}; host reports queue depth ${host.reportedQueueDepth ?? 'none (no engine log line)'}`,
);
const opened: HostClient[] = [];
const open = (address: string) => {
  const c = ownChannel(address);
  opened.push(c);
  return c;
};
let probe: Awaited<ReturnType<typeof startHealthProbe>> | undefined;
let failed = false;
try {
  const client = open(host.address);
  const modelId = 'bench';
  const loaded = await callUnary(
    client,
    client.loadModel,
    modelHost.LoadModelRequest.fromPartial({ path: MODEL, tokenizerPath: TOKENIZER, modelId }),
    120_000,
  );
  const info = loaded.model!;
  const layer = Math.floor(info.layers / 2);
  const memoryConfig = common.MemoryConfig.fromPartial({ kind: common.MemoryKind.MEMORY_KIND_MEMORY, layer, seed: BigInt(TRAIN_SEED) });
  await callUnary(
    client,
    client.createMemory,
    modelHost.CreateMemoryRequest.fromPartial({ modelId, memoryId: 'bench-train', config: memoryConfig }),
    60_000,
  );
  await callUnary(
    client,
    client.createMemory,
    modelHost.CreateMemoryRequest.fromPartial({ modelId, memoryId: 'bench-loop', config: memoryConfig }),
    60_000,
  );
  const trainRequest = (memoryId: string) =>
    modelHost.TrainStepRequest.fromPartial({ memoryId, rows: trainIds.map((ids) => ({ ids })), learningRate: TRAIN_LR });

  // 1. TrainStep through gRPC vs in-process, alternating rounds; warm-up first on both sides.
  log(`TrainStep: ${TRAIN_ROWS} rows x ${TRAIN_LENGTH} tokens, ${TRAIN_ROUNDS} rounds of ${TRAIN_STEPS} steps each side`);
  const model = loadModel(MODEL);
  const memory = createMemoryFor(model, { kind: 'memory', layer, seed: TRAIN_SEED });
  const trainer = new MemoryTrainer(model, memory);
  const grpcSteps = async (n: number) => {
    let tokens = 0;
    const t0 = performance.now();
    for (let i = 0; i < n; i++)
      tokens += (await callUnary(client, client.trainStep, trainRequest('bench-train'), 60_000, asClient('bench-trainer'))).tokens;
    return { tokens, seconds: (performance.now() - t0) / 1000 };
  };
  const localSteps = async (n: number) => {
    let tokens = 0;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      tokens += trainer.step(trainRows, TRAIN_LR).tokens;
      await new Promise((r) => setImmediate(r)); // this process's own events (signals) get their turn, as the host's would
    }
    return { tokens, seconds: (performance.now() - t0) / 1000 };
  };
  await grpcSteps(TRAIN_WARMUP);
  await localSteps(TRAIN_WARMUP);
  const grpcTotal = { tokens: 0, seconds: 0 };
  const localTotal = { tokens: 0, seconds: 0 };
  for (let round = 0; round < TRAIN_ROUNDS; round++) {
    for (const [total, run] of [
      [grpcTotal, grpcSteps],
      [localTotal, localSteps],
    ] as const) {
      const r = await run(TRAIN_STEPS);
      total.tokens += r.tokens;
      total.seconds += r.seconds;
    }
  }
  trainer.dispose();
  memory.dispose();
  model.dispose();
  const grpcTrain = grpcTotal.tokens / grpcTotal.seconds;
  const localTrain = localTotal.tokens / localTotal.seconds;
  log(`TrainStep: gRPC ${grpcTrain.toFixed(0)} tokens/s, in-process ${localTrain.toFixed(0)} tokens/s`);

  // Health probe for the rest of the run; each phase is a window of its samples.
  probe = await startHealthProbe(host.address, HEALTH_INTERVAL_MS);
  const windows: Record<string, [number, number]> = {};
  const during = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    try {
      return await work();
    } finally {
      windows[name] = [start, Date.now()];
    }
  };
  await during('idle', () => sleep(1_000));

  // 2. Score rows/s at 1, 4, 16 clients: the same calls, call i to client i mod n, each client's calls in turn.
  interface ScoreRun {
    clients: number;
    rowsPerSecond: number;
    seconds: number;
    okRows: number;
    callP50Ms: number;
    callMaxMs: number;
    errors: Record<string, number>;
  }
  const scoreRun = async (n: number, tag: string): Promise<ScoreRun> => {
    const channels = Array.from({ length: n }, () => open(host.address));
    const latencies: number[] = [];
    const errors: Record<string, number> = {};
    let okRows = 0;
    const t0 = performance.now();
    await Promise.all(
      channels.map(async (c, k) => {
        const metadata = asClient(`${tag}-${k}`);
        for (let call = k; call < scoreCalls.length; call += n) {
          const s = performance.now();
          try {
            const r = await callUnary(
              c,
              c.score,
              modelHost.ScoreRequest.fromPartial({ modelId, items: scoreCalls[call] }),
              CALL_DEADLINE_MS,
              metadata,
            );
            okRows += r.scores.length;
            latencies.push(performance.now() - s);
          } catch (error) {
            const name = codeName(error);
            errors[name] = (errors[name] ?? 0) + 1;
          }
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    for (const c of channels) c.close();
    return {
      clients: n,
      rowsPerSecond: okRows / seconds,
      seconds,
      okRows,
      callP50Ms: percentile(latencies, 50),
      callMaxMs: Math.max(0, ...latencies),
      errors,
    };
  };
  log('Score: warm-up');
  await callUnary(client, client.score, modelHost.ScoreRequest.fromPartial({ modelId, items: scoreCalls[0] }), CALL_DEADLINE_MS);
  const scoreRuns: ScoreRun[] = [];
  for (const n of CONCURRENCY) {
    log(`Score: ${n} client(s), ${SCORE_CALLS} calls x ${ROWS_PER_CALL} rows`);
    scoreRuns.push(await during(`score x${n}`, () => scoreRun(n, `score${n}`)));
  }

  // 3. Health while saturated: (a) the 16-client Score load above, (b) a TrainStep loop alone, (c) both at once.
  const trainLoop = (until: () => boolean) => async () => {
    const c = open(host.address);
    let steps = 0;
    const errors: Record<string, number> = {};
    const t0 = performance.now();
    while (!until()) {
      try {
        await callUnary(c, c.trainStep, trainRequest('bench-loop'), CALL_DEADLINE_MS, asClient('trainer-loop'));
        steps++;
      } catch (error) {
        const name = codeName(error);
        errors[name] = (errors[name] ?? 0) + 1;
        await sleep(50);
      }
    }
    c.close();
    return { steps, stepsPerSecond: steps / ((performance.now() - t0) / 1000), errors };
  };
  log(`health: a TrainStep loop for ${TRAIN_LOOP_MS / 1000} s`);
  const loopEnd = Date.now() + TRAIN_LOOP_MS;
  const trainAlone = await during(
    'train loop',
    trainLoop(() => Date.now() >= loopEnd),
  );
  log('health: 16 Score clients and a TrainStep loop together');
  let scoreDone = false;
  const both = await during('score x16 + train loop', async () => {
    const loop = trainLoop(() => scoreDone)();
    const score = await scoreRun(16, 'mixed').finally(() => (scoreDone = true));
    return { score, train: await loop };
  });

  // 4. CPU after a deadline: one slice timed alone, then a large Score with a 200 ms deadline.
  log('after a deadline: timing one slice');
  await untilIdle(host.pid, IDLE_CAP_MS);
  const sliceRequest = modelHost.ScoreRequest.fromPartial({ modelId, items: toProto(largeItems.slice(0, 8)) });
  const sliceWall: number[] = [];
  const cpuBefore = cpuSeconds(host.pid);
  for (let i = 0; i < SLICE_REPEATS; i++) {
    const t0 = performance.now();
    await callUnary(client, client.score, sliceRequest, 30_000);
    sliceWall.push((performance.now() - t0) / 1000);
  }
  const sliceCpu = (cpuSeconds(host.pid) - cpuBefore) / SLICE_REPEATS;
  const sliceSeconds = percentile(sliceWall, 50);
  await untilIdle(host.pid, IDLE_CAP_MS);
  log(`after a deadline: Score of ${largeItems.length} rows with a ${DEADLINE_MS} ms deadline`);
  const largeRequest = modelHost.ScoreRequest.fromPartial({ modelId, items: toProto(largeItems) });
  const cpuAtSend = cpuSeconds(host.pid);
  const sent = performance.now();
  const deadlineStatus = await callUnary(client, client.score, largeRequest, DEADLINE_MS).then(() => 'OK', codeName);
  const answeredAfterMs = performance.now() - sent;
  const cpuAtDeadline = cpuSeconds(host.pid);
  const deadlineAt = performance.now();
  const idle = await untilIdle(host.pid, IDLE_CAP_MS);
  const afterDeadline = {
    status: deadlineStatus,
    answeredAfterMs,
    cpuSeconds: idle.cpu - cpuAtDeadline,
    cpuBeforeDeadlineSeconds: cpuAtDeadline - cpuAtSend,
    wallSeconds: Math.max(0, (idle.at - deadlineAt) / 1000),
    stillBusyAtCap: idle.busy,
    sliceSeconds,
    sliceCpuSeconds: sliceCpu,
    slices: (idle.cpu - cpuAtDeadline) / sliceSeconds,
    target: 1,
  };
  log(`after a deadline: ${afterDeadline.cpuSeconds.toFixed(3)} CPU s (${afterDeadline.status} after ${answeredAfterMs.toFixed(0)} ms)`);
  const health = await probe.stop();
  probe = undefined;

  // ---- report --------------------------------------------------------------------------------------------
  const inWindow = (name: string): HealthSample[] => health.filter((s) => s.at >= windows[name][0] && s.at <= windows[name][1]);
  const healthStats = (name: string) => {
    const samples = inWindow(name);
    const ms = samples.map((s) => s.ms).filter((x): x is number => x !== null);
    return { checks: samples.length, failed: samples.length - ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99), max: Math.max(0, ...ms) };
  };
  const healthPhases = Object.fromEntries(['idle', 'score x16', 'train loop', 'score x16 + train loop'].map((p) => [p, healthStats(p)]));
  const saturatedP99 = Math.max(...['score x16', 'train loop', 'score x16 + train loop'].map((p) => healthPhases[p].p99));

  const errorsText = (e: Record<string, number>) =>
    Object.keys(e).length
      ? `, errors ${Object.entries(e)
          .map(([k, v]) => `${k} x${v}`)
          .join(' ')}`
      : '';
  const one = scoreRuns[0].rowsPerSecond;
  const table: string[][] = [
    [
      'TrainStep tokens/s via gRPC',
      f0(grpcTrain),
      `${f2(grpcTrain / localTrain)}x in-process ${f0(localTrain)}`,
      '>= 0.9x',
      meets(grpcTrain / localTrain >= 0.9),
    ],
    ...scoreRuns.map((r) => [
      `Score rows/s, ${r.clients} client${r.clients > 1 ? 's' : ''}`,
      f1(r.rowsPerSecond),
      `${r.clients > 1 ? `${f2(r.rowsPerSecond / one)}x 1 client; ` : ''}call p50 ${f0(r.callP50Ms)} ms, max ${f0(r.callMaxMs)} ms${errorsText(r.errors)}`,
      '',
      '',
    ]),
    ...Object.entries(healthPhases).map(([phase, h]) => [
      `health p50 / p99 ms, ${phase}`,
      `${f1(h.p50)} / ${f1(h.p99)}`,
      `max ${f1(h.max)} ms, ${h.checks} checks${h.failed ? `, ${h.failed} not SERVING/failed` : ''}`,
      phase === 'idle' ? '' : 'p99 < 100',
      phase === 'idle' ? '' : meets(h.p99 < 100 && h.failed === 0),
    ]),
    [
      'progress, score x16 + train loop',
      `${f1(both.score.rowsPerSecond)} rows/s`,
      `+ ${f2(both.train.stepsPerSecond)} TrainSteps/s (${both.train.steps} steps; alone ${f2(trainAlone.stepsPerSecond)}/s)${errorsText({ ...both.score.errors, ...both.train.errors })}`,
      'both > 0',
      meets(both.score.okRows > 0 && both.train.steps > 0),
    ],
    [
      `CPU s after a ${DEADLINE_MS} ms deadline`,
      `${afterDeadline.cpuSeconds.toFixed(3)}${afterDeadline.stillBusyAtCap ? '+ (still busy)' : ''}`,
      `${f2(afterDeadline.slices)} slices of ${f1(sliceSeconds * 1000)} ms (slice CPU ${f1(sliceCpu * 1000)} ms); ${afterDeadline.status} after ${f0(answeredAfterMs)} ms (${f2(afterDeadline.cpuBeforeDeadlineSeconds)} CPU s before), idle ${f2(afterDeadline.wallSeconds)} s later`,
      '<= 1 slice',
      meets(!afterDeadline.stillBusyAtCap && afterDeadline.cpuSeconds <= sliceSeconds),
    ],
  ];
  const header = ['measure', 'value', 'against', 'target', 'meets'];
  console.log(
    `workload: ${MODEL.replace(`${MODEL_ROOT}/`, '')} (${info.layers} layers, d ${info.hiddenSize}), host backend ${info.backend}, bench backend ${backend.name}; ` +
      `TrainStep ${TRAIN_ROWS} x ${TRAIN_LENGTH} tokens, memory m=default layer ${layer}, lr ${TRAIN_LR}, ${TRAIN_ROUNDS}x${TRAIN_STEPS} steps each side; ` +
      `Score ${SCORE_CALLS} calls x ${ROWS_PER_CALL} rows (1-shot FEVER prompts, context ${Math.min(...contextLengths)}-${Math.max(...contextLengths)} tokens, mean ${f0(mean(contextLengths))}; continuation ${Math.min(...continuationLengths)}-${Math.max(...continuationLengths)}), default batch_size; health every ${HEALTH_INTERVAL_MS} ms${quick ? '; --quick' : ''}`,
  );
  for (const l of tableLines(header, table)) console.log(l);
  console.log(
    JSON.stringify({
      bench: 'host',
      quick,
      machine: facts,
      clockTicks,
      backend: { host: info.backend, bench: backend.name },
      queueDepth: { requested: QUEUE_DEPTH, via: host.queueDepthVia, reported: host.reportedQueueDepth ?? null },
      workload: {
        model: MODEL,
        trainRows: TRAIN_ROWS,
        trainLength: TRAIN_LENGTH,
        layer,
        learningRate: TRAIN_LR,
        trainSteps: TRAIN_ROUNDS * TRAIN_STEPS,
        scoreCalls: SCORE_CALLS,
        rowsPerCall: ROWS_PER_CALL,
        contextTokens: { min: Math.min(...contextLengths), max: Math.max(...contextLengths), mean: mean(contextLengths) },
        largeRows: largeItems.length,
      },
      trainStep: { grpcTokensPerSecond: grpcTrain, inProcessTokensPerSecond: localTrain, ratio: grpcTrain / localTrain, target: 0.9 },
      score: Object.fromEntries(scoreRuns.map((r) => [String(r.clients), r])),
      healthMs: { ...healthPhases, saturatedP99, target: 100 },
      mixed: { score: both.score, train: both.train, trainAlone },
      afterDeadline,
    }),
  );
} catch (error) {
  failed = true;
  process.stderr.write(`bench:host failed: ${(error as Error)?.stack ?? String(error)}\n`);
  const tail = host.logs.slice(-15).join('\n');
  if (tail) process.stderr.write(`last model-host log lines:\n${tail}\n`);
} finally {
  await probe?.stop().catch(() => undefined);
  for (const c of opened) c.close();
  const code = await host.stop();
  if (code !== 0) log(`model-host exited with ${code}`);
}
process.exit(failed ? 1 : 0);
