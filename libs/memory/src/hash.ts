/**
 * Fast seeded 32-bit hashing (murmur3 mixing) for shingles and entry assignment. Everything is unsigned
 * 32-bit arithmetic on numbers and TypedArrays: no strings, no allocation per hash.
 */
import { deriveSeed, fmix32, mixWord, mulberry32, normals } from '@memorize/tensor';

/**
 * Shingle identity hash: MurmurHash3_x86_32 (Appleby) over ids[start, end), each id one 32-bit word (taken
 * mod 2^32; equivalently the ids' little-endian 4-byte encoding, so there is never a tail), the seed (mod 2^32)
 * as the initial state, murmur3's block mixing (mixWord) and finaliser (fmix32) - EXCEPT the length term:
 * standard murmur3_32 finalises with fmix32(h ^ byteLength) = fmix32(h ^ 4n), this finalises with
 * fmix32(h ^ n), n = end - start the WORD count. So it equals murmur3_32(le32(ids), seed) only for the empty
 * range (both give fmix32(seed)) and differs for every non-empty one (fmix32 is a bijection), e.g. ids [0]
 * with seed 0 hash to 0x9b9cb39a while murmur3_32("\0\0\0\0", 0) = 0x2362f9de.
 * Do not "fix" it to standard murmur3: it is part of the memory file format (with SHINGLE_SEED it gives the
 * shingle hashes from which simset entry sets and token-mode masks are derived, so stored memories depend
 * on it). Pinned by libs/memory/test/format-vectors.test.ts against an independent Python implementation
 * (libs/memory/test/format_vectors.py) and literal vectors.
 */
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
