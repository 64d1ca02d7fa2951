/**
 * MemoryTrainer: one optimizer step at a time over batches of document rows, base model frozen (only the
 * memory's variables are handed to the tape and the optimizer). doc-key trains with the guidance loss.
 * Optimizer state can be read and restored (resume), or saved next to a memory file as safetensors.
 */
import type { TransformerModel } from '@memorize/lm';
import { InvalidArgumentError, SafetensorsReader, tf, writeSafetensors, type TensorToWrite } from '@memorize/tensor';
import { documentKey, randomKey } from './kinds/doc-key/entries.js';
import { guidanceLoss, lmLoss, type TrainingRow } from './losses.js';
import type { MemoryModule } from './module.js';
import { deriveSeed, mulberry32 } from './hash.js';
import { AdamW, clipByGlobalNorm, type AdamWOptions, type AdamWState } from './optim.js';

export interface TrainerOptions extends AdamWOptions {
  /** Clip by global gradient norm (reference 10); 0 disables. */
  gradClip?: number;
  /** doc-key negatives: another corpus document's key (default when there are two or more) or a fresh random key. */
  negativeKey?: 'other' | 'random';
}

export interface StepResult {
  /** The optimised loss (lmLoss plus doc-key's guidance term). */
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
    this.optimizer = new AdamW(vars, { weightDecay: 0.05, ...options });
    this.gradClip = options.gradClip ?? 10;
    this.negativeKey = options.negativeKey ?? (memory.documents.length > 1 ? 'other' : 'random');
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

  step(rows: readonly TrainingRow[], lr: number): StepResult {
    const isDocKey = this.memory.config.kind === 'doc-key';
    const negatives = isDocKey ? this.negatives(rows) : undefined;
    let lmPart: tf.Scalar | undefined;
    let tokens = 0;
    const { value, grads } = tf.variableGrads(() => {
      if (negatives) {
        const g = guidanceLoss(this.model, rows, this.memory, negatives);
        lmPart = tf.keep(g.lmLoss);
        tokens = g.tokens;
        return g.loss;
      }
      const l = lmLoss(this.model, rows, this.memory);
      tokens = l.tokens;
      return l.loss;
    }, this.memory.variables());
    const named = new Map<string, tf.Tensor>();
    for (const [varName, g] of Object.entries(grads)) named.set(this.byVariable.get(varName) ?? varName, g);
    const clipped = clipByGlobalNorm(named, this.gradClip);
    this.optimizer.apply(clipped.grads, lr);
    for (const g of clipped.grads.values()) g.dispose();
    const loss = value.dataSync()[0];
    const lm = lmPart ? lmPart.dataSync()[0] : loss;
    value.dispose();
    lmPart?.dispose();
    return { loss, lmLoss: lm, gradNorm: clipped.norm, step: this.steps, tokens };
  }

  getState(): AdamWState {
    return this.optimizer.getState();
  }

  setState(state: AdamWState): void {
    this.optimizer.setState(state);
  }

  /** Writes the optimizer state (adam.m.<name>, adam.v.<name>, metadata step) atomically. */
  saveState(path: string): void {
    const s = this.getState();
    const tensors = new Map<string, TensorToWrite>();
    for (const [name, p] of this.memory.parameters()) {
      tensors.set(`adam.m.${name}`, { shape: p.variable.shape, data: s.m.get(name)! });
      tensors.set(`adam.v.${name}`, { shape: p.variable.shape, data: s.v.get(name)! });
    }
    writeSafetensors(path, tensors, { format: 'memorize.adamw/v1', step: String(s.step) });
  }

  loadState(path: string): void {
    const reader = new SafetensorsReader(path);
    try {
      const m = new Map<string, Float32Array>();
      const v = new Map<string, Float32Array>();
      for (const name of this.memory.parameters().keys()) {
        m.set(name, reader.readFloat32(`adam.m.${name}`).data);
        v.set(name, reader.readFloat32(`adam.v.${name}`).data);
      }
      const step = Number(reader.header.metadata.step);
      if (!Number.isInteger(step) || step < 0) throw new InvalidArgumentError(`${path}: metadata step must be a non-negative integer`, 'step');
      this.setState({ step, m, v });
    } finally {
      reader.close();
    }
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
