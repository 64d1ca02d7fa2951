/**
 * The pure parts of a run: its schedule (the reference optimiser settings resolved from the proto TrainingConfig,
 * with libs/memory's schedule functions), when it measures and checkpoints, where its files go, and how the
 * memorization error and locality are computed from DocumentLoss answers.
 */
import { createHash } from 'node:crypto';
import { common, seed32, trainer } from '@memorize/contracts';
import { InvalidArgumentError } from '@memorize/errors';
import { resolveSchedule, scheduleLearningRate, TRAINING_DEFAULTS, type ResolvedSchedule } from '@memorize/memory';

/** Locality pages when RunSpec.locality_pages is unset. */
export const DEFAULT_LOCALITY_PAGES = 20;

export interface RunPlan {
  schedule: ResolvedSchedule;
  /** Measure after every N steps (epoch ends when the spec says 0), and after the last step. */
  evalEvery: number;
  /** Checkpoint after every N steps (epoch ends when the spec says 0). */
  checkpointEvery: number;
  full: boolean;
}

/** The schedule of a run over `rows` training rows (chunks); field names in errors are the spec's. */
export function planRun(spec: trainer.RunSpec, rows: number): RunPlan {
  const t = spec.training ?? common.TrainingConfig.fromPartial({});
  let schedule: ResolvedSchedule;
  try {
    schedule = resolveSchedule(
      {
        steps: t.maxSteps > 0 ? t.maxSteps : undefined,
        epochs: t.epochs > 0 ? t.epochs : undefined,
        learningRate: t.learningRate,
        warmupSteps: t.warmupSteps,
        weightDecay: t.weightDecay,
        gradClip: t.gradClip,
        beta1: t.beta1,
        beta2: t.beta2,
        epsilon: t.epsilon,
        batchSize: t.batchSize > 0 ? t.batchSize : undefined,
        seed: seed32(t.seed),
      },
      rows,
    );
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`spec.training: ${error.message}`, 'spec.training');
    throw error;
  }
  const perEpoch = schedule.stepsPerEpoch;
  return {
    schedule,
    evalEvery: spec.evalEvery > 0 ? spec.evalEvery : perEpoch,
    checkpointEvery: t.checkpointEvery > 0 ? t.checkpointEvery : perEpoch,
    full: spec.jobKind === trainer.JobKind.JOB_KIND_FULL,
  };
}

/** Learning rate of the 0-based step `index`. */
export function learningRateAt(plan: RunPlan, index: number): number {
  return scheduleLearningRate(plan.schedule, index);
}

/** Whether to measure / checkpoint once `stepsDone` steps are taken. */
export function isDue(every: number, stepsDone: number, totalSteps: number): boolean {
  return stepsDone === totalSteps || stepsDone % every === 0;
}

/** Anchor settings of the spec (TrainStep fields), off by default as in the reference. */
export function anchorSettings(spec: trainer.RunSpec): { anchorKlWeight: number; anchorSamples: number; anchorSampleTokens: number } {
  const t = spec.training;
  return {
    anchorKlWeight: t?.anchorKlWeight ?? TRAINING_DEFAULTS.anchorWeight,
    anchorSamples: t?.anchorSamples ?? 0,
    anchorSampleTokens: t?.anchorSampleTokens ?? 0,
  };
}

/** Where a run's files go (inside model-host's memory root, or model root for full runs). */
export function runPaths(runId: string, spec: trainer.RunSpec): { output: string; checkpoint: (steps: number) => string } {
  const full = spec.jobKind === trainer.JobKind.JOB_KIND_FULL;
  const output = spec.outputPath || (full ? `runs/${runId}/model` : `runs/${runId}/memory.safetensors`);
  return {
    output,
    checkpoint: (steps) => `runs/${runId}/checkpoints/step-${String(steps).padStart(6, '0')}${full ? '' : '.safetensors'}`,
  };
}

/** The model-host id a run's model is held under: shared by memory runs of one checkpoint, private to a full run. */
export function modelIdFor(runId: string, spec: trainer.RunSpec): string {
  if (spec.jobKind === trainer.JobKind.JOB_KIND_FULL) return `run.${runId}`;
  return baseModelId(spec.modelPath, spec.tokenizerPath);
}

/** The model-host id of a checkpoint (and tokenizer) as loaded for memory runs and evaluations, which share it. */
export function baseModelId(modelPath: string, tokenizerPath: string): string {
  const digest = createHash('sha256').update(`${modelPath}\u0000${tokenizerPath}`).digest('hex');
  return `base.${digest.slice(0, 16)}`;
}

export function memoryIdFor(runId: string): string {
  return `run.${runId}`;
}

/** Token-weighted NLL per token over the answers of several DocumentLoss calls. */
export function tokenWeightedLoss(parts: ReadonlyArray<{ loss: number; tokens: bigint }>): number {
  let sum = 0;
  let tokens = 0;
  for (const p of parts) {
    sum += p.loss * Number(p.tokens);
    tokens += Number(p.tokens);
  }
  return tokens > 0 ? sum / tokens : 0;
}
