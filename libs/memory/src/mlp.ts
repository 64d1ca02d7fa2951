/**
 * The residual memory MLP shared by every kind: y = W_down (act(W_up h + b_up) * k) + b_down, then optional
 * LayerNorm and scalar gate, added to h. Trainable tensors are tf.Variables named after PyTorch's Linear
 * convention (up.weight [m, d] ...); at runtime the matrices are kept transposed ([in, out]) because
 * tfjs-wasm's matmul with transposeB is several times slower. Files and gradient reports use the
 * PyTorch names and layouts; a norm does not depend on the transposition.
 */
import { gelu, geluTanh } from '@memorize/lm';
import { tf } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';
import type { GeluVariant } from './config.js';
import { mulberry32 } from './hash.js';

/** PyTorch's nn.LayerNorm default. */
export const LAYER_NORM_EPS = 1e-5;

export interface MlpShape {
  d: number;
  m: number;
  layerNorm: boolean;
  gate: boolean;
}

/** How fresh MLP parameters start (defaults: the reference initialisation). */
export interface MlpInit {
  /** Initial gate value (default 1). */
  gateInit?: number;
  /** W_down and b_down start at zero (default false). */
  zeroInitDown?: boolean;
  /** Every b_up entry starts at this value (default: the reference uniform draw). */
  upBiasInit?: number | null;
}

/** A named parameter: runtime variable plus how it maps to the PyTorch-layout tensor. */
export interface NamedParameter {
  variable: tf.Variable;
  /** Shape in files (PyTorch layout). */
  fileShape: number[];
  /** Runtime keeps a [rows, cols] matrix transposed relative to the file. */
  transposed: boolean;
}

export type ParameterMap = Map<string, NamedParameter>;

/** PyTorch nn.Linear default init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias. */
function uniform(rand: () => number, n: number, bound: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rand() - 1) * bound;
  return out;
}

export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

function param(data: Float32Array, fileShape: number[], transposed = false): NamedParameter {
  const shape = transposed ? [fileShape[1], fileShape[0]] : fileShape;
  const values = transposed ? transpose2d(data, fileShape[0], fileShape[1]) : data;
  // Inside tidy: the initial tensor would otherwise outlive the variable's dispose().
  return { variable: tf.tidy(() => tf.variable(tf.tensor(values, shape), true)), fileShape, transposed };
}

/** Builds a parameter from file data (PyTorch layout), transposing matrices into the runtime layout. */
export function parameterFromFile(data: Float32Array, fileShape: number[], transposed: boolean): NamedParameter {
  return param(data, fileShape, transposed);
}

/** Reads a parameter back in PyTorch layout. */
export function parameterToFile(p: NamedParameter): Float32Array {
  const data = p.variable.dataSync() as Float32Array;
  // Runtime [cols, rows] back to the file's [rows, cols].
  return p.transposed ? transpose2d(data, p.fileShape[1], p.fileShape[0]) : Float32Array.from(data);
}

/**
 * Fresh MLP parameters, deterministic in the seed. The random stream is drawn identically whatever `init`
 * says, so zeroInitDown changes only the down projection and upBiasInit only b_up (the rest stay the
 * reference draws).
 */
export function initMlp(shape: MlpShape, seed: number, init: MlpInit = {}): ParameterMap {
  const { d, m } = shape;
  const rand = mulberry32(seed);
  const map: ParameterMap = new Map();
  map.set('up.weight', param(uniform(rand, m * d, 1 / Math.sqrt(d)), [m, d], true));
  const upBias = uniform(rand, m, 1 / Math.sqrt(d));
  if (init.upBiasInit !== undefined && init.upBiasInit !== null) upBias.fill(init.upBiasInit);
  map.set('up.bias', param(upBias, [m]));
  const downWeight = uniform(rand, d * m, 1 / Math.sqrt(m));
  const downBias = uniform(rand, d, 1 / Math.sqrt(m));
  if (init.zeroInitDown) {
    downWeight.fill(0);
    downBias.fill(0);
  }
  map.set('down.weight', param(downWeight, [d, m], true));
  map.set('down.bias', param(downBias, [d]));
  if (shape.layerNorm) {
    map.set('ln.weight', param(new Float32Array(d).fill(1), [d]));
    map.set('ln.bias', param(new Float32Array(d), [d]));
  }
  if (shape.gate) map.set('gate', param(Float32Array.of(init.gateInit ?? 1), [1]));
  return map;
}

/** Tensor names and PyTorch shapes an MLP of this shape stores. */
export function mlpFileLayout(shape: MlpShape): Map<string, { shape: number[]; transposed: boolean }> {
  const { d, m } = shape;
  const out = new Map<string, { shape: number[]; transposed: boolean }>([
    ['up.weight', { shape: [m, d], transposed: true }],
    ['up.bias', { shape: [m], transposed: false }],
    ['down.weight', { shape: [d, m], transposed: true }],
    ['down.bias', { shape: [d], transposed: false }],
  ]);
  if (shape.layerNorm) {
    out.set('ln.weight', { shape: [d], transposed: false });
    out.set('ln.bias', { shape: [d], transposed: false });
  }
  if (shape.gate) out.set('gate', { shape: [1], transposed: false });
  return out;
}

export function activation<T extends tf.Tensor>(x: T, variant: GeluVariant): T {
  return variant === 'erf' ? gelu(x) : geluTanh(x);
}

function v(map: ParameterMap, name: string): tf.Variable {
  const p = map.get(name);
  if (!p) throw new InvalidArgumentError(`memory parameter "${name}" missing`, name);
  return p.variable;
}

/**
 * h + M(h) for h [B, T, d]. `mask`, when given, multiplies the m hidden activations and broadcasts
 * against [B, T, m] (so [B, 1, m] for one mask per row, [B, T, m] for one per position).
 */
export function applyMlp(h: tf.Tensor3D, params: ParameterMap, shape: MlpShape, gelu: GeluVariant, mask?: tf.Tensor3D): tf.Tensor3D {
  const [b, t, d] = h.shape;
  const x = tf.reshape(h, [b * t, d]) as tf.Tensor2D;
  let hidden: tf.Tensor = activation(tf.add(tf.matMul(x, v(params, 'up.weight')), v(params, 'up.bias')), gelu);
  if (mask) hidden = tf.reshape(tf.mul(tf.reshape(hidden, [b, t, shape.m]), mask), [b * t, shape.m]);
  let y: tf.Tensor = tf.add(tf.matMul(hidden as tf.Tensor2D, v(params, 'down.weight')), v(params, 'down.bias'));
  if (shape.layerNorm) {
    const mean = tf.mean(y, -1, true);
    const centered = tf.sub(y, mean);
    const variance = tf.mean(tf.square(centered), -1, true);
    y = tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, LAYER_NORM_EPS))), v(params, 'ln.weight')), v(params, 'ln.bias'));
  }
  if (shape.gate) y = tf.mul(y, v(params, 'gate'));
  return tf.add(h, tf.reshape(y, [b, t, d])) as tf.Tensor3D;
}
