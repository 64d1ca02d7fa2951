/**
 * `npm run bench:host`: model-host as a shared engine, measured through a real model-host process on this machine
 * (no assertions). Prints one line of machine facts, a table, and one JSON object on its last line:
 *   - TrainStep tokens/s through gRPC vs libs/memory's MemoryTrainer in this process on the same workload
 *     (target >= 0.9x);
 *   - Score rows/s with 1, 4 and 16 concurrent clients (each its own channel and `client` metadata key);
 *   - health-check latency p50/p99 from a separate process while 16 clients saturate the engine (target p99 < 100 ms);
 *   - CPU seconds the process spends after a call's deadline, against one slice (target: at most one slice).
 * `--quick` runs a shorter version.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Metadata } from '@grpc/grpc-js';
import { common, modelHost } from '@memorize/contracts';
import { loadModel, loadTokenizer } from '@memorize/lm';
import { createMemoryFor, MemoryTrainer, type TrainingRow } from '@memorize/memory';
import { callUnary, connect, type status as Status } from '@memorize/service-kit';
import { initBackend } from '@memorize/tensor';
import { feverFiles, healthDuring, jsonlPageTexts, sharedRootsEnv, startServiceProcess, storiesBin, storiesTok } from '@memorize/testing';

const quick = process.argv.includes('--quick');
const TRAIN_STEPS = quick ? 10 : 40;
const WARMUP = 3;
const SCORE_CALLS = quick ? 24 : 64;
const ROWS_PER_CALL = 24;
const QUEUE_DEPTH = 256;
const MEMORY: common.MemoryConfig = common.MemoryConfig.fromPartial({ kind: common.MemoryKind.MEMORY_KIND_MEMORY, layer: 2, entries: 256, seed: 7n });

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const cpuSeconds = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
};
const percentile = (xs: number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
};
const asClient = (name: string): Metadata => {
  const m = new Metadata();
  m.set('client', name);
  return m;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function machineFacts(): string {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown CPU';
  const flags = /flags\s*:\s*(.*)/.exec(cpuinfo)?.[1].split(' ') ?? [];
  const simd = ['avx512f', 'avx2', 'fma', 'sse4_2'].filter((f) => flags.includes(f)).join('+') || 'none';
  return `${model}, ${cpus().length} cores, ${simd}, node ${process.version}`;
}

const backend = await initBackend({ logger: () => {} });
const tokenizer = await loadTokenizer(storiesTok);
const texts = jsonlPageTexts(feverFiles.pages).slice(0, 64);
const pageRows = texts.map((t) => tokenizer.encode(t.slice(0, 600), { bos: true }).slice(0, 96)).filter((r) => r.length >= 40);
const trainRows: TrainingRow[] = pageRows.slice(0, 8).map((ids) => ({ ids: ids.slice(0, 64) }));
const trainTokens = trainRows.reduce((a, r) => a + r.ids.length - 1, 0);
const scoreItems = (call: number): modelHost.ScoreItem[] =>
  Array.from({ length: ROWS_PER_CALL }, (_, i) => {
    const ids = pageRows[(call * ROWS_PER_CALL + i) % pageRows.length];
    const cut = 20 + ((call + i) % 16);
    return modelHost.ScoreItem.fromPartial({ context: ids.slice(0, cut), continuation: ids.slice(cut, cut + 4) });
  });

/** TrainStep in this process: the same model, memory config, rows and rate as through gRPC. */
function inProcessTrainTokensPerSecond(): number {
  const model = loadModel(storiesBin);
  const memory = createMemoryFor(model, { kind: 'memory', layer: 2, entries: 256, seed: 7 });
  const trainer = new MemoryTrainer(model, memory);
  for (let i = 0; i < WARMUP; i++) trainer.step(trainRows, 1e-3);
  const t0 = performance.now();
  for (let i = 0; i < TRAIN_STEPS; i++) trainer.step(trainRows, 1e-3);
  const seconds = (performance.now() - t0) / 1000;
  trainer.dispose();
  memory.dispose();
  model.dispose();
  return (TRAIN_STEPS * trainTokens) / seconds;
}

const host = await startServiceProcess('model-host', { ...sharedRootsEnv(), MEMORIZE_MODEL_HOST_QUEUE_DEPTH: String(QUEUE_DEPTH) });
const stopHost = () => host.child.kill('SIGKILL');
process.once('SIGINT', () => {
  stopHost();
  process.exit(130);
});
const clients: Array<{ close(): void }> = [];
try {
  const client = connect(modelHost.ModelHostClient, host.address);
  clients.push(client);
  const loaded = await callUnary(
    client,
    client.loadModel,
    modelHost.LoadModelRequest.fromPartial({ path: storiesBin, tokenizerPath: storiesTok, modelId: 'stories' }),
    60_000,
  );
  const hostBackend = loaded.model!.backend;
  await callUnary(
    client,
    client.createMemory,
    modelHost.CreateMemoryRequest.fromPartial({ modelId: 'stories', memoryId: 'bench', config: MEMORY }),
    30_000,
  );
  const trainRequest = modelHost.TrainStepRequest.fromPartial({
    memoryId: 'bench',
    rows: trainRows.map((r) => ({ ids: [...r.ids] })),
    learningRate: 1e-3,
  });

  // 1. TrainStep through gRPC vs in-process (the host is idle while this process trains).
  for (let i = 0; i < WARMUP; i++) await callUnary(client, client.trainStep, trainRequest, 60_000);
  let t0 = performance.now();
  for (let i = 0; i < TRAIN_STEPS; i++) await callUnary(client, client.trainStep, trainRequest, 60_000);
  const grpcTrain = (TRAIN_STEPS * trainTokens) / ((performance.now() - t0) / 1000);
  const localTrain = inProcessTrainTokensPerSecond();

  // 2. Score rows/s with 1, 4, 16 concurrent clients, each its own channel and client key.
  const scoreRowsPerSecond = async (concurrency: number): Promise<number> => {
    const channels = Array.from({ length: concurrency }, () => connect(modelHost.ModelHostClient, host.address));
    clients.push(...channels);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      channels.map(async (c, k) => {
        for (let call = next++; call < SCORE_CALLS; call = next++) {
          await callUnary(
            c,
            c.score,
            modelHost.ScoreRequest.fromPartial({ modelId: 'stories', items: scoreItems(call) }),
            300_000,
            asClient(`client-${k}`),
          );
        }
      }),
    );
    const rate = (SCORE_CALLS * ROWS_PER_CALL) / ((performance.now() - started) / 1000);
    for (const c of channels) c.close();
    return rate;
  };
  await scoreRowsPerSecond(1); // warm-up
  const scoreRates: Record<number, number> = {};
  for (const n of [1, 4]) scoreRates[n] = await scoreRowsPerSecond(n);

  // 3. Health latency from a separate process while 16 Score clients and a TrainStep loop saturate the engine.
  let training = true;
  const trainerLoop = (async () => {
    const trainerChannel = connect(modelHost.ModelHostClient, host.address);
    clients.push(trainerChannel);
    while (training) await callUnary(trainerChannel, trainerChannel.trainStep, trainRequest, 120_000, asClient('trainer'));
  })();
  const saturated = await healthDuring(host.address, async () => {
    const rate = await scoreRowsPerSecond(16);
    training = false;
    await trainerLoop;
    return rate;
  });
  scoreRates[16] = saturated.result;
  const healthP50 = percentile(saturated.latenciesMs, 50);
  const healthP99 = percentile(saturated.latenciesMs, 99);

  // 4. CPU after a deadline: one slice (8 rows) timed alone, then 2,000 rows with a 200 ms deadline.
  const slice = modelHost.ScoreRequest.fromPartial({ modelId: 'stories', items: scoreItems(0).slice(0, 8), batchSize: 8 });
  const sliceTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    t0 = performance.now();
    await callUnary(client, client.score, slice, 30_000);
    sliceTimes.push((performance.now() - t0) / 1000);
  }
  const sliceSeconds = percentile(sliceTimes, 50);
  const large = modelHost.ScoreRequest.fromPartial({
    modelId: 'stories',
    items: Array.from({ length: 84 }, (_, c) => scoreItems(c)).flat(),
    batchSize: 8,
  });
  const pid = host.child.pid!;
  const deadlineCode = await callUnary(client, client.score, large, 200).then(
    () => 'OK',
    (e: { code: Status }) => String(e.code),
  );
  const atDeadline = cpuSeconds(pid);
  let last = atDeadline;
  for (let quiet = 0; quiet < 3;) {
    await sleep(100);
    const now = cpuSeconds(pid);
    quiet = now - last < 0.5 / clockTicks ? quiet + 1 : 0;
    last = now;
  }
  const afterDeadline = last - atDeadline;

  const rows: Array<[string, string, string, string]> = [
    ['TrainStep tokens/s via gRPC', grpcTrain.toFixed(0), `${(grpcTrain / localTrain).toFixed(2)}x in-process (${localTrain.toFixed(0)})`, '>= 0.9x'],
    ['Score rows/s, 1 client', scoreRates[1].toFixed(0), '', ''],
    ['Score rows/s, 4 clients', scoreRates[4].toFixed(0), `${(scoreRates[4] / scoreRates[1]).toFixed(2)}x 1 client`, ''],
    ['Score rows/s, 16 clients + trainer', scoreRates[16].toFixed(0), `${(scoreRates[16] / scoreRates[1]).toFixed(2)}x 1 client`, ''],
    ['health p50 / p99 ms (saturated)', `${healthP50.toFixed(1)} / ${healthP99.toFixed(1)}`, `${saturated.answered} checks`, 'p99 < 100'],
    [
      'CPU s after a 200 ms deadline',
      afterDeadline.toFixed(3),
      `${(afterDeadline / sliceSeconds).toFixed(2)} slices of ${(sliceSeconds * 1000).toFixed(1)} ms (status ${deadlineCode})`,
      '<= 1 slice',
    ],
  ];
  const header: [string, string, string, string] = ['measure', 'value', 'against', 'target'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(`machine: ${machineFacts()}; bench backend ${backend.tfBackend}, host backend ${hostBackend}; --queue-depth ${QUEUE_DEPTH}`);
  console.log(
    `workload: stories260K; TrainStep ${trainRows.length} rows x ${trainRows[0].ids.length} tokens, memory layer 2 m=256, ${TRAIN_STEPS} steps; Score ${SCORE_CALLS} calls x ${ROWS_PER_CALL} rows`,
  );
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  console.log(
    JSON.stringify({
      machine: machineFacts(),
      backend: { bench: backend.tfBackend, host: hostBackend },
      queueDepth: QUEUE_DEPTH,
      trainStep: { grpcTokensPerSecond: grpcTrain, inProcessTokensPerSecond: localTrain, ratio: grpcTrain / localTrain, target: 0.9 },
      scoreRowsPerSecond: scoreRates,
      healthMs: { p50: healthP50, p99: healthP99, checks: saturated.answered, target: 100 },
      afterDeadline: { cpuSeconds: afterDeadline, sliceSeconds, slices: afterDeadline / sliceSeconds, status: deadlineCode, target: 1 },
    }),
  );
} finally {
  for (const c of clients) c.close();
  await host.stop();
}
