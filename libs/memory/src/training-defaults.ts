/**
 * The reference training settings (DESIGN.md "Training defaults"), in one place: the optimizer, the trainer,
 * training runs and the model-host's TrainStep all default to these. Field for field the proto message
 * memorize.v1.TrainingConfig's documented defaults.
 */
import { MEMORY_DEFAULTS } from './config.js';

export const TRAINING_DEFAULTS = {
  /** AdamW (decoupled weight decay, bias correction: torch.optim.AdamW). */
  optimizer: 'adamw',
  /** Peak learning rate. */
  learningRate: 1e-3,
  /** Linear warm-up steps, then cosine decay to 0 (transformers.get_cosine_schedule_with_warmup). */
  warmupSteps: 10,
  schedule: 'cosine',
  /** Rows per step. */
  batchSize: 4,
  /** Passes over the corpus. */
  epochs: 25,
  weightDecay: 0.05,
  /** Clip by global gradient norm; 0 disables. */
  gradClip: 10,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  /** Memory entries m. */
  memoryEntries: MEMORY_DEFAULTS.entries,
  /** Weight of the anchor term KL(base || base + memory); 0 = off (the reference). */
  anchorWeight: 0,
  /** Anchor samples drawn from the base model when the anchor term is on, and their new tokens. */
  anchorSamples: 64,
  anchorTokens: 48,
} as const;
