/**
 * Token samplers that compute exactly as llama2.c's run.c (float32 softmax, xorshift64* PRNG,
 * its top-p cutoff and ordering) so that a seeded run picks the same tokens as run.c with the same seed.
 */
import { InvalidArgumentError } from '@memorize/errors';

const f = Math.fround;
const MASK64 = (1n << 64n) - 1n;

/** run.c's xorshift64* generator; the state is a 64-bit unsigned integer. */
export class Xorshift64 {
  private state: bigint;
  constructor(seed: number | bigint) {
    this.state = BigInt.asUintN(64, BigInt(seed));
    if (this.state === 0n) throw new InvalidArgumentError('seed must be non-zero (xorshift state 0 is a fixed point)', 'seed');
  }
  nextU32(): number {
    let s = this.state;
    s ^= s >> 12n;
    s = (s ^ (s << 25n)) & MASK64;
    s ^= s >> 27n;
    this.state = s;
    return Number(((s * 0x2545f4914f6cdd1dn) & MASK64) >> 32n);
  }
  /** Uniform in [0, 1) with 24 bits, as run.c's random_f32. */
  nextF32(): number {
    return f((this.nextU32() >>> 8) / 16777216);
  }
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** In-place float32 softmax, as run.c. */
export function softmaxF32(x: Float32Array): Float32Array {
  let max = x[0];
  for (let i = 1; i < x.length; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    x[i] = f(Math.exp(f(x[i] - max)));
    sum = f(sum + x[i]);
  }
  for (let i = 0; i < x.length; i++) x[i] = f(x[i] / sum);
  return x;
}

export function sampleMult(probs: Float32Array, coin: number): number {
  let cdf = 0;
  for (let i = 0; i < probs.length; i++) {
    cdf = f(cdf + probs[i]);
    if (coin < cdf) return i;
  }
  return probs.length - 1;
}

export function sampleTopP(probs: Float32Array, topP: number, coin: number): number {
  const n = probs.length;
  const cutoff = f(f(1 - f(topP)) / (n - 1));
  const cand: { index: number; prob: number }[] = [];
  for (let i = 0; i < n; i++) if (probs[i] >= cutoff) cand.push({ index: i, prob: probs[i] });
  cand.sort((a, b) => b.prob - a.prob);
  let cumulative = 0;
  let last = cand.length - 1;
  for (let i = 0; i < cand.length; i++) {
    cumulative = f(cumulative + cand[i].prob);
    if (cumulative > f(topP)) {
      last = i;
      break;
    }
  }
  const r = f(coin * cumulative);
  let cdf = 0;
  for (let i = 0; i <= last; i++) {
    cdf = f(cdf + cand[i].prob);
    if (r < cdf) return cand[i].index;
  }
  return cand[last].index;
}

export interface SamplerOptions {
  /** 0 = greedy. */
  temperature: number;
  /** Nucleus mass; <= 0 or >= 1 samples from the full distribution. */
  topP: number;
  /** PRNG seed, 64-bit as run.c's (a bigint past 2^53); required when temperature > 0 for reproducibility (defaults to the clock). */
  seed?: number | bigint;
}

/** Picks the next token from one row of logits, as run.c's sample(). */
export class Sampler {
  private readonly rng: Xorshift64;
  readonly seed: number | bigint;

  constructor(readonly options: SamplerOptions) {
    if (!(options.temperature >= 0)) throw new InvalidArgumentError('temperature must be >= 0', 'temperature');
    if (!Number.isFinite(options.topP)) throw new InvalidArgumentError('topP must be a number', 'topP');
    this.seed = options.seed ?? (Math.floor(Date.now() / 1000) >>> 0 || 1);
    this.rng = new Xorshift64(this.seed);
  }

  sample(logits: Float32Array): number {
    const { temperature, topP } = this.options;
    if (temperature === 0) return argmax(logits);
    const probs = new Float32Array(logits.length);
    const t = f(temperature);
    for (let i = 0; i < logits.length; i++) probs[i] = f(logits[i] / t);
    softmaxF32(probs);
    const coin = this.rng.nextF32();
    return topP <= 0 || topP >= 1 ? sampleMult(probs, coin) : sampleTopP(probs, topP, coin);
  }
}
