/**
 * `npm run bench:trainer [-- --quick]`: train tokens/s of one memorization run through the trainer against the same
 * run in this process (issue 12's "Done when": target >= 0.9x). No assertions. Prints a line of machine facts,
 * progress on stderr, then a table and one JSON object on its last line.
 *
 * The run: stories260K (HF folder), the top 20 FEVER pages of ../shared/data/fever in chunks of the model's
 * maximum length (512, as the trainer chunks them), a `memory` memory at layer 3 with 128 entries and seed 0,
 * batch size 4, peak learning rate 1e-2 (the reference schedule otherwise), N steps (50; --quick 30).
 *   (a) in-process: the corpus built with libs/fever's buildCorpus and the model's tokenizer, libs/memory's
 *       createMemoryFor + TrainingRun over its chunks; the wall time of the N steps only (TrainingRun.iterate).
 *   (b) through the trainer: DataService, model-host and trainer as separate processes; StartRun with eval_every
 *       and checkpoint_every past N and no locality pages (measuring stays out of the steps), WatchRun followed
 *       to the end, then GetRun. Two figures: train tokens/s from Run.timings (tokens / seconds inside TrainStep
 *       calls as the trainer times them), and end-to-end tokens/s from the step events' arrival here: the tokens of
 *       steps 1..N-2 over the time from step 0's event to step N-2's (the last step's event waits for the final
 *       memorization-error measure, so it is left out).
 * Both sides warm up first with a run of a few steps of their own (model-host loads the model, DataService builds
 * the corpus, kernels are compiled), then alternate rounds (a b, b a, ...; 4 of each, --quick 2), a fresh memory
 * each round. Each trainer round's tokens/s is divided by that of the in-process round next to it in time and the
 * verdict is the median of those ratios, so drift on the shared machine cancels (the pooled ratio is printed
 * too); another pair of rounds is added when the rounds of one side differ by more than 10% and it fits in the time
 * budget (290 s; --quick 150 s). Each side reports tokens/step, the tokens of every step are compared (the same rows
 * per step), and so is the final loss.
 */
import { common, modelHost, trainer } from '@memorize/contracts';
import { buildCorpus } from '@memorize/fever';
import { loadModel, loadTokenizer } from '@memorize/lm';
import { createMemoryFor, TrainingRun, type MemoryConfig, type TrainingRow, type TrainingSchedule } from '@memorize/memory';
import { callStream, callUnary, connect } from '@memorize/service-kit';
import { initBackend } from '@memorize/tensor';
import { feverFiles, storiesHf } from '@memorize/testing';
import { guardChildren } from '../shared/children.js';
import { cpuSeconds, machineFacts } from '../shared/machine.js';
import { f0, f1, f2, meets, tableLines } from '../shared/report.js';
import { startTrainerStack, type TrainerStack } from './services.js';

// ---- settings ---------------------------------------------------------------------------------------------
const quick = process.argv.includes('--quick');
const STEPS = quick ? 30 : 50;
const WARMUP_STEPS = quick ? 3 : 5;
/** Rounds of each side, alternating a b, b a, ... (each round of one side next to one of the other). */
const ROUNDS = quick ? 2 : 4;
const MAX_ROUNDS = ROUNDS + 2;
/** Rounds of one side more than this far apart (max/min - 1) ask for another pair, if it fits in the budget. */
const NOISE = 0.1;
const BUDGET_S = quick ? 150 : 290;
const TOP_PAGES = 20;
const LAYER = 3;
const ENTRIES = 128;
const MEMORY_SEED = 0;
const BATCH_SIZE = 4;
/** The run spec carries the learning rate as a proto float: the in-process side takes the same float32 value. */
const LEARNING_RATE = Math.fround(1e-2);
const SHUFFLE_SEED = 0;
const TARGET = 0.9;
const RUN_DEADLINE_MS = 600_000;

const began = performance.now();
guardChildren('bench:trainer', quick ? 240_000 : 420_000);
const log = (line: string) => process.stderr.write(`bench:trainer: ${line}\n`);
const seconds = (from: number) => (performance.now() - from) / 1000;
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

interface Round {
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  /** Target tokens of each step. */
  perStep: number[];
  finalLoss: number;
  /** CPU seconds (every thread) over the measured steps: this process's, or model-host's + trainer's + data's. */
  cpu: number;
}
interface TrainerRound extends Round {
  runId: string;
  /** tokens of steps 1..N-2 / time from step 0's event to step N-2's. */
  endToEnd: { tokens: number; seconds: number; tokensPerSecond: number; cpu: { host: number; trainer: number; data: number } };
  /** StartRun to the first step event, and to the end of WatchRun. */
  setupSeconds: number;
  runSeconds: number;
  evalSeconds: number;
  checkpointSeconds: number;
}

const facts = machineFacts();
console.log(`machine: ${facts}`);
let stack: TrainerStack | undefined;
let failed = false;
try {
  // ---- (a) in-process ------------------------------------------------------------------------------------
  const backend = await initBackend({ logger: () => {} });
  log(`in-process: loading ${storiesHf} and building the corpus (top ${TOP_PAGES} pages)`);
  const model = loadModel(storiesHf);
  const maxLength = model.config.maxSeqLen;
  const tokenizer = await loadTokenizer(storiesHf);
  // The options DataService's LoadCorpus resolves for the trainer's request (lenient, seed 0, default pools).
  const corpus = await buildCorpus(
    { claims: feverFiles.claims, pages: feverFiles.pages, assignments: feverFiles.assignments },
    { topN: TOP_PAGES, seed: 0, mode: 'lenient', maxLength, tokenizer },
  );
  const rows: TrainingRow[] = corpus.chunks!.map((c) => ({ ids: c.tokens, documentIndex: c.docIndex }));
  const documents = corpus.documents!.map((d) => ({ id: String(d.index), tokens: d.tokens }));
  const memoryConfig: MemoryConfig = { kind: 'memory', layer: LAYER, entries: ENTRIES, seed: MEMORY_SEED };
  const schedule = (steps: number): TrainingSchedule => ({ steps, learningRate: LEARNING_RATE, batchSize: BATCH_SIZE, seed: SHUFFLE_SEED });

  const inProcessRound = async (steps: number): Promise<Round> => {
    const memory = createMemoryFor(model, memoryConfig, documents);
    const run = new TrainingRun(model, memory, rows, { schedule: schedule(steps) });
    const perStep: number[] = [];
    let finalLoss = NaN;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for await (const r of run.iterate()) {
      perStep.push(r.tokens);
      finalLoss = r.loss;
    }
    const s = seconds(t0);
    const cpu = process.cpuUsage(cpu0);
    run.dispose();
    memory.dispose();
    const tokens = sum(perStep);
    return { tokens, seconds: s, tokensPerSecond: tokens / s, perStep, finalLoss, cpu: (cpu.user + cpu.system) / 1e6 };
  };

  // ---- (b) through the trainer ---------------------------------------------------------------------------
  log('starting DataService, model-host and trainer');
  stack = await startTrainerStack();
  const client = connect(trainer.TrainerClient, stack.trainer.address);
  const spec = (steps: number): trainer.RunSpec =>
    trainer.RunSpec.fromPartial({
      modelPath: storiesHf,
      claimsPath: feverFiles.claims,
      pagesPath: feverFiles.pages,
      assignmentPath: feverFiles.assignments,
      topN: TOP_PAGES,
      memory: common.MemoryConfig.fromPartial({
        kind: common.MemoryKind.MEMORY_KIND_MEMORY,
        layer: LAYER,
        entries: ENTRIES,
        seed: BigInt(MEMORY_SEED),
      }),
      training: common.TrainingConfig.fromPartial({
        batchSize: BATCH_SIZE,
        learningRate: LEARNING_RATE,
        maxSteps: steps,
        seed: BigInt(SHUFFLE_SEED),
        checkpointEvery: steps + 1,
      }),
      evalEvery: steps + 1,
      localityPages: 0,
    });
  const terminal = new Set([common.JobState.JOB_STATE_SUCCEEDED, common.JobState.JOB_STATE_FAILED, common.JobState.JOB_STATE_CANCELLED]);

  const trainerRound = async (runId: string, steps: number): Promise<TrainerRound> => {
    const t0 = performance.now();
    await callUnary(client, client.startRun, { runId, spec: spec(steps) }, 30_000);
    /** Arrival time (ms) of each step's first event; the three processes' CPU seconds at steps 0 and N-2. */
    const arrivals = new Map<number, number>();
    const cpuAt = new Map<number, number[]>();
    const pids = [stack!.host, stack!.trainer, stack!.data].map((p) => p.child.pid!);
    const last = steps - 2;
    for await (const e of callStream(client, client.watchRun, { runId, snapshot: false }, RUN_DEADLINE_MS)) {
      const step = Number(e.step);
      if (step >= 0 && !arrivals.has(step)) {
        arrivals.set(step, performance.now());
        if (step === 0 || step === last) cpuAt.set(step, pids.map(cpuSeconds));
      }
      if (terminal.has(e.state) && e.step < 0n) break;
    }
    const runSeconds = seconds(t0);
    const run = (await callUnary(client, client.getRun, { runId }, 30_000)).run!;
    if (run.state !== common.JobState.JOB_STATE_SUCCEEDED) throw new Error(`run ${runId} ended ${common.JobState[run.state]}: ${run.error}`);
    const timings = run.timings!;
    const perStep = run.steps.map((s) => s.tokens);
    const first = arrivals.get(0);
    const lastAt = arrivals.get(last);
    const [cpuFirst, cpuLast] = [cpuAt.get(0), cpuAt.get(last)];
    if (first === undefined || lastAt === undefined || !cpuFirst || !cpuLast) throw new Error(`run ${runId}: no event for step 0 or step ${last}`);
    const e2eTokens = sum(perStep.slice(1, last + 1));
    const e2eSeconds = (lastAt - first) / 1000;
    return {
      runId,
      tokens: Number(timings.tokens),
      seconds: timings.trainSeconds,
      tokensPerSecond: timings.tokensPerSecond,
      perStep,
      finalLoss: run.lastLoss,
      cpu: sum(cpuLast) - sum(cpuFirst),
      endToEnd: {
        tokens: e2eTokens,
        seconds: e2eSeconds,
        tokensPerSecond: e2eTokens / e2eSeconds,
        cpu: { host: cpuLast[0] - cpuFirst[0], trainer: cpuLast[1] - cpuFirst[1], data: cpuLast[2] - cpuFirst[2] },
      },
      setupSeconds: (first - t0) / 1000,
      runSeconds,
      evalSeconds: timings.evalSeconds,
      checkpointSeconds: timings.checkpointSeconds,
    };
  };

  // ---- warm-up, then alternating rounds ------------------------------------------------------------------
  log(`warm-up: ${WARMUP_STEPS} steps in-process and through the trainer`);
  await inProcessRound(WARMUP_STEPS);
  await trainerRound('warmup', WARMUP_STEPS);
  const hostClient = connect(modelHost.ModelHostClient, stack.host.address);
  const hostBackend = (await callUnary(hostClient, hostClient.listModels, {}, 10_000)).models[0]?.backend ?? 'unknown';
  hostClient.close();

  const local: Round[] = [];
  const remote: TrainerRound[] = [];
  const spread = (xs: readonly Round[]) => Math.max(...xs.map((r) => r.tokensPerSecond)) / Math.min(...xs.map((r) => r.tokensPerSecond)) - 1;
  const roundsBegan = performance.now();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (round >= ROUNDS) {
      if (spread(local) <= NOISE && spread(remote) <= NOISE) break;
      const pairSeconds = seconds(roundsBegan) / round;
      if (seconds(began) + pairSeconds > BUDGET_S) {
        log(`rounds differ by more than ${NOISE * 100}%, but another pair (~${pairSeconds.toFixed(0)} s) would pass the ${BUDGET_S} s budget`);
        break;
      }
      log(`rounds differ by more than ${NOISE * 100}%: one more pair`);
    }
    const sides = [
      async () => {
        log(`round ${round + 1}: in-process, ${STEPS} steps`);
        const r = await inProcessRound(STEPS);
        local.push(r);
        log(`round ${round + 1}: in-process ${r.tokensPerSecond.toFixed(0)} tokens/s (${r.seconds.toFixed(1)} s)`);
      },
      async () => {
        log(`round ${round + 1}: through the trainer, ${STEPS} steps`);
        const r = await trainerRound(`round-${round + 1}`, STEPS);
        remote.push(r);
        log(
          `round ${round + 1}: trainer ${r.tokensPerSecond.toFixed(0)} train tokens/s, ${r.endToEnd.tokensPerSecond.toFixed(0)} end-to-end (${r.runSeconds.toFixed(1)} s)`,
        );
      },
    ];
    if (round % 2 === 1) sides.reverse();
    for (const side of sides) await side();
  }
  client.close();
  model.dispose();

  // ---- report --------------------------------------------------------------------------------------------
  const rate = (xs: ReadonlyArray<{ tokens: number; seconds: number }>) => sum(xs.map((x) => x.tokens)) / sum(xs.map((x) => x.seconds));
  const localRate = rate(local);
  const trainRate = rate(remote);
  const e2eRate = rate(remote.map((r) => r.endToEnd));
  // The machine's speed drifts (2 shared cores): each trainer round is compared with the in-process round next to
  // it in time, and the verdict is the median of those ratios (the pooled ratio is printed beside it).
  const median = (xs: readonly number[]) => {
    const o = [...xs].sort((a, b) => a - b);
    return o.length % 2 ? o[(o.length - 1) / 2] : (o[o.length / 2 - 1] + o[o.length / 2]) / 2;
  };
  const trainPairs = remote.map((r, i) => r.tokensPerSecond / local[i].tokensPerSecond);
  const e2ePairs = remote.map((r, i) => r.endToEnd.tokensPerSecond / local[i].tokensPerSecond);
  const trainRatio = median(trainPairs);
  const e2eRatio = median(e2ePairs);
  const localPerStep = sum(local.map((r) => r.tokens)) / sum(local.map((r) => r.perStep.length));
  const remotePerStep = sum(remote.map((r) => r.tokens)) / sum(remote.map((r) => r.perStep.length));
  const sameSteps = [...local, ...remote].every((r) => r.perStep.length === STEPS && r.perStep.every((t, i) => t === local[0].perStep[i]));
  const lossDiff = Math.max(...remote.map((r) => Math.abs(r.finalLoss - local[0].finalLoss) / Math.abs(local[0].finalLoss)));
  // CPU per 1000 tokens: load from other processes slows a round but adds little CPU to it.
  const localCpu = (1000 * sum(local.map((r) => r.cpu))) / sum(local.map((r) => r.tokens));
  const stackCpu = (k: 'host' | 'trainer' | 'data') => (1000 * sum(remote.map((r) => r.endToEnd.cpu[k]))) / sum(remote.map((r) => r.endToEnd.tokens));
  const remoteCpu = { host: stackCpu('host'), trainer: stackCpu('trainer'), data: stackCpu('data') };
  const remoteCpuTotal = remoteCpu.host + remoteCpu.trainer + remoteCpu.data;
  const wallSeconds = seconds(began);

  const each = (xs: readonly number[]) => xs.map(f0).join(', ');
  const pairs = (xs: readonly number[]) => xs.map(f2).join(', ');
  const table: string[][] = [
    ['train tokens/s, in-process (TrainingRun)', f0(localRate), `rounds ${each(local.map((r) => r.tokensPerSecond))}`, '', ''],
    [
      'train tokens/s, trainer (Run.timings)',
      f0(trainRate),
      `${f2(trainRatio)}x in-process (pairs ${pairs(trainPairs)}; pooled ${f2(trainRate / localRate)}x); rounds ${each(remote.map((r) => r.tokensPerSecond))}`,
      `>= ${TARGET}x`,
      meets(trainRatio >= TARGET),
    ],
    [
      'end-to-end tokens/s, trainer (step events)',
      f0(e2eRate),
      `${f2(e2eRatio)}x in-process (pairs ${pairs(e2ePairs)}; pooled ${f2(e2eRate / localRate)}x); rounds ${each(remote.map((r) => r.endToEnd.tokensPerSecond))}`,
      `>= ${TARGET}x`,
      meets(e2eRatio >= TARGET),
    ],
    [
      'tokens/step, in-process / trainer',
      `${f1(localPerStep)} / ${f1(remotePerStep)}`,
      sameSteps ? 'the same tokens at every step' : 'DIFFER: the two runs do not train the same rows per step',
      'equal',
      meets(sameSteps),
    ],
    [
      'CPU ms per 1k tokens, in-process / trainer',
      `${f1(1000 * localCpu)} / ${f1(1000 * remoteCpuTotal)}`,
      `the three processes ${f2(remoteCpuTotal / localCpu)}x in-process; model-host ${f1(1000 * remoteCpu.host)}, trainer ${f1(1000 * remoteCpu.trainer)}, data ${f1(1000 * remoteCpu.data)}`,
      '',
      '',
    ],
    [
      'final loss, in-process / trainer',
      `${local[0].finalLoss.toFixed(4)} / ${remote[0].finalLoss.toFixed(4)}`,
      `max relative difference ${lossDiff.toExponential(1)}`,
      '',
      '',
    ],
    [
      'trainer run s: setup / steps / measures',
      `${f1(sum(remote.map((r) => r.setupSeconds)) / remote.length)} / ${f1(sum(remote.map((r) => r.seconds)) / remote.length)} / ${f2(sum(remote.map((r) => r.evalSeconds)) / remote.length)}`,
      `mean per round; StartRun to WatchRun's end ${f1(sum(remote.map((r) => r.runSeconds)) / remote.length)} s, final save ${f2(sum(remote.map((r) => r.checkpointSeconds)) / remote.length)} s`,
      '',
      '',
    ],
  ];
  const header = ['measure', 'value', 'against', 'target', 'meets'];
  console.log(
    `workload: stories260K HF (${model.config.nLayers} layers, d ${model.config.dim}), bench backend ${backend.name}, model-host backend ${hostBackend}; ` +
      `top ${TOP_PAGES} FEVER pages = ${corpus.documents!.length} documents, ${rows.length} chunks of <= ${maxLength} tokens; memory m=${ENTRIES} layer ${LAYER} seed ${MEMORY_SEED}; ` +
      `batch ${BATCH_SIZE}, lr ${LEARNING_RATE.toPrecision(3)}, ${STEPS} steps x ${local.length} rounds each side after ${WARMUP_STEPS} warm-up steps${quick ? '; --quick' : ''}`,
  );
  for (const l of tableLines(header, table)) console.log(l);
  log(`wall time ${wallSeconds.toFixed(1)} s`);
  console.log(
    JSON.stringify({
      bench: 'trainer',
      quick,
      machine: facts,
      backend: { bench: backend.name, host: hostBackend },
      workload: {
        model: storiesHf,
        topPages: TOP_PAGES,
        documents: corpus.documents!.length,
        chunks: rows.length,
        maxLength,
        memory: { kind: 'memory', layer: LAYER, entries: ENTRIES, seed: MEMORY_SEED },
        batchSize: BATCH_SIZE,
        learningRate: LEARNING_RATE,
        steps: STEPS,
        warmupSteps: WARMUP_STEPS,
        rounds: local.length,
      },
      inProcess: {
        tokensPerSecond: localRate,
        tokensPerStep: localPerStep,
        cpuSecondsPerKiloToken: localCpu,
        rounds: local.map((r) => ({
          tokens: r.tokens,
          seconds: r.seconds,
          tokensPerSecond: r.tokensPerSecond,
          cpuSeconds: r.cpu,
          finalLoss: r.finalLoss,
        })),
      },
      trainer: {
        trainTokensPerSecond: trainRate,
        endToEndTokensPerSecond: e2eRate,
        tokensPerStep: remotePerStep,
        cpuSecondsPerKiloToken: { ...remoteCpu, total: remoteCpuTotal },
        rounds: remote.map((r) => ({
          runId: r.runId,
          tokens: r.tokens,
          trainSeconds: r.seconds,
          trainTokensPerSecond: r.tokensPerSecond,
          endToEnd: r.endToEnd,
          setupSeconds: r.setupSeconds,
          runSeconds: r.runSeconds,
          evalSeconds: r.evalSeconds,
          checkpointSeconds: r.checkpointSeconds,
          finalLoss: r.finalLoss,
        })),
      },
      ratio: {
        train: trainRatio,
        endToEnd: e2eRatio,
        trainPairs,
        endToEndPairs: e2ePairs,
        trainPooled: trainRate / localRate,
        endToEndPooled: e2eRate / localRate,
        target: TARGET,
      },
      sameTokensEveryStep: sameSteps,
      finalLossRelativeDifference: lossDiff,
      wallSeconds,
    }),
  );
} catch (error) {
  failed = true;
  process.stderr.write(`bench:trainer failed: ${(error as Error)?.stack ?? String(error)}\n`);
  for (const p of stack ? [stack.data, stack.host, stack.trainer] : []) {
    const tail = p.logs.slice(-10).join('\n');
    if (tail) process.stderr.write(`last ${p.name} log lines:\n${tail}\n`);
  }
} finally {
  await stack?.stop();
}
process.exit(failed ? 1 : 0);
