/**
 * TrainingRun: a memorization run, one optimizer step at a time. Given a model, a memory, the document rows
 * (and optionally outside rows, text the memory must leave alone) and a schedule, it runs the reference
 * optimiser (MemoryTrainer: AdamW, global-norm clipping, cosine learning rate with linear warm-up) and
 * measures memorization error (document NLL per token) and locality (outside NLL) every N steps or on demand.
 *
 * The schedule is a pure function of the step index (learningRate(i), batch(i)), so a run resumed at step k
 * (the memory as saved at k, and startStep / optimizerState from k) takes exactly the steps an uninterrupted
 * run would. A driver (a service) can call step() itself, or iterate() with an AbortSignal checked between
 * steps. One step is one slice (SliceOptions): iterate() awaits `nextSlice` between steps (a scheduler's turn),
 * and a run-wide `signal` (TrainingRunOptions) stops anchor sampling, iterate() and step() alike.
 */
import type { TransformerModel } from '@memorize/lm';
import { derivedRandom, shuffled, tf, yieldToEventLoop, type SliceOptions } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';
import type { MaskSource } from './config.js';
import { sampleAnchorRows } from './anchors.js';
import { lmLoss, type TrainingRow } from './losses.js';
import type { MemoryModule } from './module.js';
import { cosineLearningRate, type AdamWState } from './optim.js';
import { MemoryTrainer, type StepResult } from './trainer.js';
import { TRAINING_DEFAULTS } from './training-defaults.js';

/** The anchor term of a run: weight x KL(base || base + memory) on samples of the base model (anchors.ts). */
export interface AnchorOptions {
  /** > 0 turns the term on. */
  weight: number;
  /** Samples drawn from the base model (default TRAINING_DEFAULTS.anchorSamples). */
  samples?: number;
  /** New tokens per sample (default TRAINING_DEFAULTS.anchorTokens). */
  tokens?: number;
  /** Sampling seed (default the memory's seed). */
  seed?: number;
  /** Anchor rows to use instead of sampling (e.g. the ones a resumed run drew). */
  rows?: readonly (readonly number[])[];
}

/** Hyper-parameters of a run; every field defaults to TRAINING_DEFAULTS. */
export interface TrainingSchedule {
  /** Total optimizer steps; default epochs x steps per epoch. */
  steps?: number;
  /** Passes over the rows (used when steps is unset). */
  epochs?: number;
  /** Peak learning rate. */
  learningRate?: number;
  warmupSteps?: number;
  weightDecay?: number;
  /** Clip by global gradient norm; 0 disables. */
  gradClip?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /**
   * Rows per step. Each epoch visits the rows once in a seeded shuffled order (the data service's
   * StreamTrainingBatches order for the same seed); a batch of every row (batchSize >= rows) takes the rows
   * in the given order at every step.
   */
  batchSize?: number;
  /** Shuffle seed. */
  seed?: number;
  /** The anchor term (off by default). */
  anchor?: AnchorOptions;
}

export interface ResolvedSchedule {
  steps: number;
  stepsPerEpoch: number;
  learningRate: number;
  warmupSteps: number;
  weightDecay: number;
  gradClip: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  batchSize: number;
  seed: number;
}

function check(ok: boolean, message: string, field: string): void {
  if (!ok) throw new InvalidArgumentError(message, field);
}

/** Fills TRAINING_DEFAULTS in and validates a schedule for `rowCount` rows. */
export function resolveSchedule(s: TrainingSchedule, rowCount: number): ResolvedSchedule {
  check(Number.isInteger(rowCount) && rowCount > 0, 'rows: a run needs at least one row', 'rows');
  const d = TRAINING_DEFAULTS;
  const batchSize = s.batchSize ?? d.batchSize;
  check(Number.isInteger(batchSize) && batchSize >= 1, `batchSize must be a positive integer, got ${batchSize}`, 'batchSize');
  const stepsPerEpoch = Math.ceil(rowCount / batchSize);
  const epochs = s.epochs ?? d.epochs;
  check(Number.isInteger(epochs) && epochs >= 1, `epochs must be a positive integer, got ${epochs}`, 'epochs');
  const steps = s.steps ?? epochs * stepsPerEpoch;
  check(Number.isInteger(steps) && steps >= 1, `steps must be a positive integer, got ${steps}`, 'steps');
  const r: ResolvedSchedule = {
    steps,
    stepsPerEpoch,
    learningRate: s.learningRate ?? d.learningRate,
    warmupSteps: s.warmupSteps ?? d.warmupSteps,
    weightDecay: s.weightDecay ?? d.weightDecay,
    gradClip: s.gradClip ?? d.gradClip,
    beta1: s.beta1 ?? d.beta1,
    beta2: s.beta2 ?? d.beta2,
    epsilon: s.epsilon ?? d.epsilon,
    batchSize,
    seed: s.seed ?? 0,
  };
  check(r.learningRate > 0 && Number.isFinite(r.learningRate), `learningRate must be > 0, got ${r.learningRate}`, 'learningRate');
  check(Number.isInteger(r.warmupSteps) && r.warmupSteps >= 0, `warmupSteps must be an integer >= 0, got ${r.warmupSteps}`, 'warmupSteps');
  check(r.weightDecay >= 0 && Number.isFinite(r.weightDecay), `weightDecay must be >= 0, got ${r.weightDecay}`, 'weightDecay');
  check(r.gradClip >= 0 && Number.isFinite(r.gradClip), `gradClip must be >= 0, got ${r.gradClip}`, 'gradClip');
  check(Number.isSafeInteger(r.seed) && r.seed >= 0, `seed must be a non-negative integer, got ${r.seed}`, 'seed');
  return r;
}

/** The learning rate of the 0-based step `index` (cosine with linear warm-up over the run's steps). */
export function scheduleLearningRate(s: ResolvedSchedule, index: number): number {
  return cosineLearningRate(index, { peak: s.learningRate, warmup: s.warmupSteps, total: s.steps });
}

/** Row indices of the 0-based step `index`: epoch floor(index / stepsPerEpoch), its slice of that epoch's order. */
export function scheduleBatch(s: ResolvedSchedule, rowCount: number, index: number): number[] {
  if (s.batchSize >= rowCount) return Array.from({ length: rowCount }, (_, i) => i);
  const epoch = Math.floor(index / s.stepsPerEpoch);
  const b = index % s.stepsPerEpoch;
  const order = shuffled(
    Array.from({ length: rowCount }, (_, i) => i),
    derivedRandom(s.seed, 'batches', epoch),
  );
  return order.slice(b * s.batchSize, (b + 1) * s.batchSize);
}

/**
 * Mean over rows of each row's NLL per target token (nats), each row on its own (so every document counts
 * once, whatever its length). `maskSource` undefined = the memory kind's default for each row.
 */
export function meanRowNll(model: TransformerModel, rows: readonly TrainingRow[], memory?: MemoryModule, maskSource?: MaskSource): number {
  if (rows.length === 0) throw new InvalidArgumentError('rows: nothing to measure', 'rows');
  return tf.tidy(() => {
    const per = rows.map((r) => lmLoss(model, [r], memory, { maskSource }).loss.dataSync()[0]);
    return per.reduce((a, b) => a + b, 0) / per.length;
  });
}

/** Memorization error and locality of a memory (or of the base model alone). */
export interface RunMeasures {
  /** Memorization error: meanRowNll of the document rows (each with its document's mask). */
  memorizationError: number;
  /** Locality: meanRowNll of the outside rows (the kind's mask for text that is no document); undefined without outside rows. */
  outsideNll?: number;
}

export interface RunEvaluation extends RunMeasures {
  /** Steps taken when measured. */
  step: number;
}

export interface RunStepResult extends StepResult {
  /** 0-based index of the step (StepResult.step counts optimizer steps, this one included). */
  index: number;
  epoch: number;
  learningRate: number;
  /** Measured after this step (every evalEvery steps and after the last one). */
  evaluation?: RunEvaluation;
}

export interface TrainingRunOptions {
  schedule?: TrainingSchedule;
  /** Text outside the corpus (rows without a document) for the locality measure. */
  outside?: readonly TrainingRow[];
  /** Measure after every N steps and after the last step; 0 / unset = only on demand (evaluate()). */
  evalEvery?: number;
  /** Resume: the 0-based index of the next step (default optimizerState.step, else 0). */
  startStep?: number;
  /** Resume: the optimizer state saved at startStep (MemoryTrainer.getState / loadState). */
  optimizerState?: AdamWState;
  /** doc-key negatives (MemoryTrainer option). */
  negativeKey?: 'other' | 'random';
  /** Called after every step. */
  onStep?: (r: RunStepResult) => void;
  /**
   * Cancels the run: create() stops sampling anchor rows with `signal.reason`, step() refuses to start (throws
   * the reason, nothing changed), iterate() / run() end quietly before the next step (the run stays resumable).
   */
  signal?: AbortSignal;
  /** Awaited between steps by iterate() / run() and between anchor samples by create() (default: one event-loop turn). */
  nextSlice?: () => Promise<void>;
}

/** Options of iterate() / run(); each defaults to the run's own (TrainingRunOptions). */
export type RunSliceOptions = SliceOptions;

export class TrainingRun {
  readonly schedule: ResolvedSchedule;
  readonly trainer: MemoryTrainer;
  readonly evalEvery: number;
  /** The anchor rows in use (undefined without the anchor term). */
  readonly anchorRows: readonly (readonly number[])[] | undefined;
  private next: number;
  private base: RunMeasures | undefined;

  /** A run whose anchor rows (if any) are drawn from the base model first (sampling is asynchronous). */
  static async create(
    model: TransformerModel,
    memory: MemoryModule,
    rows: readonly TrainingRow[],
    options: TrainingRunOptions = {},
  ): Promise<TrainingRun> {
    const a = options.schedule?.anchor;
    if (!a || !(a.weight > 0) || a.rows) return new TrainingRun(model, memory, rows, options);
    const sampled = await sampleAnchorRows(
      model,
      {
        count: a.samples ?? TRAINING_DEFAULTS.anchorSamples,
        tokens: a.tokens ?? TRAINING_DEFAULTS.anchorTokens,
        seed: a.seed ?? memory.config.seed,
      },
      { signal: options.signal, nextSlice: options.nextSlice },
    );
    return new TrainingRun(model, memory, rows, { ...options, schedule: { ...options.schedule, anchor: { ...a, rows: sampled } } });
  }

  /** Synchronous construction: an anchor term needs its rows given (schedule.anchor.rows); see create(). */
  constructor(
    readonly model: TransformerModel,
    readonly memory: MemoryModule,
    readonly rows: readonly TrainingRow[],
    private readonly options: TrainingRunOptions = {},
  ) {
    this.schedule = resolveSchedule(options.schedule ?? {}, rows.length);
    this.evalEvery = options.evalEvery ?? 0;
    check(Number.isInteger(this.evalEvery) && this.evalEvery >= 0, `evalEvery must be an integer >= 0, got ${this.evalEvery}`, 'evalEvery');
    const state = options.optimizerState;
    this.next = options.startStep ?? state?.step ?? 0;
    check(
      Number.isInteger(this.next) && this.next >= 0 && this.next <= this.schedule.steps,
      `startStep must be in 0..${this.schedule.steps}, got ${this.next}`,
      'startStep',
    );
    if (state && state.step !== this.next)
      throw new InvalidArgumentError(`optimizer state is at step ${state.step}, the run resumes at ${this.next}`, 'startStep');
    const anchor = options.schedule?.anchor;
    const anchorWeight = anchor?.weight ?? TRAINING_DEFAULTS.anchorWeight;
    this.anchorRows = anchorWeight > 0 ? anchor?.rows : undefined;
    const s = this.schedule;
    this.trainer = new MemoryTrainer(model, memory, {
      weightDecay: s.weightDecay,
      gradClip: s.gradClip,
      beta1: s.beta1,
      beta2: s.beta2,
      epsilon: s.epsilon,
      negativeKey: options.negativeKey,
      anchors: this.anchorRows,
      anchorWeight,
    });
    if (state) this.trainer.setState(state);
  }

  /** Steps taken so far: the 0-based index of the next step. */
  get steps(): number {
    return this.next;
  }

  get totalSteps(): number {
    return this.schedule.steps;
  }

  get done(): boolean {
    return this.next >= this.schedule.steps;
  }

  /** The mask source outside rows meet (the kind's default for text without a document); undefined = no mask. */
  get outsideMaskSource(): MaskSource | undefined {
    return this.memory.defaultMaskSource(false);
  }

  /** Learning rate of the 0-based step `index`. */
  learningRate(index: number): number {
    return scheduleLearningRate(this.schedule, index);
  }

  /** The rows of the 0-based step `index`. */
  batch(index: number): TrainingRow[] {
    return scheduleBatch(this.schedule, this.rows.length, index).map((i) => this.rows[i]);
  }

  /**
   * Takes the next step; measures after it when evalEvery says so. An aborted `signal` (the run's by default)
   * throws its reason before anything changes.
   */
  step(slices: Pick<SliceOptions, 'signal'> = {}): RunStepResult {
    const signal = slices.signal ?? this.options.signal;
    signal?.throwIfAborted();
    if (this.done) throw new InvalidArgumentError(`the run has taken all its ${this.schedule.steps} steps`, 'step');
    const index = this.next;
    const learningRate = this.learningRate(index);
    const r = this.trainer.step(this.batch(index), learningRate, { signal });
    this.next++;
    const result: RunStepResult = { ...r, index, epoch: Math.floor(index / this.schedule.stepsPerEpoch), learningRate };
    if (this.evalEvery > 0 && (this.next % this.evalEvery === 0 || this.done)) result.evaluation = this.evaluate();
    this.options.onStep?.(result);
    return result;
  }

  /**
   * Steps until the run is done or the signal aborts (checked before each step, the run stays resumable); one
   * step per slice, `nextSlice` awaited after each (default one event-loop turn).
   */
  async *iterate(options: RunSliceOptions = {}): AsyncGenerator<RunStepResult> {
    const signal = options.signal ?? this.options.signal;
    const nextSlice = options.nextSlice ?? this.options.nextSlice ?? yieldToEventLoop;
    while (!this.done && !signal?.aborted) {
      yield this.step({ signal });
      await nextSlice();
    }
  }

  /** iterate() to the end (or the abort); the steps taken by this call. */
  async run(options: RunSliceOptions = {}): Promise<RunStepResult[]> {
    const out: RunStepResult[] = [];
    for await (const r of this.iterate(options)) out.push(r);
    return out;
  }

  /** Memorization error (and outside NLL) with the memory as it is now. */
  evaluate(): RunEvaluation {
    return { step: this.next, ...this.measure(this.memory) };
  }

  /** The same measures for the base model without the memory (computed once). */
  baseline(): RunMeasures {
    this.base ??= this.measure(undefined);
    return this.base;
  }

  private measure(memory: MemoryModule | undefined): RunMeasures {
    const outside = this.options.outside;
    return {
      memorizationError: meanRowNll(this.model, this.rows, memory),
      outsideNll: outside && outside.length > 0 ? meanRowNll(this.model, outside, memory) : undefined,
    };
  }

  /** Frees the optimizer state and anchor targets (not the memory or the model). */
  dispose(): void {
    this.trainer.dispose();
  }
}
