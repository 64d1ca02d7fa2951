/**
 * k-shingles of token sequences as 32-bit hashes. A shingle is k consecutive token ids; a sequence shorter
 * than k (but not empty) has one shingle, the whole sequence.
 * Hash collisions between distinct shingles are possible but rare (2^-32 per pair) and only merge two shingles.
 */
import { InvalidArgumentError } from '@memorize/errors';
import { hashIds } from './hash.js';

/** Fixed seed of shingle identity hashes: a shingle's hash is part of the file format, never change it. */
export const SHINGLE_SEED = 0x5eed5111;

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError(`shingle k must be a positive integer, got ${k}`, 'shingleK');
}

/** Sorted unique hashes of the k-shingles of `tokens`. */
export function shingleSetHashes(tokens: ArrayLike<number>, k: number): Uint32Array {
  checkK(k);
  const n = tokens.length;
  if (n === 0) return new Uint32Array(0);
  if (n < k) return Uint32Array.of(hashIds(tokens, 0, n, SHINGLE_SEED));
  const all = new Uint32Array(n - k + 1);
  for (let i = 0; i + k <= n; i++) all[i] = hashIds(tokens, i, i + k, SHINGLE_SEED);
  all.sort();
  let w = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) all[w++] = all[i];
  return all.slice(0, w);
}

/**
 * For each position t of `tokens`, the hash of the k-shingle ending at t (positions before k-1 use the
 * shorter prefix ending there).
 */
export function positionShingleHashes(tokens: ArrayLike<number>, k: number): Uint32Array {
  checkK(k);
  const out = new Uint32Array(tokens.length);
  for (let t = 0; t < tokens.length; t++) out[t] = hashIds(tokens, Math.max(0, t - k + 1), t + 1, SHINGLE_SEED);
  return out;
}

/** |A ∩ B| of two sorted unique hash arrays. */
export function intersectionSize(a: Uint32Array, b: Uint32Array): number {
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      n++;
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  return n;
}

/** Jaccard similarity |A ∩ B| / |A ∪ B| of two sorted unique hash arrays (0 for two empty sets). */
export function jaccard(a: Uint32Array, b: Uint32Array): number {
  const inter = intersectionSize(a, b);
  const union = a.length + b.length - inter;
  return union === 0 ? 0 : inter / union;
}
