/**
 * Fast seeded 32-bit hashing (murmur3 mixing) for shingles and entry assignment. Everything is unsigned
 * 32-bit arithmetic on numbers and TypedArrays: no strings, no allocation per hash.
 */
import { mulberry32, normals } from '@memorize/tensor';

/** murmur3's finaliser: a bijection on 32-bit integers with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One murmur3 block step: mixes a 32-bit word into the running hash. */
export function mixWord(h: number, word: number): number {
  let k = Math.imul(word, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) >>> 0;
}

/** murmur3_32 of the token ids ids[start, end) (each id one 32-bit word), seeded. */
export function hashIds(ids: ArrayLike<number>, start: number, end: number, seed: number): number {
  let h = seed >>> 0;
  for (let i = start; i < end; i++) h = mixWord(h, ids[i]);
  return fmix32((h ^ (end - start)) >>> 0);
}

/** A 32-bit seed derived from a user seed (up to 2^53) and a purpose tag, so each use draws independent hashes. */
export function deriveSeed(seed: number, purpose: string): number {
  let h = mixWord(mixWord(0x9747b28c, seed >>> 0), Math.floor(seed / 4294967296) >>> 0);
  for (let i = 0; i < purpose.length; i++) h = mixWord(h, purpose.charCodeAt(i));
  return fmix32(h);
}

/** Per-entry seeds s_j = fmix32(base + j * golden), distinct for distinct j. */
export function entrySeeds(base: number, m: number): Uint32Array {
  const out = new Uint32Array(m);
  for (let j = 0; j < m; j++) out[j] = fmix32((base + Math.imul(j + 1, 0x9e3779b9)) >>> 0);
  return out;
}

export { mulberry32, normals };

