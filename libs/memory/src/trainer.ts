/**
 * MemoryTrainer: one optimizer step at a time over batches of document rows, base model frozen (only the
 * memory's variables are handed to the tape and the optimizer). doc-key trains with the guidance loss.
 * Optimizer state can be read and restored (resume), or saved next to a memory file as safetensors.
 * Optional anchor term: + anchorWeight * KL(base || base + memory) averaged over the anchor rows' positions
 * (e.g. samples of the base model, anchors.ts), so an always-on memory learns to leave typical text alone.
 */
import type { TransformerModel } from '@memorize/lm';
import { tf, type SliceOptions } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';
import { documentKey, randomKey } from './kinds/doc-key/entries.js';
import { guidanceLoss, lmLoss, padRows, type TrainingRow } from './losses.js';
import { memoryHooks, type MemoryModule } from './module.js';
import { deriveSeed, mulberry32 } from './hash.js';
import { AdamW, applyGradients, loadAdamWState, saveAdamWState, type AdamWOptions, type AdamWState } from './optim.js';
import { TRAINING_DEFAULTS } from './training-defaults.js';

export interface TrainerOptions extends AdamWOptions {
  /** Clip by global gradient norm (default TRAINING_DEFAULTS.gradClip, the reference 10); 0 disables. */
  gradClip?: number;
  /** doc-key negatives: another corpus document's key (default when there are two or more) or a fresh random key. */
  negativeKey?: 'other' | 'random';
  /** Token rows (BOS included) the memory should leave unchanged; used when anchorWeight > 0. */
  anchors?: readonly (readonly number[])[];
  /** Weight of the mean per-position KL(base || base + memory) on the anchors. Default 0 (off). */
  anchorWeight?: number;
}

/** The anchors' base-model next-token distributions, computed once (the base model is frozen). */
interface AnchorTargets {
  inputs: number[][];
  attentionMask: number[][];
  baseLogp: tf.Tensor3D;
  baseP: tf.Tensor3D;
  /** [B, T] 1 for counted positions. */
  weights: tf.Tensor2D;
  positions: number;
}

export interface StepResult {
  /** The optimised loss (lmLoss plus doc-key's guidance term and the anchor term). */
  loss: number;
  /** Mean next-token cross-entropy of the batch with its own masks. */
  lmLoss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Optimizer steps taken so far (this one included). */
  step: number;
  /** Target tokens in the batch. */
  tokens: number;
}

export class MemoryTrainer {
  readonly optimizer: AdamW;
  readonly gradClip: number;
  readonly negativeKey: 'other' | 'random';
  readonly anchorWeight: number;
  private readonly anchorTargets: AnchorTargets | undefined;
  private readonly byVariable = new Map<string, string>();

  constructor(
    readonly model: TransformerModel,
    readonly memory: MemoryModule,
    options: TrainerOptions = {},
  ) {
    if (memory.dim !== model.config.dim) throw new InvalidArgumentError(`memory width ${memory.dim} != model width ${model.config.dim}`, 'memory');
    const vars = new Map<string, tf.Variable>();
    for (const [name, p] of memory.parameters()) {
      vars.set(name, p.variable);
      this.byVariable.set(p.variable.name, name);
    }
    this.optimizer = new AdamW(vars, options);
    this.gradClip = options.gradClip ?? TRAINING_DEFAULTS.gradClip;
    this.negativeKey = options.negativeKey ?? (memory.documents.length > 1 ? 'other' : 'random');
    this.anchorWeight = options.anchorWeight ?? 0;
    if (!(this.anchorWeight >= 0) || !Number.isFinite(this.anchorWeight)) {
      throw new InvalidArgumentError(`anchorWeight must be a finite number >= 0, got ${this.anchorWeight}`, 'anchorWeight');
    }
    if (this.anchorWeight > 0) {
      if (!options.anchors || options.anchors.length === 0) throw new InvalidArgumentError('anchorWeight > 0 needs anchor rows', 'anchors');
      this.anchorTargets = this.baseTargets(options.anchors);
    }
  }

  private baseTargets(anchors: readonly (readonly number[])[]): AnchorTargets {
    const batch = padRows(anchors.map((ids) => ({ ids })));
    const inputs = batch.tokens.map((r) => r.slice(0, -1));
    // Position t counts when it and its successor are real tokens (as documentLoss counts targets).
    const mask = batch.attentionMask.map((r) => r.slice(1));
    const attentionMask = batch.attentionMask.map((r) => r.slice(0, -1));
    const positions = mask.flat().reduce((a, x) => a + x, 0);
    return tf.tidy(() => {
      const baseLogp = tf.logSoftmax(this.model.forward(inputs, { attentionMask })) as tf.Tensor3D;
      return {
        inputs,
        attentionMask,
        baseLogp: tf.keep(baseLogp),
        baseP: tf.keep(tf.exp(baseLogp)),
        weights: tf.keep(tf.tensor2d(mask.flat(), [mask.length, mask[0].length])),
        positions,
      };
    });
  }

  /** Mean per-position KL(base || base + memory) over the anchors. Differentiable. */
  private anchorKl(a: AnchorTargets): tf.Scalar {
    const logp = tf.logSoftmax(
      this.model.forward(a.inputs, { attentionMask: a.attentionMask, hooks: memoryHooks(this.memory, { maskSource: 'none' }) }),
    );
    const perPosition = tf.sum(tf.mul(a.baseP, tf.sub(a.baseLogp, logp)), -1);
    return tf.div(tf.sum(tf.mul(perPosition, a.weights)), a.positions) as tf.Scalar;
  }

  /** Optimizer steps taken so far. */
  get steps(): number {
    return this.optimizer.step;
  }

  /** Negative keys for doc-key's guidance loss, deterministic in (seed, step, row). */
  private negatives(rows: readonly TrainingRow[]): Float32Array[] {
    const c = this.memory.config;
    const n = this.memory.documents.length;
    const rand = mulberry32(deriveSeed(c.seed, `doc-key/negatives/${this.steps}`));
    return rows.map((row, r) => {
      if (this.negativeKey === 'random' || n < 2 || row.documentIndex === undefined) return randomKey(c.keyDim, c.seed, this.steps * rows.length + r);
      const other = (row.documentIndex + 1 + Math.floor(rand() * (n - 1))) % n;
      return documentKey(other, c.keyDim, c.seed);
    });
  }

  /**
   * One optimizer step over `rows` at learning rate `lr` — one slice of work: a call whose `slices.signal` is
   * already aborted stops before touching anything (the parameters, the moments and the step count are unchanged).
   */
  step(rows: readonly TrainingRow[], lr: number, slices: Pick<SliceOptions, 'signal'> = {}): StepResult {
    slices.signal?.throwIfAborted();
    const isDocKey = this.memory.config.kind === 'doc-key';
    const negatives = isDocKey ? this.negatives(rows) : undefined;
    let lmPart: tf.Scalar | undefined;
    let tokens = 0;
    const anchors = this.anchorTargets;
    const { value, grads } = tf.variableGrads(() => {
      let loss: tf.Scalar;
      if (negatives) {
        const g = guidanceLoss(this.model, rows, this.memory, negatives);
        lmPart = tf.keep(g.lmLoss);
        tokens = g.tokens;
        loss = g.loss;
      } else {
        const l = lmLoss(this.model, rows, this.memory);
        tokens = l.tokens;
        loss = l.loss;
        if (anchors) lmPart = tf.keep(l.loss);
      }
      return anchors ? (tf.add(loss, tf.mul(this.anchorKl(anchors), this.anchorWeight)) as tf.Scalar) : loss;
    }, this.memory.variables());
    const gradNorm = applyGradients(this.optimizer, grads, this.byVariable, this.gradClip, lr);
    const loss = value.dataSync()[0];
    const lm = lmPart ? lmPart.dataSync()[0] : loss;
    value.dispose();
    lmPart?.dispose();
    return { loss, lmLoss: lm, gradNorm, step: this.steps, tokens };
  }

  getState(): AdamWState {
    return this.optimizer.getState();
  }

  setState(state: AdamWState): void {
    this.optimizer.setState(state);
  }

  /** Writes the optimizer state (adam.m.<name>, adam.v.<name>, metadata step) atomically. */
  saveState(path: string): void {
    saveAdamWState(path, this.optimizer);
  }

  loadState(path: string): void {
    loadAdamWState(path, this.optimizer);
  }

  dispose(): void {
    this.optimizer.dispose();
    const a = this.anchorTargets;
    if (a) tf.dispose([a.baseLogp, a.baseP, a.weights]);
  }
}
