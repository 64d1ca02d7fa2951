/**
 * simset entry assignment. For entry j with seeded hash h_j, the MinHash of a shingle set S is
 * mh_j(S) = argmin_{s in S} h_j(s); entry j is on when g_j(mh_j(S)) < p, g_j a second seeded hash mapped
 * to [0, 1). P(mh_j(A) = mh_j(B)) = Jaccard(A, B), so the expected overlap of two documents' sets is
 * m (J p + (1 - J) p^2): linear in their Jaccard similarity. Token mode uses the single shingle ending at
 * each position (its MinHash is itself).
 */
import { InvalidArgumentError } from '@memorize/errors';
import type { ResolvedMemoryConfig } from '../../config.js';
import { deriveSeed, entrySeeds, fmix32 } from '../../hash.js';
import type { DocumentTokens } from '../../kind.js';
import { positionShingleHashes, shingleSetHashes } from '../../shingles.js';
import { dlpMeanSetSize } from '../dlp/entries.js';

const TWO_32 = 4294967296;

export interface MinHashParams {
  m: number;
  k: number;
  /** Threshold p. */
  p: number;
  /** Seeds of h_j (MinHash order). */
  minhashSeeds: Uint32Array;
  /** Seeds of g_j (entry gate). */
  gateSeeds: Uint32Array;
}

/** Hash parameters from a user seed; `purpose` separates independent families (simset vs random). */
export function minHashParams(seed: number, m: number, k: number, p: number, purpose = 'simset'): MinHashParams {
  return {
    m,
    k,
    p,
    minhashSeeds: entrySeeds(deriveSeed(seed, `${purpose}/minhash`), m),
    gateSeeds: entrySeeds(deriveSeed(seed, `${purpose}/gate`), m),
  };
}

/** p as configured, or chosen so the expected set size m p equals dlp's mean set size on these documents. */
export function resolveSetProbability(c: ResolvedMemoryConfig, documents: readonly DocumentTokens[]): number {
  if (c.setProbability > 0) return c.setProbability;
  if (documents.length === 0) {
    throw new InvalidArgumentError('simset needs documents (or an explicit setProbability) to choose p', 'setProbability');
  }
  return Math.min(
    1,
    dlpMeanSetSize(
      documents.map((d) => d.tokens.length),
      c.entries,
    ) / c.entries,
  );
}

/** The entry set of a shingle set (sorted unique 32-bit shingle hashes). Empty S gives an empty set. */
export function minHashEntrySet(shingles: Uint32Array, h: MinHashParams): Uint32Array {
  const on: number[] = [];
  if (shingles.length === 0) return new Uint32Array(0);
  const threshold = h.p * TWO_32;
  for (let j = 0; j < h.m; j++) {
    const seed = h.minhashSeeds[j];
    let best = 0xffffffff + 1;
    let arg = 0;
    for (let i = 0; i < shingles.length; i++) {
      // fmix32 is a bijection, so distinct shingles never tie.
      const v = fmix32((shingles[i] ^ seed) >>> 0);
      if (v < best) {
        best = v;
        arg = shingles[i];
      }
    }
    if (fmix32((arg ^ h.gateSeeds[j]) >>> 0) < threshold) on.push(j);
  }
  return Uint32Array.from(on);
}

export function simsetEntrySet(tokens: readonly number[], h: MinHashParams): Uint32Array {
  return minHashEntrySet(shingleSetHashes(tokens, h.k), h);
}

/**
 * Token mode: the 0/1 mask of each chunk position, from the shingle of real tokens ending there. `tokens`
 * holds the row's real tokens (cached ones first, padding removed); `chunkMask` marks which of the chunk's
 * positions are real (1) or padding (0). Real positions take the last real tokens in order, wherever the
 * padding sits (left, right or in the cache); padding positions keep a mask of zeros.
 */
export function writePositionMask(
  tokens: readonly number[],
  chunkMask: readonly number[],
  out: Float32Array,
  offset: number,
  h: MinHashParams,
): void {
  const hashes = positionShingleHashes(tokens, h.k);
  const threshold = h.p * TWO_32;
  const realInChunk = chunkMask.reduce((a, v) => a + (v ? 1 : 0), 0);
  let pos = hashes.length - realInChunk;
  for (let i = 0; i < chunkMask.length; i++) {
    if (!chunkMask[i]) continue;
    const s = hashes[pos++];
    const row = offset + i * h.m;
    for (let j = 0; j < h.m; j++) if (fmix32((s ^ h.gateSeeds[j]) >>> 0) < threshold) out[row + j] = 1;
  }
}
