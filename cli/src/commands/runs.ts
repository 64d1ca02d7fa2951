/**
 * `memorize train` and `memorize runs list|show|wait|cancel`: clients of the Trainer service. Results go to
 * stdout (text, or one JSON document with --json); the progress of a followed run goes to stderr.
 */
import { Metadata } from '@grpc/grpc-js';
import { common, trainer } from '@memorize/contracts';
import { callUnary, connect } from '@memorize/service-kit';
import { call as callService, finishJob, follow, isoTime, serviceAddress, type ConfigSource, type Out } from '../client.js';
import { configKeyInMessage, configKeyOf, loadTrainConfig, memoryKinds, type TrainConfig } from '../train-config.js';
import { isTerminal, RunProgress, stateName } from '../progress.js';

/** The trainer to talk to: --trainer, else the local stack's trainer, else MEMORIZE_TRAINER_ADDRESS, else 127.0.0.1:50053. */
export function trainerAddress(given?: string): string {
  return serviceAddress('trainer', given);
}

function trainerClient(address: string): trainer.TrainerClient {
  return connect(trainer.TrainerClient, address);
}

const source = (config?: TrainConfig): ConfigSource | undefined => config && { file: config.file, keyOf: configKeyOf };

function call<Res>(address: string, fn: () => Promise<Res>, config?: TrainConfig): Promise<Res> {
  return callService('trainer', address, fn, source(config));
}

/** The summary of a run: what `train`, `runs wait` and `runs list` print. Absent figures are null. */
export interface RunSummary {
  run_id: string;
  state: string;
  steps: number;
  final_loss: number | null;
  document_nll_before: number | null;
  document_nll_after: number | null;
  locality_nll_before: number | null;
  locality_nll_after: number | null;
  tokens_per_s: number | null;
  memory_path: string | null;
}

const positive = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) && x > 0 ? x : null);

export function summarize(run: trainer.Run): RunSummary {
  const steps = Number(run.progress?.done ?? BigInt(run.steps.length));
  // GetRun carries the measure curve (step 0 = the base model); ListRuns only the scalars.
  const base = run.measures.find((m) => m.step === 0n);
  const after = run.measures.filter((m) => m.step > 0n).at(-1);
  const fromCurve = run.measures.length > 0;
  return {
    run_id: run.runId,
    state: stateName(run.state),
    steps,
    final_loss: steps > 0 || run.steps.length > 0 ? (run.steps.at(-1)?.loss ?? run.lastLoss) : null,
    document_nll_before: positive(run.baseMemorizationError) ?? positive(base?.memorizationError),
    document_nll_after: fromCurve ? positive(after?.memorizationError) : steps > 0 ? positive(run.lastMemorizationError) : null,
    locality_nll_before: positive(run.baseLocality) ?? positive(base?.locality),
    locality_nll_after: fromCurve ? positive(after?.locality) : steps > 0 ? positive(run.lastLocality) : null,
    tokens_per_s: positive(run.timings?.tokensPerSecond),
    memory_path: run.outputPath || null,
  };
}

const fixed = (x: number | null, digits = 4): string => (x === null ? '-' : x.toFixed(digits));

function summaryText(s: RunSummary): string {
  const lines = [`run ${s.run_id} ${s.state}: ${s.steps} steps, final loss ${fixed(s.final_loss)}`];
  lines.push(`document NLL  ${fixed(s.document_nll_before)} -> ${fixed(s.document_nll_after)} per token (base model -> with the memory)`);
  lines.push(`locality NLL  ${fixed(s.locality_nll_before)} -> ${fixed(s.locality_nll_after)} per token`);
  lines.push(`throughput    ${s.tokens_per_s === null ? '-' : Math.round(s.tokens_per_s)} tokens/s`);
  lines.push(`result        ${s.memory_path ?? '-'}`);
  return lines.join('\n') + '\n';
}

function writeSummary(run: trainer.Run, out: Out, json: boolean | undefined): void {
  const s = summarize(run);
  out.write(json ? JSON.stringify(s) + '\n' : summaryText(s));
}

/**
 * Exit status of a finished run: 0 when it succeeded, else its error on stderr and 1. With the config it was
 * started from, an error about a spec field also names the config key.
 */
function finish(run: trainer.Run, err: Out, config?: TrainConfig): void {
  finishJob(`run ${run.runId}`, run.state, run.error, err, config && { file: config.file, keyInMessage: (m) => configKeyInMessage(m, config.spec) });
}

async function getRun(client: trainer.TrainerClient, address: string, runId: string): Promise<trainer.Run> {
  const res = await call(address, () => callUnary(client, client.getRun, { runId }, 30_000));
  return res.run!;
}

/**
 * Follows a run with WatchRun until it ends, the progress on `err`, and returns its full record (GetRun).
 * A trainer that restarts meanwhile is waited for and watched again; SIGINT stops following (exit 130).
 */
export async function followRun(client: trainer.TrainerClient, address: string, runId: string, err: Out): Promise<trainer.Run> {
  const progress = new RunProgress(runId, err);
  try {
    return await follow({
      service: 'trainer',
      address,
      what: `run ${runId}`,
      reattach: `memorize runs wait ${runId}`,
      open: () => client.watchRun({ runId, snapshot: false }, new Metadata(), {}),
      onEvent: (event: trainer.WatchRunResponse) => progress.update(event),
      ended: (event) => isTerminal(event.state),
      final: async () => {
        const run = await getRun(client, address, runId);
        return isTerminal(run.state) ? run : undefined;
      },
      err,
    });
  } finally {
    progress.finish();
  }
}

export interface TrainOptions {
  config: string;
  json?: boolean;
  detach?: boolean;
  trainer?: string;
}

/** `memorize train --config FILE.yaml`: StartRun, then follow it (unless --detach) and print its summary. */
export async function runTrain(options: TrainOptions, out: Out, err: Out): Promise<void> {
  const config = loadTrainConfig(options.config);
  const address = trainerAddress(options.trainer);
  const client = trainerClient(address);
  try {
    const started = await call(address, () => callUnary(client, client.startRun, { runId: '', spec: config.spec }, 60_000), config);
    const run = started.run!;
    if (options.detach) {
      out.write(JSON.stringify({ run_id: run.runId }) + '\n');
      return;
    }
    err.write(
      `run ${run.runId} started${run.modelHost ? ` on model-host ${run.modelHost}` : ''} (Ctrl-C detaches; memorize runs wait ${run.runId} reattaches)\n`,
    );
    const final = await followRun(client, address, run.runId, err);
    writeSummary(final, out, options.json);
    finish(final, err, config);
  } finally {
    client.close();
  }
}

export interface RunsOptions {
  json?: boolean;
  trainer?: string;
}

async function withClient<T>(options: RunsOptions, fn: (client: trainer.TrainerClient, address: string) => Promise<T>): Promise<T> {
  const address = trainerAddress(options.trainer);
  const client = trainerClient(address);
  try {
    return await fn(client, address);
  } finally {
    client.close();
  }
}

const states: Readonly<Record<string, common.JobState>> = {
  queued: common.JobState.JOB_STATE_QUEUED,
  running: common.JobState.JOB_STATE_RUNNING,
  succeeded: common.JobState.JOB_STATE_SUCCEEDED,
  failed: common.JobState.JOB_STATE_FAILED,
  cancelled: common.JobState.JOB_STATE_CANCELLED,
};
export const runStateNames = Object.keys(states);

/** `memorize runs list`: newest first. */
export async function runsList(options: RunsOptions & { state?: string; limit?: number }, out: Out): Promise<void> {
  await withClient(options, async (client, address) => {
    const request = { state: options.state ? states[options.state] : common.JobState.JOB_STATE_UNSPECIFIED, limit: options.limit ?? 0 };
    const { runs } = await call(address, () => callUnary(client, client.listRuns, request, 30_000));
    if (options.json) {
      const rows = runs.map((r) => ({
        ...summarize(r),
        total_steps: Number(r.progress?.total ?? 0n),
        created_at: isoTime(r.createdAt),
        model_host: r.modelHost || null,
      }));
      out.write(JSON.stringify(rows, null, 2) + '\n');
      return;
    }
    if (runs.length === 0) {
      out.write('no runs\n');
      return;
    }
    out.write(`${'RUN'.padEnd(24)} ${'STATE'.padEnd(10)} ${'STEPS'.padStart(13)} ${'LOSS'.padStart(9)} ${'DOC NLL'.padStart(17)}  CREATED\n`);
    for (const r of runs) {
      const s = summarize(r);
      const steps = `${s.steps}/${Number(r.progress?.total ?? 0n) || '?'}`;
      const nll = s.document_nll_before === null ? '-' : `${fixed(s.document_nll_before, 3)}->${fixed(s.document_nll_after, 3)}`;
      out.write(
        `${s.run_id.padEnd(24)} ${s.state.padEnd(10)} ${steps.padStart(13)} ${fixed(s.final_loss).padStart(9)} ${nll.padStart(17)}  ${isoTime(r.createdAt) ?? '-'}\n`,
      );
    }
  });
}

/** A memory kind by its config name ("doc-key"). */
const memoryName = (kind: common.MemoryKind): string => Object.entries(memoryKinds).find(([, v]) => v === kind)?.[0] ?? String(kind);

/** `memorize runs show ID`: the summary, the spec, the curves, checkpoints and timings. */
export async function runsShow(runId: string, options: RunsOptions, out: Out): Promise<void> {
  await withClient(options, async (client, address) => {
    const run = await getRun(client, address, runId);
    if (options.json) {
      out.write(JSON.stringify({ ...summarize(run), record: trainer.Run.toJSON(run) }, null, 2) + '\n');
      return;
    }
    out.write(summaryText(summarize(run)));
    const spec = run.spec;
    if (spec) {
      const kind = spec.jobKind === trainer.JobKind.JOB_KIND_FULL ? 'full' : 'memory';
      out.write(
        `job           ${kind}${spec.memory && kind === 'memory' ? ` (${memoryName(spec.memory.kind)}, layer ${spec.memory.layer}, ${spec.memory.entries || 128} entries)` : ''}\n`,
      );
      out.write(`model         ${spec.modelPath}\n`);
      out.write(`corpus        ${spec.pagesPath} (top ${spec.topN || 'all'})\n`);
    }
    if (run.modelHost) out.write(`model-host    ${run.modelHost}\n`);
    if (run.error) out.write(`error         ${run.error}\n`);
    const t = run.timings;
    if (t)
      out.write(
        `timings       train ${t.trainSeconds.toFixed(1)} s, eval ${t.evalSeconds.toFixed(1)} s, checkpoints ${t.checkpointSeconds.toFixed(1)} s, ${t.tokens} tokens, ${t.resumes} resumes\n`,
      );
    if (run.measures.length > 0) {
      out.write('measures      step  document NLL  locality NLL\n');
      for (const m of run.measures)
        out.write(
          `              ${String(m.step).padStart(4)}  ${m.memorizationError.toFixed(4).padStart(12)}  ${(m.locality > 0 ? m.locality.toFixed(4) : '-').padStart(12)}\n`,
        );
    }
    if (run.steps.length > 0) {
      const every = Math.max(1, Math.ceil(run.steps.length / 10));
      const shown = run.steps.filter((_, i) => i % every === 0 || i === run.steps.length - 1);
      out.write(`loss          ${shown.map((s) => `${s.step}:${s.loss.toFixed(3)}`).join('  ')}\n`);
    }
    for (const c of run.checkpoints) out.write(`checkpoint    step ${c.step}  ${c.path}\n`);
  });
}

/** `memorize runs wait ID`: follows the run to its end and prints the same summary as `train`. */
export async function runsWait(runId: string, options: RunsOptions, out: Out, err: Out): Promise<void> {
  await withClient(options, async (client, address) => {
    const final = await followRun(client, address, runId, err);
    writeSummary(final, out, options.json);
    finish(final, err);
  });
}

/** `memorize runs cancel ID`: the run stops after its current step; its last checkpoint stays. */
export async function runsCancel(runId: string, options: RunsOptions, out: Out): Promise<void> {
  await withClient(options, async (client, address) => {
    const { run } = await call(address, () => callUnary(client, client.cancelRun, { runId }, 30_000));
    if (options.json) out.write(JSON.stringify(summarize(run!)) + '\n');
    else out.write(`run ${run!.runId} ${stateName(run!.state)}${isTerminal(run!.state) ? '' : ' (stops after its current step)'}\n`);
  });
}
