/**
 * `memorize eval`, `memorize evals list|show`, `memorize sweep`, `memorize sweeps list|show|cancel` and
 * `memorize report`: clients of the Evaluator service. Results go to stdout (text, or one JSON document with
 * --json); the progress of a followed evaluation or sweep goes to stderr. Sweep reports are libs/report's files.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { common, evaluator } from '@memorize/contracts';
import { InvalidArgumentError } from '@memorize/errors';
import { writeFileAtomic } from '@memorize/files';
import { labelName, predictionsJsonl, reportJson, scoringName, writeSweepReport, type ReportCell } from '@memorize/report';
import { callUnary, connect } from '@memorize/service-kit';
import { call as callService, finishJob, follow, serviceAddress, type ConfigSource, type Out } from '../client.js';
import { jobConfigKeyOf, loadEvalConfig, loadSweepConfig, type JobConfig } from '../eval-config.js';
import { fromFlag } from '../flags.js';
import { cellName, EvalProgress, isTerminal, stateName, SweepProgress } from '../progress.js';

type Client = evaluator.EvaluatorClient;

export interface EvaluatorOptions {
  json?: boolean;
  evaluator?: string;
}

const source = <S>(config?: JobConfig<S>): ConfigSource | undefined =>
  config && { file: config.file, keyOf: (field) => jobConfigKeyOf(config.schema, field) };

async function withEvaluator<T>(options: EvaluatorOptions, fn: (client: Client, address: string) => Promise<T>): Promise<T> {
  const address = serviceAddress('evaluator', options.evaluator);
  const client = connect(evaluator.EvaluatorClient, address);
  try {
    return await fn(client, address);
  } finally {
    client.close();
  }
}

function call<Res>(address: string, fn: () => Promise<Res>, config?: JobConfig<unknown>): Promise<Res> {
  return callService('evaluator', address, fn, source(config));
}

const positive = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) && x > 0 ? x : null);
const fixed = (x: number | null, digits = 4): string => (x === null ? '-' : x.toFixed(digits));

/** The report of an evaluation as `eval --json` prints it; null where it has no figure. */
export interface EvalSummary {
  evaluation_id: string;
  state: string;
  name: string | null;
  scoring: 'loglik' | 'generate';
  n: number | null;
  accuracy: number | null;
  ci_low: number | null;
  ci_high: number | null;
  f1_micro: number | null;
  f1_macro: number | null;
  invalid_rate: number | null;
  per_label: Array<{ label: string; precision: number; recall: number; f1: number; support: number }>;
  /** Rows: gold SUPPORTS, REFUTES, NOT ENOUGH INFO; columns: predicted the same three, then invalid. */
  confusion: number[][] | null;
  memorization_error: number | null;
  locality: number | null;
  claims_per_s: number | null;
  memory_path: string | null;
  error: string | null;
}

const confusionColumns = ['SUPPORTS', 'REFUTES', 'NOT ENOUGH INFO', 'invalid'];

export function summarizeEvaluation(e: evaluator.Evaluation): EvalSummary {
  const r = e.report;
  const m = r?.metrics;
  return {
    evaluation_id: e.evaluationId,
    state: stateName(e.state),
    name: r?.name || e.spec?.name || null,
    scoring: scoringName(r?.scoring ?? e.spec?.scoring ?? evaluator.ScoringMode.SCORING_MODE_UNSPECIFIED),
    n: m ? m.count : null,
    accuracy: m ? m.accuracy : null,
    ci_low: m ? m.accuracyCiLow : null,
    ci_high: m ? m.accuracyCiHigh : null,
    f1_micro: m ? m.f1Micro : null,
    f1_macro: m ? m.f1Macro : null,
    invalid_rate: m ? m.invalidRate : null,
    per_label: (m?.perLabel ?? []).map((l) => ({
      label: labelName(l.label) ?? String(l.label),
      precision: l.precision,
      recall: l.recall,
      f1: l.f1,
      support: l.support,
    })),
    confusion: m && m.confusion.length === 12 ? [0, 1, 2].map((g) => m.confusion.slice(g * 4, g * 4 + 4)) : null,
    memorization_error: positive(r?.memorizationError),
    locality: positive(r?.locality),
    claims_per_s: positive(r?.claimsPerSecond),
    memory_path: e.spec?.memoryPath || null,
    error: e.error || null,
  };
}

function evaluationText(s: EvalSummary, e: evaluator.Evaluation): string {
  const shots = e.spec?.shots ?? 1;
  const lines = [
    `evaluation ${s.evaluation_id} ${s.state}: ${s.n ?? Number(e.progress?.done ?? 0n)} claims, ${s.scoring} ${shots}-shot, ${s.memory_path ? `memory ${s.memory_path}` : 'pretrained (no memory)'}`,
  ];
  if (s.accuracy !== null) {
    lines.push(`accuracy      ${fixed(s.accuracy)}  (95% CI ${fixed(s.ci_low)}..${fixed(s.ci_high)})`);
    lines.push(`F1            micro ${fixed(s.f1_micro)}  macro ${fixed(s.f1_macro)}`);
    lines.push(`invalid       ${fixed(s.invalid_rate)} of the answers`);
    lines.push(`${'label'.padEnd(18)}${'precision'.padStart(10)}${'recall'.padStart(8)}${'F1'.padStart(8)}${'support'.padStart(9)}`);
    for (const l of s.per_label)
      lines.push(
        `${l.label.padEnd(18)}${fixed(l.precision).padStart(10)}${fixed(l.recall).padStart(8)}${fixed(l.f1).padStart(8)}${String(l.support).padStart(9)}`,
      );
    if (s.confusion) {
      lines.push(`confusion (rows: gold, columns: predicted)`);
      lines.push(`${''.padEnd(18)}${confusionColumns.map((c) => c.padStart(17)).join('')}`);
      s.confusion.forEach((row, g) => lines.push(`${confusionColumns[g].padEnd(18)}${row.map((n) => String(n).padStart(17)).join('')}`));
    }
  }
  if (s.memorization_error !== null) lines.push(`document NLL  ${fixed(s.memorization_error)} per token (the memory's training run)`);
  if (s.locality !== null) lines.push(`locality NLL  ${fixed(s.locality)} per token`);
  if (s.claims_per_s !== null) lines.push(`throughput    ${s.claims_per_s.toFixed(1)} claims/s`);
  if (s.error) lines.push(`error         ${s.error}`);
  return lines.join('\n') + '\n';
}

async function getEvaluation(client: Client, address: string, evaluationId: string): Promise<evaluator.Evaluation> {
  return (await call(address, () => callUnary(client, client.getEvaluation, { evaluationId }, 30_000))).evaluation!;
}

async function getSweep(client: Client, address: string, sweepId: string): Promise<evaluator.Sweep> {
  return (await call(address, () => callUnary(client, client.getSweep, { sweepId }, 60_000))).sweep!;
}

function finish(what: string, state: common.JobState, error: string, err: Out, config?: JobConfig<unknown>): void {
  finishJob(what, state, error, err, config && { file: config.file, keyInMessage: (m) => config.schema.keyInMessage(m, config.spec as object) });
}

/** Writes an evaluation's predictions, one JSON line per claim, atomically (the folder is created). */
async function writePredictions(file: string, report: evaluator.EvaluationReport): Promise<void> {
  await fromFlag('--predictions', () => {
    const path = resolve(file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, Buffer.from(predictionsJsonl(report), 'utf8'), 'predictions');
  });
}

/** Follows an evaluation to its end (progress on `err`) and returns its record with the report. */
async function followEvaluation(client: Client, address: string, evaluationId: string, err: Out): Promise<evaluator.Evaluation> {
  const progress = new EvalProgress(evaluationId, err);
  try {
    return await follow({
      service: 'evaluator',
      address,
      what: `evaluation ${evaluationId}`,
      reattach: `memorize evals show ${evaluationId}`,
      open: () => client.watchEvaluation({ evaluationId }, new Metadata(), {}),
      onEvent: (event: evaluator.WatchEvaluationResponse) => progress.update(event.evaluation!),
      ended: (event) => isTerminal(event.evaluation!.state),
      final: async () => {
        const e = await getEvaluation(client, address, evaluationId);
        return isTerminal(e.state) ? e : undefined;
      },
      err,
    });
  } finally {
    progress.finish();
  }
}

export interface EvalOptions extends EvaluatorOptions {
  config: string;
  predictions?: string;
  detach?: boolean;
}

/** `memorize eval --config FILE.yaml`: StartEvaluation, follow it, print its report (and write its predictions). */
export async function runEval(options: EvalOptions, out: Out, err: Out): Promise<void> {
  const config = loadEvalConfig(options.config);
  await withEvaluator(options, async (client, address) => {
    const started = await call(address, () => callUnary(client, client.startEvaluation, { evaluationId: '', spec: config.spec }, 60_000), config);
    const id = started.evaluation!.evaluationId;
    if (options.detach) {
      out.write(JSON.stringify({ evaluation_id: id }) + '\n');
      return;
    }
    err.write(`evaluation ${id} started (Ctrl-C detaches; memorize evals show ${id} shows it)\n`);
    const final = await followEvaluation(client, address, id, err);
    if (options.predictions && final.report) await writePredictions(options.predictions, final.report);
    else if (options.predictions) err.write(`memorize: ${options.predictions} not written: evaluation ${id} has no predictions\n`);
    const s = summarizeEvaluation(final);
    out.write(options.json ? JSON.stringify(s) + '\n' : evaluationText(s, final));
    finish(`evaluation ${id}`, final.state, final.error, err, config);
  });
}

/** `memorize evals list`: newest first. */
export async function evalsList(options: EvaluatorOptions & { limit?: number }, out: Out): Promise<void> {
  await withEvaluator(options, async (client, address) => {
    const { evaluations } = await call(address, () => callUnary(client, client.listEvaluations, { limit: options.limit ?? 0 }, 30_000));
    if (options.json) {
      out.write(JSON.stringify(evaluations.map(summarizeEvaluation), null, 2) + '\n');
      return;
    }
    if (evaluations.length === 0) {
      out.write('no evaluations\n');
      return;
    }
    out.write(`${'EVALUATION'.padEnd(36)} ${'STATE'.padEnd(10)} ${'CLAIMS'.padStart(11)} ${'ACCURACY'.padStart(9)}  NAME\n`);
    for (const e of evaluations) {
      const s = summarizeEvaluation(e);
      const claims = `${Number(e.progress?.done ?? 0n)}/${Number(e.progress?.total ?? 0n) || '?'}`;
      out.write(`${s.evaluation_id.padEnd(36)} ${s.state.padEnd(10)} ${claims.padStart(11)} ${fixed(s.accuracy).padStart(9)}  ${s.name ?? '-'}\n`);
    }
  });
}

/** `memorize evals show ID`: the report, and the spec (--json: the summary and the full record). */
export async function evalsShow(id: string, options: EvaluatorOptions, out: Out): Promise<void> {
  await withEvaluator(options, async (client, address) => {
    const e = await getEvaluation(client, address, id);
    const s = summarizeEvaluation(e);
    if (options.json) {
      out.write(JSON.stringify({ ...s, record: evaluator.Evaluation.toJSON(e) }, null, 2) + '\n');
      return;
    }
    out.write(evaluationText(s, e));
    if (e.spec) {
      out.write(`model         ${e.spec.modelPath}\n`);
      out.write(`corpus        ${e.spec.pagesPath} (top ${e.spec.topN || 'all'}${e.spec.limit ? `, at most ${e.spec.limit} claims` : ''})\n`);
    }
    if (!isTerminal(e.state)) out.write(`progress      ${e.progress?.done ?? 0}/${e.progress?.total ?? '?'} claims\n`);
  });
}

/** A sweep as `sweep --json`, `sweeps list --json` and `sweeps show --json` print it. */
export interface SweepSummary {
  sweep_id: string;
  state: string;
  cells_done: number;
  cells_total: number;
  variants: string[];
  layers: number[];
  error: string | null;
}

export function summarizeSweep(s: evaluator.Sweep): SweepSummary {
  return {
    sweep_id: s.sweepId,
    state: stateName(s.state),
    cells_done: Number(s.progress?.done ?? 0n),
    cells_total: Number(s.progress?.total ?? BigInt(s.cells.length)),
    variants: s.spec?.variants.map((v) => v.name) ?? [],
    layers: s.spec?.layers ?? [],
    error: s.error || null,
  };
}

/** Follows a sweep to its end: WatchSweep for the cells, the running cells' evaluations polled for claims/s. */
async function followSweep(client: Client, address: string, sweepId: string, err: Out): Promise<evaluator.Sweep> {
  const progress = new SweepProgress(sweepId, err);
  let latest: evaluator.Sweep | undefined;
  let polling = false;
  const poll = setInterval(() => {
    if (polling || !latest) return;
    polling = true;
    const running = latest.cells.filter((c) => c.state === common.JobState.JOB_STATE_RUNNING && c.evaluationId);
    void Promise.all(
      running.map((c) =>
        callUnary(client, client.getEvaluation, { evaluationId: c.evaluationId }, 5_000).then(
          (r) => progress.cellEvaluation(c, r.evaluation!),
          () => undefined, // not created yet (the cell is training) or the evaluator restarting
        ),
      ),
    ).finally(() => (polling = false));
  }, 1_000);
  try {
    return await follow({
      service: 'evaluator',
      address,
      what: `sweep ${sweepId}`,
      reattach: `memorize sweeps show ${sweepId} (and memorize report ${sweepId} --out DIR once it has ended)`,
      open: () => client.watchSweep({ sweepId }, new Metadata(), {}),
      onEvent: (event: evaluator.WatchSweepResponse) => {
        latest = event.sweep!;
        progress.update(latest);
      },
      ended: (event) => isTerminal(event.sweep!.state),
      final: async () => {
        const s = await getSweep(client, address, sweepId);
        return isTerminal(s.state) ? s : undefined;
      },
      err,
    });
  } finally {
    clearInterval(poll);
    progress.finish();
  }
}

/** Writes the sweep's report files into `out` (libs/report); the paths written. */
async function writeReport(sweep: evaluator.Sweep, outDir: string): Promise<{ files: string[]; cells: ReportCell[] }> {
  const written = await fromFlag('--out', () => writeSweepReport(sweep, resolve(outDir)));
  return { files: written.files, cells: written.json.cells };
}

function sweepText(sweep: evaluator.Sweep, files: string[]): string {
  const lines = [`sweep ${sweep.sweepId} ${stateName(sweep.state)}: ${sweep.cells.length} cells`, ''];
  if (sweep.tableMarkdown) lines.push(sweep.tableMarkdown.trimEnd(), '');
  if (sweep.significance) lines.push(sweep.significance.trim(), '');
  for (const c of sweep.cells.filter((c) => c.error)) lines.push(`${cellName(c)}: ${stateName(c.state)}: ${c.error}`);
  const main = files.filter((f) => !/[/\\]predictions[/\\]/.test(f));
  if (files.length > 0) lines.push(`report: ${main.join(', ')} (+ ${files.length - main.length} predictions files)`);
  return lines.join('\n') + '\n';
}

export interface SweepOptions extends EvaluatorOptions {
  config: string;
  /** The report folder; required unless detached. */
  out?: string;
  detach?: boolean;
}

/** `memorize sweep --config FILE.yaml --out DIR`: StartSweep, follow it, print the table, write the report. */
export async function runSweep(options: SweepOptions, out: Out, err: Out): Promise<void> {
  const outDir = options.out;
  if (outDir === undefined && !options.detach)
    throw new InvalidArgumentError("--out is required: the folder for the sweep's report (or --detach)", '--out');
  const config = loadSweepConfig(options.config);
  await withEvaluator(options, async (client, address) => {
    const started = await call(address, () => callUnary(client, client.startSweep, { sweepId: '', spec: config.spec }, 60_000), config);
    const id = started.sweep!.sweepId;
    if (options.detach) {
      out.write(JSON.stringify({ sweep_id: id }) + '\n');
      return;
    }
    err.write(
      `sweep ${id} started: ${started.sweep!.cells.length} cells (Ctrl-C detaches; memorize report ${id} --out DIR writes its report later)\n`,
    );
    const final = await followSweep(client, address, id, err);
    const report = await writeReport(final, outDir!);
    if (options.json)
      out.write(
        JSON.stringify({
          ...summarizeSweep(final),
          cells: report.cells,
          table_markdown: final.tableMarkdown,
          significance: final.significance,
          out: resolve(outDir!),
          files: report.files,
        }) + '\n',
      );
    else out.write(sweepText(final, report.files));
    finish(`sweep ${id}`, final.state, final.error, err, config);
  });
}

/** `memorize report SWEEP_ID --out DIR`: GetSweep, then the report files. */
export async function runReport(sweepId: string, options: EvaluatorOptions & { out: string }, out: Out, err: Out): Promise<void> {
  await withEvaluator(options, async (client, address) => {
    const sweep = await getSweep(client, address, sweepId);
    if (!isTerminal(sweep.state)) err.write(`memorize: sweep ${sweepId} is ${stateName(sweep.state)}; the report has the cells finished so far\n`);
    const report = await writeReport(sweep, options.out);
    if (options.json) out.write(JSON.stringify({ ...summarizeSweep(sweep), out: resolve(options.out), files: report.files }) + '\n');
    else out.write(report.files.join('\n') + '\n');
  });
}

/** `memorize sweeps list`: newest first. */
export async function sweepsList(options: EvaluatorOptions & { limit?: number }, out: Out): Promise<void> {
  await withEvaluator(options, async (client, address) => {
    const { sweeps } = await call(address, () => callUnary(client, client.listSweeps, { limit: options.limit ?? 0 }, 30_000));
    if (options.json) {
      out.write(JSON.stringify(sweeps.map(summarizeSweep), null, 2) + '\n');
      return;
    }
    if (sweeps.length === 0) {
      out.write('no sweeps\n');
      return;
    }
    out.write(`${'SWEEP'.padEnd(30)} ${'STATE'.padEnd(10)} ${'CELLS'.padStart(7)}  VARIANTS x LAYERS\n`);
    for (const s of sweeps.map(summarizeSweep))
      out.write(
        `${s.sweep_id.padEnd(30)} ${s.state.padEnd(10)} ${`${s.cells_done}/${s.cells_total}`.padStart(7)}  ${s.variants.join(', ')} x ${s.layers.join(', ') || '-'}\n`,
      );
  });
}

/** `memorize sweeps show ID`: state, table, significance and every cell (--json: summary, cells, the record without predictions). */
export async function sweepsShow(sweepId: string, options: EvaluatorOptions, out: Out): Promise<void> {
  await withEvaluator(options, async (client, address) => {
    const sweep = await getSweep(client, address, sweepId);
    for (const c of sweep.cells) if (c.report) c.report.predictions = [];
    if (options.json) {
      const record = evaluator.Sweep.toJSON(sweep);
      out.write(JSON.stringify({ ...summarizeSweep(sweep), cells: reportJson(sweep).cells, record }, null, 2) + '\n');
      return;
    }
    out.write(sweepText(sweep, []));
    out.write(`${'cell'.padEnd(24)} ${'state'.padEnd(10)} ${'accuracy'.padStart(9)}  run / evaluation\n`);
    for (const c of sweep.cells)
      out.write(
        `${cellName(c).padEnd(24)} ${stateName(c.state).padEnd(10)} ${fixed(c.report?.metrics?.accuracy ?? null).padStart(9)}  ${c.runId || '-'} / ${c.evaluationId || '-'}\n`,
      );
  });
}

/** `memorize sweeps cancel ID`: the sweep stops; its running training runs are cancelled. */
export async function sweepsCancel(sweepId: string, options: EvaluatorOptions, out: Out): Promise<void> {
  await withEvaluator(options, async (client, address) => {
    const { sweep } = await call(address, () => callUnary(client, client.cancelSweep, { sweepId }, 60_000));
    if (options.json) out.write(JSON.stringify(summarizeSweep(sweep!)) + '\n');
    else out.write(`sweep ${sweep!.sweepId} ${stateName(sweep!.state)}\n`);
  });
}
