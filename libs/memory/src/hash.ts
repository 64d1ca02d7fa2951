/**
 * Fast seeded 32-bit hashing (murmur3 mixing) for shingles and entry assignment. Everything is unsigned
 * 32-bit arithmetic on numbers and TypedArrays: no strings, no allocation per hash.
 */
import { deriveSeed, fmix32, mixWord, mulberry32, normals } from '@memorize/tensor';

/** murmur3_32 of the token ids ids[start, end) (each id one 32-bit word), seeded. */
export function hashIds(ids: ArrayLike<number>, start: number, end: number, seed: number): number {
  let h = seed >>> 0;
  for (let i = start; i < end; i++) h = mixWord(h, ids[i]);
  return fmix32((h ^ (end - start)) >>> 0);
}

/** Per-entry seeds s_j = fmix32(base + j * golden), distinct for distinct j. */
export function entrySeeds(base: number, m: number): Uint32Array {
  const out = new Uint32Array(m);
  for (let j = 0; j < m; j++) out[j] = fmix32((base + Math.imul(j + 1, 0x9e3779b9)) >>> 0);
  return out;
}

/** The memory kinds' seed derivation and PRNG: @memorize/tensor's (random.ts), re-exported. */
export { deriveSeed, fmix32, mixWord, mulberry32, normals };

