/**
 * RunManager: starts, follows, cancels and resumes training runs. A run is a corpus built on DataService, a memory
 * (or, for a full-parameter run, the model itself) on a model-host, and the reference schedule stepped from the
 * trainer: batches come from DataService's StreamTrainingBatches, each becomes a TrainStep on the model-host with
 * the schedule's learning rate. Every N steps it measures the memorization error (DocumentLoss of the corpus rows
 * with the memory) and the locality (DocumentLoss of held-out pages), and checkpoints (SaveMemory / SaveModel with
 * optimizer state). Everything is recorded in the RunStore, so:
 * - a restarted trainer resumes every unfinished run from its last checkpoint (the data order and learning rates
 *   are functions of the step index, so it takes the same steps an uninterrupted run would);
 * - a model-host (or DataService) that stops answering is waited for with backoff, provisioned again (the model,
 *   the memory with its optimizer state from the last checkpoint) and the run continues; a host that stays gone
 *   past `hostWaitMs` fails the run with a message saying so.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { common, data, modelHost, trainer } from '@memorize/contracts';
import {
  CancelledError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
  UnavailableError,
} from '@memorize/errors';
import { chunkDocuments } from '@memorize/fever';
import type { DataPort, ModelHostPort, RunLogger } from './ports.js';
import {
  anchorSettings,
  DEFAULT_LOCALITY_PAGES,
  isDue,
  learningRateAt,
  memoryIdFor,
  modelIdFor,
  planRun,
  runPaths,
  tokenWeightedLoss,
  type RunPlan,
} from './run-plan.js';
import { RunStore, TERMINAL_STATES, type Measure } from './store.js';

const { JobState } = common;
type JobState = common.JobState;

/** New tokens of each base-model sample when locality is measured on samples. */
const LOCALITY_SAMPLE_TOKENS = 48;

export interface RunManagerOptions {
  store: RunStore;
  data: DataPort;
  hosts: readonly ModelHostPort[];
  logger: RunLogger;
  /** How long a model-host or DataService that stopped answering is waited for before the run fails (default 120 s). */
  hostWaitMs?: number;
  /** Rows per DocumentLoss call when measuring (default 256). */
  measureRows?: number;
}

/** Why a run's work stopped without failing: a cancel request, or the trainer shutting down (the run resumes later). */
class Shutdown extends Error {}

interface ActiveRun {
  controller: AbortController;
  host?: ModelHostPort;
  done: Promise<void>;
}

/** Rows a run trains and measures on, built once per attempt. */
interface RunData {
  corpusId: string;
  plan: RunPlan;
  documents: modelHost.MemoryDocument[];
  /** Every chunk of the corpus with its document. */
  corpusRows: common.TokenRow[];
  /** The rows the memorization error is measured on: corpusRows, or their first RunSpec.measure_rows. */
  measureRows: common.TokenRow[];
  /** Chunks of held-out pages, without a document (locality); empty when the run has none. */
  localityRows: common.TokenRow[];
}

/** Waits `ms`, rejecting at once when `signal` aborts. */
const sleep = (ms: number, signal: AbortSignal): Promise<void> => delay(ms, undefined, { signal });

/** Errors after which the run waits for its services and resumes from its last checkpoint. */
function isRecoverable(error: unknown): boolean {
  if (error instanceof UnavailableError || error instanceof ResourceExhaustedError || error instanceof HostStateLost) return true;
  // A model-host that restarted between two calls no longer holds the run's model or memory.
  return error instanceof NotFoundError && /^(memory_id|model_id|memory\.memory_id)$/.test(error.field ?? '');
}

/** The model-host's state is not the one the store describes (it restarted, or someone else trained the memory). */
class HostStateLost extends Error {}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class RunManager {
  private readonly store: RunStore;
  private readonly active = new Map<string, ActiveRun>();
  private readonly events = new EventEmitter();
  private readonly hostWaitMs: number;
  private readonly measureRows: number;
  private closed = false;
  /** Aborted by close(): watchers end. */
  private readonly closing = new AbortController();

  constructor(private readonly options: RunManagerOptions) {
    if (options.hosts.length === 0) throw new InvalidArgumentError('at least one model-host address is needed', '--model-hosts');
    this.store = options.store;
    this.hostWaitMs = options.hostWaitMs ?? 120_000;
    this.measureRows = options.measureRows ?? 256;
    this.events.setMaxListeners(0);
  }

  /** Resumes every run the store holds unfinished (after a trainer restart). */
  resumeUnfinished(): string[] {
    const ids = this.store.unfinished();
    for (const id of ids) {
      this.store.transition(id, this.store.state(id), 'trainer restarted: resuming from the last checkpoint', { resumed: true });
      this.launch(id);
    }
    return ids;
  }

  /**
   * Starts a run (returns at once). An id naming an unfinished run that is not active resumes it; a finished
   * one is ALREADY_EXISTS.
   */
  start(runId: string, spec: trainer.RunSpec | undefined): { run: trainer.Run; resumed: boolean } {
    if (this.closed) throw new UnavailableError('the trainer is shutting down');
    if (this.store.has(runId)) {
      const state = this.store.state(runId);
      if (TERMINAL_STATES.has(state))
        throw new FailedPreconditionError(`run "${runId}" has already ended (${JobState[state]}); start a new run id`, 'run_id');
      if (!this.active.has(runId)) {
        this.store.transition(runId, state, 'resumed by StartRun', { resumed: true });
        this.launch(runId);
      }
      return { run: this.store.run(runId), resumed: true };
    }
    if (!spec) throw new InvalidArgumentError('spec is required for a new run', 'spec');
    if (!spec.modelPath) throw new InvalidArgumentError('spec.model_path is required', 'spec.model_path');
    if (spec.jobKind !== trainer.JobKind.JOB_KIND_FULL && !spec.memory)
      throw new InvalidArgumentError('spec.memory is required for a memory run', 'spec.memory');
    this.store.create(runId, spec);
    this.launch(runId);
    return { run: this.store.run(runId), resumed: false };
  }

  /** Asks a run to stop after its current step; the last checkpoint stays. */
  async cancel(runId: string): Promise<trainer.Run> {
    const state = this.store.state(runId);
    if (TERMINAL_STATES.has(state)) throw new FailedPreconditionError(`run "${runId}" has already ended (${JobState[state]})`, 'run_id');
    const active = this.active.get(runId);
    if (active) {
      active.controller.abort(new CancelledError('cancelled by CancelRun'));
      await active.done;
    } else {
      this.finish(runId, JobState.JOB_STATE_CANCELLED, 'cancelled by CancelRun');
    }
    return this.store.run(runId);
  }

  get(runId: string): trainer.Run {
    return this.store.run(runId);
  }

  list(state: JobState, limit: number): trainer.Run[] {
    return this.store.list(state, limit || 100);
  }

  /** Runs placed on each host by this trainer (its load). */
  private load(host: ModelHostPort): number {
    let n = 0;
    for (const a of this.active.values()) if (a.host === host) n++;
    return n;
  }

  /** The least loaded model-host that answers health (the run's recorded host first when resuming). */
  private async place(runId: string, active: ActiveRun, signal: AbortSignal): Promise<ModelHostPort> {
    const recorded = this.run(runId).modelHost;
    const byLoad = [...this.options.hosts].sort((a, b) => this.load(a) - this.load(b));
    const candidates = recorded
      ? [...this.options.hosts.filter((h) => h.address === recorded), ...byLoad.filter((h) => h.address !== recorded)]
      : byLoad;
    for (const host of candidates) {
      signal.throwIfAborted();
      // Counted as the host's load while its health is checked, so runs started together spread out.
      active.host = host;
      if (await host.healthy()) return host;
    }
    active.host = undefined;
    throw new UnavailableError(`no model-host answers (${this.options.hosts.map((h) => h.address).join(', ')})`, '--model-hosts');
  }

  private run(runId: string): trainer.Run {
    return this.store.run(runId, false);
  }

  private launch(runId: string): void {
    const controller = new AbortController();
    const active: ActiveRun = { controller, done: Promise.resolve() };
    this.active.set(runId, active);
    active.done = this.execute(runId, active).finally(() => this.active.delete(runId));
  }

  /** Attempts the run until it ends: each attempt starts from the last checkpoint; lost services are waited for. */
  private async execute(runId: string, active: ActiveRun): Promise<void> {
    const { signal } = active.controller;
    const log = this.options.logger;
    for (;;) {
      try {
        await this.attempt(runId, active);
        return;
      } catch (error) {
        if (signal.aborted) {
          const reason = signal.reason as unknown;
          if (reason instanceof CancelledError) this.finish(runId, JobState.JOB_STATE_CANCELLED, this.cancelMessage(runId));
          else log.info({ runId }, 'run paused for shutdown; it resumes when the trainer starts again');
          await this.releaseHost(runId, active).catch(() => undefined);
          return;
        }
        if (!isRecoverable(error)) {
          log.warn({ runId, err: error }, 'run failed');
          this.finish(runId, JobState.JOB_STATE_FAILED, errorMessage(error), errorMessage(error));
          await this.releaseHost(runId, active).catch(() => undefined);
          return;
        }
        const where = active.host?.address ?? 'model-host';
        log.warn({ runId, host: where, err: error }, 'service lost mid-run; waiting for it');
        this.note(runId, `${where} lost (${errorMessage(error)}); waiting up to ${Math.round(this.hostWaitMs / 1000)} s for it`);
        try {
          await this.waitForServices(active, signal);
        } catch (waitError) {
          if (signal.aborted) continue;
          this.finish(runId, JobState.JOB_STATE_FAILED, errorMessage(waitError), errorMessage(waitError));
          return;
        }
        this.store.transition(runId, JobState.JOB_STATE_RUNNING, `${where} is back: provisioning again from the last checkpoint`, { resumed: true });
      }
    }
  }

  private cancelMessage(runId: string): string {
    const ckpt = this.store.lastCheckpoint(runId);
    return `cancelled by CancelRun after ${this.store.stepsDone(runId)} steps; ${ckpt ? `last checkpoint ${ckpt.path} (step ${ckpt.step})` : 'no checkpoint written'}`;
  }

  /** Waits with backoff until the run's model-host and DataService answer health, at most hostWaitMs. */
  private async waitForServices(active: ActiveRun, signal: AbortSignal): Promise<void> {
    const until = Date.now() + this.hostWaitMs;
    let backoff = 200;
    const host = active.host;
    // Not placed yet: any model-host will do.
    const hostsOk = async (): Promise<boolean> => {
      if (host) return host.healthy();
      for (const h of this.options.hosts) if (await h.healthy()) return true;
      return false;
    };
    for (;;) {
      const hostOk = await hostsOk();
      const dataOk = await this.options.data.healthy();
      if (hostOk && dataOk) return;
      if (Date.now() >= until) {
        const hosts = host ? `model-host ${host.address}` : `no model-host of ${this.options.hosts.map((h) => h.address).join(', ')}`;
        const gone = [!hostOk ? hosts : '', !dataOk ? `DataService ${this.options.data.address}` : ''].filter(Boolean).join(' and ');
        throw new UnavailableError(
          `${gone} did not come back within ${Math.round(this.hostWaitMs / 1000)} s; the run stopped (resume it with StartRun once it is back)`,
        );
      }
      await sleep(Math.min(backoff, Math.max(0, until - Date.now())), signal);
      backoff = Math.min(backoff * 2, 5_000);
    }
  }

  /** Frees the run's memory (or private model) on its host. */
  private async releaseHost(runId: string, active: ActiveRun): Promise<void> {
    const host = active.host;
    if (!host) return;
    const spec = this.store.spec(runId);
    if (spec.jobKind === trainer.JobKind.JOB_KIND_FULL) await host.unloadModel({ modelId: modelIdFor(runId, spec) }).catch(() => undefined);
    else await host.deleteMemory({ memoryId: memoryIdFor(runId) }).catch(() => undefined);
  }

  private finish(runId: string, state: JobState, message: string, error?: string): void {
    this.store.transition(runId, state, message, { error });
    this.emit(runId, { state, step: -1n, message });
  }

  /** Records a message without changing the state. */
  private note(runId: string, message: string): void {
    const state = this.store.state(runId);
    this.store.transition(runId, state, message);
    this.emit(runId, { state, step: -1n, message });
  }

  private emit(runId: string, event: Partial<trainer.WatchRunResponse>): void {
    const run = this.run(runId);
    this.events.emit(runId, trainer.WatchRunResponse.fromPartial({ progress: run.progress, ...event }));
  }

  // ---- one attempt: provision, then step from the last checkpoint to the end ----

  private async attempt(runId: string, active: ActiveRun): Promise<void> {
    const { signal } = active.controller;
    const spec = this.store.spec(runId);
    const host = await this.place(runId, active, signal);
    this.store.transition(runId, JobState.JOB_STATE_RUNNING, `placed on model-host ${host.address}`, { modelHost: host.address });
    this.emit(runId, { state: JobState.JOB_STATE_RUNNING, step: -1n, message: `placed on model-host ${host.address}` });

    const modelId = modelIdFor(runId, spec);
    const full = spec.jobKind === trainer.JobKind.JOB_KIND_FULL;
    const ckpt = this.store.lastCheckpoint(runId);
    // The model: a full run trains a private copy (from its checkpoint when it has one).
    if (full) await host.unloadModel({ modelId }).catch((e: unknown) => (e instanceof NotFoundError ? undefined : Promise.reject(e)));
    const loaded = await host.loadModel({
      path: full && ckpt ? ckpt.path : spec.modelPath,
      tokenizerPath: spec.tokenizerPath,
      modelId,
      skipOptimizer: false,
    });
    const info = loaded.model!;
    const runData = await this.buildData(runId, spec, info, host, modelId, signal);
    const plan = runData.plan;
    const total = plan.schedule.steps;
    this.store.transition(runId, JobState.JOB_STATE_RUNNING, `corpus ${runData.corpusId}: ${runData.corpusRows.length} rows, ${total} steps`, {
      corpusId: runData.corpusId,
      totalSteps: total,
    });

    // The memory (or the model's optimizer state) as of the last checkpoint.
    const memoryId = memoryIdFor(runId);
    let start = 0;
    if (full) {
      if (ckpt) {
        if (!loaded.optimizerRestored) throw new FailedPreconditionError(`checkpoint ${ckpt.path} has no optimizer state`, 'checkpoint');
        start = ckpt.step;
      }
    } else if (ckpt) {
      const r = await host.loadMemory({ modelId, path: ckpt.path, memoryId, replace: true, skipOptimizer: false });
      if (!r.optimizerRestored && ckpt.step > 0) throw new FailedPreconditionError(`checkpoint ${ckpt.path} has no optimizer state`, 'checkpoint');
      start = ckpt.step;
    } else {
      await host.deleteMemory({ memoryId }).catch((e: unknown) => (e instanceof NotFoundError ? undefined : Promise.reject(e)));
      await host.createMemory({ modelId, memoryId, config: spec.memory, documents: runData.documents });
    }
    this.store.rewind(runId, start);

    const selection = (withMemory: boolean): modelHost.MemorySelection | undefined =>
      withMemory && !full ? { memoryId, maskSource: common.MaskSource.MASK_SOURCE_UNSPECIFIED } : undefined;
    if (!this.store.measures(runId).some((m) => m.step === 0) && start === 0) {
      const base = await this.measure(runId, host, modelId, runData, selection(false), 0, signal);
      this.emit(runId, {
        state: JobState.JOB_STATE_RUNNING,
        step: -1n,
        memorizationError: base.memorizationError,
        locality: base.locality ?? 0,
        message: `base model: memorization error ${base.memorizationError.toFixed(4)}${base.locality !== undefined ? `, locality ${base.locality.toFixed(4)}` : ''} nats/token`,
      });
    }

    const t = spec.training ?? common.TrainingConfig.fromPartial({});
    const anchors = anchorSettings(spec);
    const paths = runPaths(runId, spec);
    const perEpoch = plan.schedule.stepsPerEpoch;
    let { trainSeconds, tokens } = (() => {
      const r = this.store.run(runId, false);
      return { trainSeconds: r.timings!.trainSeconds, tokens: Number(r.timings!.tokens) };
    })();
    let step = start;
    while (step < total) {
      const epoch = Math.floor(step / perEpoch);
      const batches = this.options.data.streamTrainingBatches(
        { corpusId: runData.corpusId, batchSize: plan.schedule.batchSize, epochs: epoch + 1, seed: t.seed, startStep: step },
        signal,
      );
      for await (const batch of batches) {
        signal.throwIfAborted();
        if (batch.step !== step) throw new Error(`DataService sent step ${batch.step} where step ${step} was expected`);
        const learningRate = learningRateAt(plan, step);
        const rows = full ? batch.rows.map((r) => ({ ids: r.ids, documentIndex: undefined, weights: r.weights })) : batch.rows;
        const began = performance.now();
        const r = await host.trainStep({
          memoryId: full ? '' : memoryId,
          modelId: full ? modelId : '',
          rows,
          learningRate,
          weightDecay: plan.schedule.weightDecay,
          gradClip: plan.schedule.gradClip,
          beta1: plan.schedule.beta1,
          beta2: plan.schedule.beta2,
          epsilon: plan.schedule.epsilon,
          dryRun: false,
          ...(full ? { anchorKlWeight: 0, anchorSamples: 0, anchorSampleTokens: 0 } : anchors),
        });
        const seconds = (performance.now() - began) / 1000;
        if (Number(r.step) !== step + 1) {
          throw new HostStateLost(`model-host ${host.address} reports ${r.step} steps where the run has taken ${step + 1}`);
        }
        this.store.recordStep(runId, { step, epoch, loss: r.loss, learningRate, gradNorm: r.gradNorm, tokens: r.tokens }, seconds);
        trainSeconds += seconds;
        tokens += r.tokens;
        step++;
        const event: Partial<trainer.WatchRunResponse> = {
          state: JobState.JOB_STATE_RUNNING,
          step: BigInt(step - 1),
          epoch,
          loss: r.loss,
          learningRate,
          gradNorm: r.gradNorm,
          tokensPerSecond: trainSeconds > 0 ? tokens / trainSeconds : 0,
        };
        if (isDue(plan.evalEvery, step, total)) {
          const m = await this.measure(runId, host, modelId, runData, selection(true), step, signal);
          event.memorizationError = m.memorizationError;
          event.locality = m.locality ?? 0;
        }
        if (step < total && isDue(plan.checkpointEvery, step, total)) {
          event.checkpointPath = await this.checkpoint(runId, host, full ? modelId : memoryId, full, paths.checkpoint(step), step);
        }
        this.emit(runId, event);
        if (step >= total || step % perEpoch === 0) break;
      }
      signal.throwIfAborted();
    }

    // The result, then the run's host state is freed.
    const began = performance.now();
    const written = full
      ? (await host.saveModel({ modelId, path: paths.output, includeOptimizer: false, overwrite: true })).path
      : (await host.saveMemory({ memoryId, path: paths.output, includeOptimizer: false, overwrite: true })).path;
    this.store.recordCheckpoint(runId, total, written, (performance.now() - began) / 1000);
    this.store.transition(runId, JobState.JOB_STATE_SUCCEEDED, `finished: ${total} steps, wrote ${written}`, { outputPath: written });
    this.emit(runId, { state: JobState.JOB_STATE_SUCCEEDED, step: -1n, checkpointPath: written, message: `finished: wrote ${written}` });
    await this.releaseHost(runId, active).catch(() => undefined);
  }

  private async checkpoint(runId: string, host: ModelHostPort, id: string, full: boolean, path: string, step: number): Promise<string> {
    const began = performance.now();
    const written = full
      ? (await host.saveModel({ modelId: id, path, includeOptimizer: true, overwrite: true })).path
      : (await host.saveMemory({ memoryId: id, path, includeOptimizer: true, overwrite: true })).path;
    this.store.recordCheckpoint(runId, step, written, (performance.now() - began) / 1000);
    return written;
  }

  /** Memorization error and locality after `step` steps (with the memory, or the base model at step 0). */
  private async measure(
    runId: string,
    host: ModelHostPort,
    modelId: string,
    runData: RunData,
    memory: modelHost.MemorySelection | undefined,
    step: number,
    signal: AbortSignal,
  ): Promise<Measure> {
    const began = performance.now();
    const nll = async (rows: readonly common.TokenRow[]): Promise<number> => {
      const parts: Array<{ loss: number; tokens: bigint }> = [];
      for (let i = 0; i < rows.length; i += this.measureRows) {
        signal.throwIfAborted();
        const r = await host.documentLoss({ modelId, memory, rows: rows.slice(i, i + this.measureRows), batchSize: 0 });
        parts.push({ loss: r.loss, tokens: r.tokens });
      }
      return tokenWeightedLoss(parts);
    };
    const m: Measure = {
      step,
      memorizationError: await nll(runData.measureRows),
      locality: runData.localityRows.length > 0 ? await nll(runData.localityRows) : undefined,
    };
    this.store.recordMeasure(runId, m, (performance.now() - began) / 1000);
    return m;
  }

  /** The corpus (and the locality pages) on DataService, tokenized with the model's tokenizer, in chunks of its context. */
  private async buildData(
    runId: string,
    spec: trainer.RunSpec,
    info: modelHost.ModelInfo,
    host: ModelHostPort,
    modelId: string,
    signal: AbortSignal,
  ): Promise<RunData> {
    const maxLength = spec.training?.maxLength || info.maxLength;
    const corpusRequest = (
      topN: number,
      files = { claims: spec.claimsPath, pages: spec.pagesPath, assignment: spec.assignmentPath },
    ): data.LoadCorpusRequest => ({
      claimsPath: files.claims,
      pagesPath: files.pages,
      assignmentPath: files.assignment,
      topN,
      seed: 0n,
      // Training does not use the few-shot pools; 1 keeps every page with claims, however few (a synthetic
      // world's pages have 3), where the default 5 would leave no evaluation claims and refuse the corpus.
      poolPerPage: 1,
      tokenizerPath: spec.tokenizerPath || spec.modelPath,
      maxLength,
      strict: false,
      allPages: false,
      claimRows: undefined,
    });
    const corpus = (await this.options.data.loadCorpus({ ...corpusRequest(spec.topN), allPages: spec.allPages, claimRows: spec.claimRows })).corpus!;
    const docs = await this.documents(corpus.corpusId);
    const chunks = chunkDocuments(
      docs.map((d) => ({ id: d.pageId, index: d.index, tokens: d.ids })),
      maxLength,
    );
    const full = spec.jobKind === trainer.JobKind.JOB_KIND_FULL;
    const corpusRows = chunks.map((c) => ({ ids: c.tokens, documentIndex: full ? undefined : c.docIndex, weights: [] }));
    // Steps per epoch count the claim rows DataService draws each epoch beside the page chunks.
    const plan = planRun(spec, (corpus.stats?.chunks ?? chunks.length) + (corpus.stats?.claimRows ?? 0));

    let localityRows: common.TokenRow[] = [];
    const wanted = spec.localityPages ?? DEFAULT_LOCALITY_PAGES;
    if (spec.localitySamples > 0) {
      localityRows = await this.sampleLocality(host, modelId, info, spec, signal);
    } else if (wanted > 0) {
      // Every page with claims in the same dump (or in locality_pages_path); the held-out ones are those ranked
      // after the corpus's pages.
      const source = spec.localityPagesPath
        ? corpusRequest(0, { claims: spec.localityClaimsPath || spec.claimsPath, pages: spec.localityPagesPath, assignment: '' })
        : corpusRequest(0);
      const all = (await this.options.data.loadCorpus(source)).corpus!;
      const inCorpus = new Set(docs.map((d) => d.pageId));
      const held = (await this.documents(all.corpusId)).filter((d) => !inCorpus.has(d.pageId)).slice(0, wanted);
      if (held.length < wanted) {
        this.note(runId, `locality: ${held.length} held-out pages available of the ${wanted} asked for`);
      }
      localityRows = chunkDocuments(
        held.map((d, i) => ({ id: d.pageId, index: i, tokens: d.ids })),
        maxLength,
      ).map((c) => ({ ids: c.tokens, documentIndex: undefined, weights: [] }));
    }
    return {
      corpusId: corpus.corpusId,
      plan,
      documents: docs.map((d) => ({ documentIndex: d.index, ids: d.ids })),
      corpusRows,
      measureRows: spec.measureRows > 0 ? corpusRows.slice(0, spec.measureRows) : corpusRows,
      localityRows,
    };
  }

  /** Locality text the base model writes itself: samples from BOS, temperature 1, seeded by training.seed. */
  private async sampleLocality(
    host: ModelHostPort,
    modelId: string,
    info: modelHost.ModelInfo,
    spec: trainer.RunSpec,
    signal: AbortSignal,
  ): Promise<common.TokenRow[]> {
    const rows: common.TokenRow[] = [];
    const seed = spec.training?.seed ?? 0n;
    for (let i = 0; i < spec.localitySamples; i++) {
      const ids = [info.bosId];
      for await (const piece of host.generate(
        modelHost.GenerateRequest.fromPartial({
          modelId,
          promptIds: [info.bosId],
          maxNewTokens: Math.min(LOCALITY_SAMPLE_TOKENS, info.maxLength - 1),
          temperature: 1,
          topP: 1,
          // Never 0 (0 = the clock): sample i of the run's seed.
          seed: seed * 65_536n + BigInt(i) + 1n,
        }),
        signal,
      )) {
        if (piece.id >= 0) ids.push(piece.id);
      }
      if (ids.length >= 2) rows.push({ ids, documentIndex: undefined, weights: [] });
    }
    return rows;
  }

  /** Every document of a corpus with its token ids (paged). */
  private async documents(corpusId: string): Promise<data.DocumentSummary[]> {
    const out: data.DocumentSummary[] = [];
    let pageToken = '';
    do {
      const page = await this.options.data.listDocuments({ corpusId, pageSize: 100, pageToken, includeIds: true });
      out.push(...page.documents);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  }

  // ---- watching ----

  /**
   * Sends a run's events from its start (replayed from the store) and then live ones until it ends; with
   * `snapshot`, only its current state.
   */
  async watch(runId: string, snapshot: boolean, send: (m: trainer.WatchRunResponse) => Promise<void>, signal: AbortSignal): Promise<void> {
    const current = (): trainer.WatchRunResponse => {
      const run = this.store.run(runId, false);
      return trainer.WatchRunResponse.fromPartial({
        state: run.state,
        progress: run.progress,
        step: -1n,
        loss: run.lastLoss,
        memorizationError: run.lastMemorizationError,
        locality: run.lastLocality,
        checkpointPath: run.checkpointPath,
        message: run.progress?.message ?? '',
        tokensPerSecond: run.timings?.tokensPerSecond ?? 0,
      });
    };
    if (snapshot) return send(current());
    const queue: trainer.WatchRunResponse[] = [];
    let wake: (() => void) | undefined;
    const listener = (e: trainer.WatchRunResponse): void => {
      queue.push(e);
      wake?.();
    };
    const onAbort = (): void => wake?.();
    this.events.on(runId, listener);
    signal.addEventListener('abort', onAbort);
    this.closing.signal.addEventListener('abort', onAbort);
    try {
      const run = this.store.run(runId, true);
      const measures = new Map(run.measures.map((m) => [Number(m.step), m]));
      const checkpoints = new Map(run.checkpoints.map((c) => [Number(c.step), c.path]));
      const base = measures.get(0);
      if (base)
        await send(
          trainer.WatchRunResponse.fromPartial({
            state: common.JobState.JOB_STATE_RUNNING,
            step: -1n,
            memorizationError: base.memorizationError,
            locality: base.locality,
            message: 'base model',
          }),
        );
      let last = -1;
      for (const s of run.steps) {
        const done = Number(s.step) + 1;
        const m = measures.get(done);
        await send(
          trainer.WatchRunResponse.fromPartial({
            state: JobState.JOB_STATE_RUNNING,
            progress: { done: BigInt(done), total: run.progress!.total, unit: 'steps' },
            step: s.step,
            epoch: s.epoch,
            loss: s.loss,
            learningRate: s.learningRate,
            gradNorm: s.gradNorm,
            memorizationError: m?.memorizationError ?? 0,
            locality: m?.locality ?? 0,
            checkpointPath: checkpoints.get(done) ?? '',
          }),
        );
        last = Number(s.step);
      }
      const now = current();
      await send(now);
      if (TERMINAL_STATES.has(now.state)) return;
      for (;;) {
        while (queue.length > 0) {
          const e = queue.shift()!;
          const step = Number(e.step);
          // Already replayed (unless it carries what the replay could not have seen yet).
          if (step >= 0 && (step < last || (step === last && !e.memorizationError && !e.checkpointPath))) continue;
          await send(e);
          if (TERMINAL_STATES.has(e.state) && step < 0) return;
        }
        if (signal.aborted || this.closing.signal.aborted) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.events.off(runId, listener);
      signal.removeEventListener('abort', onAbort);
      this.closing.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Stops every active run's work (they stay unfinished in the store and resume at the next start). */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    const all = [...this.active.values()];
    for (const a of all) a.controller.abort(new Shutdown('the trainer is shutting down'));
    await Promise.all(all.map((a) => a.done.catch(() => undefined)));
  }
}
