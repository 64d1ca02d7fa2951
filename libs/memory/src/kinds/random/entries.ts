/**
 * random entry assignment (the control of simset): document i gets a uniformly random entry set of the
 * size of its simset set (same k, p and seed), drawn with a PRNG seeded by (seed, i). So set sizes match
 * simset's exactly while the overlap carries no information about content. Token mode: each position's
 * entry j is on when an independent seeded hash of (shingle, j) falls below p — the same per-position
 * distribution as simset token mode, from an unrelated hash family.
 */
import { deriveSeed, mulberry32 } from '../../hash.js';

export function randomEntrySet(size: number, m: number, seed: number, document: number): Uint32Array {
  const rand = mulberry32(deriveSeed(seed, `random/document/${document}`));
  const perm = Uint32Array.from({ length: m }, (_, j) => j);
  // Partial Fisher-Yates: the first `size` slots become a uniform random subset.
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(rand() * (m - i));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm.slice(0, size).sort();
}

export function randomEntrySets(sizes: readonly number[], m: number, seed: number): Uint32Array[] {
  return sizes.map((size, i) => randomEntrySet(Math.min(size, m), m, seed, i));
}
