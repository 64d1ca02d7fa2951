/**
 * Optimisation as the reference does it (PyTorch semantics): AdamW with decoupled weight decay and bias
 * correction, global-norm gradient clipping (torch.nn.utils.clip_grad_norm_), and the cosine schedule with
 * linear warm-up of transformers.get_cosine_schedule_with_warmup.
 */
import { SafetensorsReader, tf, writeSafetensors, type TensorToWrite } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';
import { TRAINING_DEFAULTS } from './training-defaults.js';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Decoupled weight decay (default TRAINING_DEFAULTS.weightDecay, the reference 0.05). */
  weightDecay?: number;
}

export interface AdamWState {
  /** Optimizer steps taken. */
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

/**
 * torch.optim.AdamW: p -= lr wd p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    readonly variables: ReadonlyMap<string, tf.Variable>,
    options: AdamWOptions = {},
  ) {
    this.beta1 = options.beta1 ?? TRAINING_DEFAULTS.beta1;
    this.beta2 = options.beta2 ?? TRAINING_DEFAULTS.beta2;
    this.epsilon = options.epsilon ?? TRAINING_DEFAULTS.epsilon;
    this.weightDecay = options.weightDecay ?? TRAINING_DEFAULTS.weightDecay;
    for (const [name, x] of variables) {
      // Inside tidy: the zeros a variable is made from would otherwise outlive the variable's dispose().
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(x), false)),
      );
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(x), false)),
      );
    }
  }

  get step(): number {
    return this.t;
  }

  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    if (!(lr >= 0)) throw new InvalidArgumentError(`learning rate must be >= 0, got ${lr}`, 'lr');
    this.t++;
    const bc1 = 1 - this.beta1 ** this.t;
    const bc2 = 1 - this.beta2 ** this.t;
    tf.tidy(() => {
      for (const [name, x] of this.variables) {
        const g = grads.get(name);
        if (!g) continue;
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const decayed = this.weightDecay > 0 ? tf.mul(x, 1 - lr * this.weightDecay) : x;
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), this.epsilon));
        x.assign(tf.sub(decayed, tf.mul(update, lr)));
      }
    });
  }

  getState(): AdamWState {
    const read = (map: Map<string, tf.Variable>) => new Map([...map].map(([n, x]) => [n, Float32Array.from(x.dataSync() as Float32Array)]));
    return { step: this.t, m: read(this.m), v: read(this.v) };
  }

  setState(state: AdamWState): void {
    for (const [which, map] of [
      ['m', this.m],
      ['v', this.v],
    ] as const) {
      for (const [name, x] of map) {
        const data = state[which].get(name);
        if (!data || data.length !== x.size) throw new InvalidArgumentError(`optimizer state lacks ${which} of "${name}" (size ${x.size})`, name);
        tf.tidy(() => x.assign(tf.tensor(data, x.shape)));
      }
    }
    this.t = state.step;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}

/** The format tag of an optimizer-state file (metadata `format`). */
export const ADAMW_STATE_FORMAT = 'memorize.adamw/v1';

/** Writes an optimizer's state (adam.m.<name>, adam.v.<name>, metadata step) atomically. */
export function saveAdamWState(path: string, optimizer: AdamW): void {
  const s = optimizer.getState();
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, x] of optimizer.variables) {
    tensors.set(`adam.m.${name}`, { shape: x.shape, data: s.m.get(name)! });
    tensors.set(`adam.v.${name}`, { shape: x.shape, data: s.v.get(name)! });
  }
  writeSafetensors(path, tensors, { format: ADAMW_STATE_FORMAT, step: String(s.step) });
}

/** Restores an optimizer's state from a file saveAdamWState wrote (every variable's moments must be there). */
export function loadAdamWState(path: string, optimizer: AdamW): void {
  const reader = new SafetensorsReader(path);
  try {
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const name of optimizer.variables.keys()) {
      m.set(name, reader.readFloat32(`adam.m.${name}`).data);
      v.set(name, reader.readFloat32(`adam.v.${name}`).data);
    }
    const step = Number(reader.header.metadata.step);
    if (!Number.isInteger(step) || step < 0) throw new InvalidArgumentError(`${path}: metadata step must be a non-negative integer`, 'step');
    optimizer.setState({ step, m, v });
  } finally {
    reader.close();
  }
}

/** Global L2 norm of gradients (sqrt of the sum of squared norms). */
export function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): number {
  if (grads.size === 0) return 0;
  // One reduction and one read for all gradients, disposed after reading.
  const total = tf.tidy(() => tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))));
  const sum = total.dataSync()[0];
  total.dispose();
  return Math.sqrt(sum);
}

/**
 * torch.nn.utils.clip_grad_norm_: scales every gradient by maxNorm / (norm + 1e-6) when that is below 1.
 * Returns the (possibly new) gradients and the norm before clipping. maxNorm 0 disables clipping.
 */
export function clipByGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number): { grads: Map<string, tf.Tensor>; norm: number } {
  const norm = globalNorm(grads);
  if (!(maxNorm > 0)) return { grads, norm };
  const coef = maxNorm / (norm + 1e-6);
  if (coef >= 1) return { grads, norm };
  const out = new Map<string, tf.Tensor>();
  for (const [n, g] of grads) {
    out.set(n, tf.mul(g, coef));
    g.dispose();
  }
  return { grads: out, norm };
}

/**
 * One optimizer step from a tape's gradients (keyed by tf variable name; `names` maps them to the optimizer's
 * names): clipped by global norm (maxNorm 0: not clipped), applied at `lr`, then disposed. Returns the norm before
 * clipping.
 */
export function applyGradients(
  optimizer: AdamW,
  grads: Readonly<Record<string, tf.Tensor>>,
  names: ReadonlyMap<string, string>,
  maxNorm: number,
  lr: number,
): number {
  const named = new Map<string, tf.Tensor>();
  for (const [varName, g] of Object.entries(grads)) named.set(names.get(varName) ?? varName, g);
  const clipped = clipByGlobalNorm(named, maxNorm);
  optimizer.apply(clipped.grads, lr);
  for (const g of clipped.grads.values()) g.dispose();
  return clipped.norm;
}

export interface CosineSchedule {
  /** Peak learning rate (reference 1e-3). */
  peak: number;
  /** Linear warm-up steps (reference 10). */
  warmup: number;
  /** Total optimizer steps; the rate reaches 0 there. */
  total: number;
}

/**
 * Learning rate for the 0-based optimizer step: peak * step / warmup during warm-up, then
 * peak * 0.5 (1 + cos(pi * progress)), progress = (step - warmup) / (total - warmup) — exactly
 * transformers.get_cosine_schedule_with_warmup (so step 0 has rate 0 when warmup > 0).
 */
export function cosineLearningRate(step: number, s: CosineSchedule): number {
  if (step < s.warmup) return (s.peak * step) / Math.max(1, s.warmup);
  const progress = (step - s.warmup) / Math.max(1, s.total - s.warmup);
  return Math.max(0, s.peak * 0.5 * (1 + Math.cos(Math.PI * Math.min(progress, 1))));
}
