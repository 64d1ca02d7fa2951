/**
 * EvaluationManager: evaluations and sweeps, stored in the EvalStore. An evaluation runs on the least loaded
 * model-host; a sweep trains each memory cell, and the `full` control's cell, through the Trainer (a run id derived
 * from the sweep and cell, so a resumed sweep finds its runs again), evaluates every cell (a memory cell with its
 * memory file attached, the full cell on the fine-tuned model the run wrote), and compares each with the pretrained
 * cell. Cells run concurrently (default one per model-host). A sweep resumes where it stopped: finished cells are
 * not redone, a cell whose run was interrupted resumes that run (the Trainer resumes unfinished runs itself), an
 * interrupted evaluation starts again.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { common, evaluator } from '@memorize/contracts';
import { AlreadyExistsError, CancelledError, FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from '@memorize/errors';
import type { RunLogger } from '@memorize/runs';
import { runEvaluation } from './evaluate.js';
import type { EvalDataPort, EvalHostPort, TrainerPort } from './ports.js';
import { EvalStore, TERMINAL } from './store.js';
import { markdownTable, resultsTable, sweepSignificance } from '@memorize/report';
import { ALPHA, cellKey, cellRunSpec, compareWithPretrained, isTrainedVariant, planCells, PRETRAINED_LAYER } from './sweep.js';

const { JobState } = common;
type JobState = common.JobState;

export interface EvaluationManagerOptions {
  store: EvalStore;
  data: EvalDataPort;
  hosts: readonly EvalHostPort[];
  trainer: TrainerPort;
  logger: RunLogger;
  /** How often a cell's training run is polled, ms (default 1000). */
  pollMs?: number;
}

/** The trainer is shutting down the work (it resumes at the next start). */
class Shutdown extends Error {}

/** Waits `ms`, rejecting at once when `signal` aborts. */
const sleep = (ms: number, signal: AbortSignal): Promise<void> => delay(ms, undefined, { signal });

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class EvaluationManager {
  private readonly store: EvalStore;
  private readonly events = new EventEmitter();
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private readonly load = new Map<EvalHostPort, number>();
  private readonly closing = new AbortController();
  private readonly pollMs: number;

  constructor(private readonly options: EvaluationManagerOptions) {
    if (options.hosts.length === 0) throw new InvalidArgumentError('at least one model-host address is needed', '--model-hosts');
    this.store = options.store;
    this.pollMs = options.pollMs ?? 1000;
    this.events.setMaxListeners(0);
  }

  /** Restarts unfinished sweeps and evaluations (after an evaluator restart). */
  resumeUnfinished(): void {
    for (const id of this.store.unfinishedSweeps()) this.launch(`sweep:${id}`, (signal) => this.executeSweep(id, signal));
    for (const id of this.store.unfinishedEvaluations()) this.launch(`evaluation:${id}`, (signal) => this.executeEvaluation(id, signal));
  }

  private launch(key: string, work: (signal: AbortSignal) => Promise<void>): void {
    const controller = new AbortController();
    const entry = { controller, done: Promise.resolve() };
    this.active.set(key, entry);
    entry.done = work(controller.signal)
      .catch((error: unknown) => this.options.logger.error({ err: error, key }, 'background work failed'))
      .finally(() => this.active.delete(key));
  }

  private emit(key: string): void {
    this.events.emit(key);
  }

  /** The least loaded model-host that answers health. */
  private async pickHost(signal: AbortSignal): Promise<EvalHostPort> {
    const byLoad = [...this.options.hosts].sort((a, b) => (this.load.get(a) ?? 0) - (this.load.get(b) ?? 0));
    for (const host of byLoad) {
      signal.throwIfAborted();
      this.load.set(host, (this.load.get(host) ?? 0) + 1);
      if (await host.healthy()) return host;
      this.load.set(host, (this.load.get(host) ?? 1) - 1);
    }
    throw new UnavailableError(`no model-host answers (${this.options.hosts.map((h) => h.address).join(', ')})`, '--model-hosts');
  }

  private release(host: EvalHostPort): void {
    this.load.set(host, Math.max(0, (this.load.get(host) ?? 1) - 1));
  }

  // ---- evaluations ----

  startEvaluation(id: string, spec: evaluator.EvaluationSpec): evaluator.Evaluation {
    this.store.createEvaluation(id, spec);
    this.launch(`evaluation:${id}`, (signal) => this.executeEvaluation(id, signal));
    return this.store.evaluation(id, false);
  }

  private async executeEvaluation(id: string, signal: AbortSignal, extra: { memorizationError?: number; locality?: number } = {}): Promise<void> {
    const key = `evaluation:${id}`;
    const spec = this.store.evaluation(id, false).spec!;
    let host: EvalHostPort | undefined;
    try {
      host = await this.pickHost(signal);
      this.store.setEvaluation(id, { state: JobState.JOB_STATE_RUNNING, message: `scoring on model-host ${host.address}` });
      this.emit(key);
      const report = await runEvaluation(spec, this.options.data, host, {
        id,
        signal,
        ...extra,
        onProgress: (p) => {
          this.store.setEvaluation(id, { done: p.done, total: p.total, message: `${p.claimsPerSecond.toFixed(1)} claims/s` });
          this.emit(key);
        },
      });
      this.store.setEvaluation(id, {
        state: JobState.JOB_STATE_SUCCEEDED,
        report,
        message: `finished: accuracy ${report.metrics!.accuracy.toFixed(4)}`,
      });
    } catch (error) {
      if (signal.aborted && signal.reason instanceof Shutdown) throw error;
      const cancelled = signal.aborted && signal.reason instanceof CancelledError;
      this.store.setEvaluation(id, {
        state: cancelled ? JobState.JOB_STATE_CANCELLED : JobState.JOB_STATE_FAILED,
        error: cancelled ? '' : message(error),
        message: cancelled ? 'cancelled' : message(error),
      });
      if (!cancelled) throw error;
    } finally {
      if (host) this.release(host);
      this.emit(key);
    }
  }

  evaluation(id: string): evaluator.Evaluation {
    return this.store.evaluation(id, true);
  }

  evaluations(limit: number): evaluator.Evaluation[] {
    return this.store.evaluations(limit || 100);
  }

  async cancelEvaluation(id: string): Promise<evaluator.Evaluation> {
    const e = this.store.evaluation(id, false);
    if (TERMINAL.has(e.state)) throw new FailedPreconditionError(`evaluation "${id}" has already ended (${JobState[e.state]})`, 'evaluation_id');
    await this.abort(`evaluation:${id}`);
    if (!TERMINAL.has(this.store.evaluation(id, false).state))
      this.store.setEvaluation(id, { state: JobState.JOB_STATE_CANCELLED, message: 'cancelled' });
    return this.store.evaluation(id, true);
  }

  private async abort(key: string): Promise<void> {
    const a = this.active.get(key);
    if (!a) return;
    a.controller.abort(new CancelledError('cancelled'));
    await a.done;
  }

  /** Sends the evaluation after each progress event until it ends (the last one carries the report). */
  watchEvaluation(id: string, send: (m: evaluator.WatchEvaluationResponse) => Promise<void>, signal: AbortSignal): Promise<void> {
    return this.follow(
      `evaluation:${id}`,
      () => {
        const e = this.store.evaluation(id, false);
        return { state: e.state, message: { evaluation: TERMINAL.has(e.state) ? this.store.evaluation(id, true) : e } };
      },
      send,
      signal,
    );
  }

  // ---- sweeps ----

  /**
   * Starts a sweep (every cell), or one cell of it (`cell`: an Indexed Job's pod). The first one-cell call creates
   * the sweep; later ones must carry the same spec.
   */
  startSweep(id: string, spec: evaluator.SweepSpec, cell?: number): evaluator.Sweep {
    const cells = planCells(spec).map((c) => ({ variant: c.variant.name, layer: c.layer }));
    if (cell !== undefined && cell >= cells.length)
      throw new InvalidArgumentError(`cell must be below the sweep's ${cells.length} cells, got ${cell}`, 'cell');
    if (cell !== undefined && !this.store.hasSweep(id)) {
      try {
        this.store.createSweep(id, spec, cells);
      } catch (error) {
        // Another pod's call created it first.
        if (!(error instanceof AlreadyExistsError)) throw error;
      }
    }
    if (cell !== undefined) {
      const same = Buffer.from(evaluator.SweepSpec.encode(spec).finish()).equals(
        Buffer.from(evaluator.SweepSpec.encode(this.store.sweepSpec(id)).finish()),
      );
      if (!same) throw new FailedPreconditionError(`sweep "${id}" exists with a different spec`, 'spec');
      const state = this.store.sweep(id, false).state;
      if (TERMINAL.has(state)) throw new FailedPreconditionError(`sweep "${id}" has already ended (${JobState[state]})`, 'sweep_id');
    } else {
      this.store.createSweep(id, spec, cells);
    }
    const key = cell === undefined ? `sweep:${id}` : `sweep:${id}:cell:${cell}`;
    if (!this.active.has(key) && !this.active.has(`sweep:${id}`)) this.launch(key, (signal) => this.executeSweep(id, signal, cell));
    return this.sweep(id, false);
  }

  /** The sweep with its comparisons (computed from the cells' reports). */
  sweep(id: string, predictions = true): evaluator.Sweep {
    const sweep = this.store.sweep(id, true);
    compareWithPretrained(sweep.cells, sweep.spec);
    if (!predictions) for (const c of sweep.cells) if (c.report) c.report.predictions = [];
    return sweep;
  }

  sweeps(limit: number): evaluator.Sweep[] {
    return this.store.sweeps(limit || 100).map((s) => this.sweep(s.sweepId, false));
  }

  async cancelSweep(id: string): Promise<evaluator.Sweep> {
    const s = this.store.sweep(id, false);
    if (TERMINAL.has(s.state)) throw new FailedPreconditionError(`sweep "${id}" has already ended (${JobState[s.state]})`, 'sweep_id');
    await this.abort(`sweep:${id}`);
    // Its running training runs are cancelled too.
    for (const cell of s.cells) {
      if (cell.runId && !TERMINAL.has(cell.state)) await this.options.trainer.cancelRun({ runId: cell.runId }).catch(() => undefined);
    }
    this.store.setSweep(id, { state: JobState.JOB_STATE_CANCELLED, error: '' });
    this.emit(`sweep:${id}`);
    return this.sweep(id, false);
  }

  watchSweep(id: string, send: (m: evaluator.WatchSweepResponse) => Promise<void>, signal: AbortSignal): Promise<void> {
    return this.follow(
      `sweep:${id}`,
      () => {
        const s = this.sweep(id, false);
        return { state: s.state, message: { sweep: s } };
      },
      send,
      signal,
    );
  }

  /** Runs the sweep's cells (or only `only`), then, once every cell has ended, its table and comparisons. */
  private async executeSweep(id: string, signal: AbortSignal, only?: number): Promise<void> {
    const key = `sweep:${id}`;
    const spec = this.store.sweepSpec(id);
    this.store.setSweep(id, { state: JobState.JOB_STATE_RUNNING });
    this.emit(key);
    const cells = planByStoredCell(planCells(spec), this.store.sweep(id, false).cells);
    const ordinals = only === undefined ? cells.map((_, i) => i) : [only];
    const concurrency = only === undefined ? spec.concurrency || this.options.hosts.length : 1;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ordinals.length) {
        const ordinal = ordinals[next++];
        const { variant, layer } = cells[ordinal];
        const current = this.store.sweep(id, false).cells[ordinal];
        if (current.state === JobState.JOB_STATE_SUCCEEDED) continue;
        try {
          await this.executeCell(id, ordinal, spec, variant, layer, signal);
        } catch (error) {
          if (signal.aborted) throw error;
          this.store.setCell(id, ordinal, { state: JobState.JOB_STATE_FAILED, error: message(error) });
        }
        this.emit(key);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, concurrency) }, () => worker()));
    } catch (error) {
      if (signal.reason instanceof Shutdown) return;
      if (signal.reason instanceof CancelledError) return;
      throw error;
    }
    const sweep = this.sweep(id, false);
    // Other pods' cells still running: the last one to end finishes the sweep.
    if (!sweep.cells.every((c) => TERMINAL.has(c.state))) return;
    const failures = sweep.cells
      .filter((c) => c.state !== JobState.JOB_STATE_SUCCEEDED)
      .map((c) => `${c.variant}${c.layer === PRETRAINED_LAYER ? '' : ` L${c.layer}`}: ${c.error || JobState[c.state]}`);
    this.store.setSweep(id, {
      state: failures.length === 0 ? JobState.JOB_STATE_SUCCEEDED : JobState.JOB_STATE_FAILED,
      error: failures.join('; '),
      tableMarkdown: markdownTable(resultsTable(sweep)),
      significance: sweepSignificance(sweep, { alpha: ALPHA, test: "McNemar's exact test" }),
    });
    this.emit(key);
  }

  /**
   * One cell: its training run (a memory variant's memory at the layer, or the `full` control's fine-tuned
   * model), then its evaluation (with the memory attached, or of the fine-tuned model, or of the pretrained one).
   */
  private async executeCell(
    sweepId: string,
    ordinal: number,
    spec: evaluator.SweepSpec,
    variant: evaluator.SweepVariant,
    layer: number,
    signal: AbortSignal,
  ): Promise<void> {
    const key = cellKey(variant.name, layer);
    const evaluationId = `${sweepId}.${key}`;
    const evaluation: evaluator.EvaluationSpec = {
      ...spec.evaluation!,
      memoryPath: '',
      name: layer === PRETRAINED_LAYER ? variant.name : `${variant.name} L${layer}`,
    };
    this.store.setCell(sweepId, ordinal, { state: JobState.JOB_STATE_RUNNING, evaluationId });
    this.emit(`sweep:${sweepId}`);
    let extra: { memorizationError?: number; locality?: number } = {};
    if (isTrainedVariant(variant)) {
      const runId = `${sweepId}.${key}`;
      this.store.setCell(sweepId, ordinal, { runId });
      const run = await this.trainCell(runId, spec, variant, layer, signal);
      if (!run.outputPath) throw new Error(`training run ${runId} succeeded without an output path`);
      // The full control's run wrote an HF folder in model-host's model root: that model is the cell's.
      if (variant.full) evaluation.modelPath = run.outputPath;
      else evaluation.memoryPath = run.outputPath;
      extra = { memorizationError: run.lastMemorizationError, locality: run.lastLocality };
      this.store.setCell(sweepId, ordinal, { measures: run.measures });
    }
    // An evaluation interrupted mid-way starts again; a finished one is kept.
    if (this.store.hasEvaluation(evaluationId)) {
      const e = this.store.evaluation(evaluationId, false);
      if (e.state !== JobState.JOB_STATE_SUCCEEDED) this.store.setEvaluation(evaluationId, { state: JobState.JOB_STATE_QUEUED, error: '', done: 0 });
    } else {
      this.store.createEvaluation(evaluationId, evaluation);
    }
    if (this.store.evaluation(evaluationId, false).state !== JobState.JOB_STATE_SUCCEEDED) await this.executeEvaluation(evaluationId, signal, extra);
    const state = this.store.evaluation(evaluationId, false).state;
    if (state !== JobState.JOB_STATE_SUCCEEDED) throw new Error(this.store.evaluation(evaluationId, false).error || `evaluation ${JobState[state]}`);
    this.store.setCell(sweepId, ordinal, { state: JobState.JOB_STATE_SUCCEEDED, error: '' });
  }

  /** Starts (or finds, or resumes) a cell's training run and waits for it. */
  private async trainCell(runId: string, spec: evaluator.SweepSpec, variant: evaluator.SweepVariant, layer: number, signal: AbortSignal) {
    const trainer = this.options.trainer;
    let run = await trainer.getRun({ runId }).then(
      (r) => r.run!,
      (e: unknown) => (e instanceof NotFoundError ? undefined : Promise.reject(e)),
    );
    if (!run) run = (await trainer.startRun({ runId, spec: cellRunSpec(spec, variant, layer) })).run!;
    else if (run.state === JobState.JOB_STATE_FAILED || run.state === JobState.JOB_STATE_CANCELLED)
      throw new Error(`training run ${runId} ${JobState[run.state]}: ${run.error}`);
    while (!TERMINAL.has(run.state)) {
      await sleep(this.pollMs, signal);
      try {
        run = (await trainer.getRun({ runId })).run!;
      } catch (error) {
        // A restarting trainer: keep waiting (it resumes the run itself).
        if (!(error instanceof UnavailableError)) throw error;
      }
    }
    if (run.state !== JobState.JOB_STATE_SUCCEEDED) throw new Error(`training run ${runId} ${JobState[run.state]}: ${run.error}`);
    return run;
  }

  // ---- following ----

  private async follow<M>(
    key: string,
    snapshot: () => { state: JobState; message: M },
    send: (m: M) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    let pending = true;
    let wake: (() => void) | undefined;
    const listener = (): void => {
      pending = true;
      wake?.();
    };
    const onAbort = (): void => wake?.();
    this.events.on(key, listener);
    signal.addEventListener('abort', onAbort);
    this.closing.signal.addEventListener('abort', onAbort);
    try {
      for (;;) {
        if (pending) {
          pending = false;
          const s = snapshot();
          await send(s.message);
          if (TERMINAL.has(s.state)) return;
        }
        if (signal.aborted || this.closing.signal.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (pending) resolve();
        });
        wake = undefined;
      }
    } finally {
      this.events.off(key, listener);
      signal.removeEventListener('abort', onAbort);
      this.closing.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Pauses every evaluation and sweep (they resume at the next start). */
  async close(): Promise<void> {
    this.closing.abort();
    const all = [...this.active.values()];
    for (const a of all) a.controller.abort(new Shutdown('the evaluator is shutting down'));
    await Promise.all(all.map((a) => a.done));
  }
}

/**
 * The plan's cells in the order of the sweep's stored cells (each matched by variant name and layer; names are
 * unique in a spec): a sweep stored while the table order was the spec's order alone (a memory variant listed
 * before the pretrained one came first) resumes with each stored cell, and each `cell` index, meaning what it did.
 */
function planByStoredCell<C extends { variant: evaluator.SweepVariant; layer: number }>(
  plan: readonly C[],
  stored: ReadonlyArray<Pick<evaluator.SweepCell, 'variant' | 'layer'>>,
): C[] {
  return stored.map((s, i) => plan.find((c) => c.variant.name === s.variant && c.layer === s.layer) ?? plan[i]);
}
