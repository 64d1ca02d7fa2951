/**
 * FullTrainer: full-parameter training of a base model (no memory), one optimizer step at a time — the job kind
 * that pretrains small base models. Every checkpoint tensor (HF names and layout, libs/lm's checkpointTensors) is
 * a variable; each step takes the LM loss through a training view of the model over those variables
 * (trainableWeights), clips, applies the same AdamW as MemoryTrainer, then swaps freshly built runtime weights
 * into the model in one assignment (TransformerModel.replaceWeights), with the fingerprint of the new weights:
 * exactly what loading the written checkpoint gives. Optimizer state reads, restores and saves like a memory's.
 */
import {
  buildModel,
  checkpointTensors,
  checkTrainableArchitecture,
  memorySource,
  trainableWeights,
  TransformerModel,
  type TensorMap,
} from '@memorize/lm';
import { tf, type SliceOptions } from '@memorize/tensor';
import { lmLoss, type TrainingRow } from './losses.js';
import { AdamW, applyGradients, loadAdamWState, saveAdamWState, type AdamWOptions, type AdamWState } from './optim.js';
import { TRAINING_DEFAULTS } from './training-defaults.js';
import type { StepResult } from './trainer.js';

export interface FullTrainerOptions extends AdamWOptions {
  /** Clip by global gradient norm (default TRAINING_DEFAULTS.gradClip, the reference 10); 0 disables. */
  gradClip?: number;
}

export class FullTrainer {
  readonly optimizer: AdamW;
  readonly gradClip: number;
  private readonly params = new Map<string, tf.Variable>();
  private readonly byVariable = new Map<string, string>();

  /**
   * `initial`: the checkpoint tensors to start from (e.g. read from the folder the model was loaded from, so a
   * resumed run starts from the saved bytes); default the model's own weights through checkpointTensors.
   */
  constructor(
    readonly model: TransformerModel,
    options: FullTrainerOptions = {},
    initial?: TensorMap,
  ) {
    checkTrainableArchitecture(model.config);
    const tensors = initial ?? checkpointTensors(model);
    for (const [name, t] of tensors) {
      const v = tf.tidy(() => tf.variable(tf.tensor(t.data, t.shape), true));
      this.params.set(name, v);
      this.byVariable.set(v.name, name);
    }
    this.optimizer = new AdamW(this.params, options);
    this.gradClip = options.gradClip ?? TRAINING_DEFAULTS.gradClip;
  }

  /** Optimizer steps taken so far. */
  get steps(): number {
    return this.optimizer.step;
  }

  /** The checkpoint tensors being trained (copies, HF names), in the model's q/k pairing. */
  tensors(): TensorMap {
    const out: TensorMap = new Map();
    for (const [name, v] of this.params) out.set(name, { data: Float32Array.from(v.dataSync() as Float32Array), shape: [...v.shape] });
    return out;
  }

  /** The model over the variables, differentiable in every one of them (call inside a tape). */
  private trainingView(): TransformerModel {
    const m = this.model;
    return new TransformerModel(m.config, trainableWeights(m.config, this.params), m.fingerprint, m.rope);
  }

  /** The LM loss of `rows` with the current weights, without a step (dry_run). */
  loss(rows: readonly TrainingRow[]): { loss: number; tokens: number } {
    return tf.tidy(() => {
      const l = lmLoss(this.model, rows);
      return { loss: l.loss.dataSync()[0], tokens: l.tokens };
    });
  }

  /**
   * One optimizer step over `rows` at learning rate `lr` — one slice of work: a call whose `slices.signal` is
   * already aborted stops before touching anything. The model's weights change at the end, all at once.
   */
  step(rows: readonly TrainingRow[], lr: number, slices: Pick<SliceOptions, 'signal'> = {}): StepResult {
    slices.signal?.throwIfAborted();
    let tokens = 0;
    const { value, grads } = tf.variableGrads(() => {
      const l = lmLoss(this.trainingView(), rows);
      tokens = l.tokens;
      return l.loss;
    }, [...this.params.values()]);
    const gradNorm = applyGradients(this.optimizer, grads, this.byVariable, this.gradClip, lr);
    const loss = value.dataSync()[0];
    value.dispose();
    this.publish();
    return { loss, lmLoss: loss, gradNorm, step: this.steps, tokens };
  }

  /** Rebuilds the model's runtime weights from the variables (the loaders' own packing) and swaps them in. */
  private publish(): void {
    const built = buildModel(this.model.config, memorySource(this.tensors(), 'full-parameter training'));
    this.model.replaceWeights(built.weights, built.fingerprint);
  }

  getState(): AdamWState {
    return this.optimizer.getState();
  }

  setState(state: AdamWState): void {
    this.optimizer.setState(state);
  }

  /** Writes the optimizer state (adam.m.<name>, adam.v.<name> by checkpoint tensor name, metadata step) atomically. */
  saveState(path: string): void {
    saveAdamWState(path, this.optimizer);
  }

  loadState(path: string): void {
    loadAdamWState(path, this.optimizer);
  }

  /** Frees the variables and the moments (the model keeps its current weights). */
  dispose(): void {
    this.optimizer.dispose();
    for (const v of this.params.values()) v.dispose();
  }
}
