/** Deterministic pseudo-randomness: every seeded choice in the pipeline goes through these. */
import { mulberry32 } from '@memorize/tensor';

/** 32-bit FNV-1a over the UTF-16 code units of a string: a stable, platform-independent hash. */
export function fnv1a32(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export { mulberry32 };

/** A PRNG derived from a seed and a list of names, so independent streams do not interfere. */
export function derivedRandom(seed: number, ...names: Array<string | number>): () => number {
  return mulberry32(fnv1a32(`${seed >>> 0}\u0000${names.join('\u0000')}`));
}

/** Fisher-Yates shuffle into a new array. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}

/** Uniform integer in [0, n). */
export function randomIndex(random: () => number, n: number): number {
  return Math.floor(random() * n);
}
