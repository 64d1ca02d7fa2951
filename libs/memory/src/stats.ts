/**
 * Inspection of entry assignments: set-size statistics, and for every pair of documents the overlap of
 * their entry sets against the Jaccard similarity of their k-shingle sets (Pearson and Spearman).
 */
import { intersectionSize, jaccard, shingleSetHashes } from './shingles.js';

export interface SetSizeStats {
  documents: number;
  mean: number;
  min: number;
  max: number;
  /** Documents with an empty set. */
  empty: number;
}

export function setSizeStats(sets: readonly Uint32Array[]): SetSizeStats {
  const sizes = sets.map((s) => s.length);
  return {
    documents: sets.length,
    mean: sizes.length ? sizes.reduce((a, b) => a + b, 0) / sizes.length : 0,
    min: sizes.length ? Math.min(...sizes) : 0,
    max: sizes.length ? Math.max(...sizes) : 0,
    empty: sizes.filter((s) => s === 0).length,
  };
}

export interface OverlapStats {
  pairs: number;
  /** Mean |E_a ∩ E_b| over pairs. */
  meanOverlap: number;
  /** Pairs sharing at least one entry. */
  sharingPairs: number;
  maxOverlap: number;
}

/** |E_a ∩ E_b| for every pair a < b, in pair order (0,1), (0,2), ..., (1,2), ... */
export function pairOverlaps(sets: readonly Uint32Array[]): Float64Array {
  const n = sets.length;
  const out = new Float64Array((n * (n - 1)) / 2);
  let p = 0;
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) out[p++] = intersectionSize(sets[a], sets[b]);
  return out;
}

/** Jaccard similarity of the k-shingle sets of every pair a < b (same order as pairOverlaps). */
export function pairJaccards(documents: readonly (readonly number[])[], k: number): Float64Array {
  const shingles = documents.map((d) => shingleSetHashes(d, k));
  const n = shingles.length;
  const out = new Float64Array((n * (n - 1)) / 2);
  let p = 0;
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) out[p++] = jaccard(shingles[a], shingles[b]);
  return out;
}

export function overlapStats(overlaps: Float64Array): OverlapStats {
  let sum = 0;
  let sharing = 0;
  let max = 0;
  for (const o of overlaps) {
    sum += o;
    if (o > 0) sharing++;
    if (o > max) max = o;
  }
  return { pairs: overlaps.length, meanOverlap: overlaps.length ? sum / overlaps.length : 0, sharingPairs: sharing, maxOverlap: max };
}

/** Pearson correlation (0 when either side is constant). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
}

/** Ranks with ties averaged (1-based). */
export function ranks(x: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const out = new Float64Array(x.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && x[idx[j + 1]] === x[idx[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[idx[k]] = r;
    i = j + 1;
  }
  return out;
}

/** Spearman rank correlation (Pearson of tie-averaged ranks). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return pearson(ranks(x), ranks(y));
}

export interface OverlapCorrelation {
  pearson: number;
  spearman: number;
  pairs: number;
}

/** Correlation between entry-set overlap and shingle Jaccard over all document pairs. */
export function overlapJaccardCorrelation(sets: readonly Uint32Array[], jaccards: Float64Array): OverlapCorrelation {
  const overlaps = pairOverlaps(sets);
  return { pearson: pearson(overlaps, jaccards), spearman: spearman(overlaps, jaccards), pairs: overlaps.length };
}
