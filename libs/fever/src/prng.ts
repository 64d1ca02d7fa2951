/**
 * Deterministic pseudo-randomness: every seeded choice in the pipeline goes through these. The PRNG, the
 * seed derivation (derivedRandom over deriveSeed: it fixes every FEVER split) and the shuffle are
 * @memorize/tensor's (random.ts), the one scheme the memory kinds use too.
 */
export { derivedRandom, mulberry32, shuffled } from '@memorize/tensor';

/** Uniform integer in [0, n). */
export function randomIndex(random: () => number, n: number): number {
  return Math.floor(random() * n);
}
