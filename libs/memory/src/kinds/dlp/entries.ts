/**
 * dlp entry assignment: entries split into contiguous ranges, one per document in corpus order, sizes
 * proportional to the documents' token lengths. Document i covers [floor(m C_i / C), floor(m C_{i+1} / C))
 * with C_i the cumulative length before it, widened to one entry when that range is empty. With at least as
 * many entries as documents (and similar lengths) the ranges are disjoint; with more documents than entries
 * a document too short for an entry of its own shares the entry its range starts in with its neighbours.
 */
import { InvalidArgumentError } from '@memorize/tensor';

export function dlpEntrySets(lengths: readonly number[], m: number): Uint32Array[] {
  if (lengths.length === 0) return [];
  if (lengths.some((n) => !Number.isInteger(n) || n < 0)) throw new InvalidArgumentError('document lengths must be non-negative integers', 'documents');
  // Every document weighs at least one token so that empty documents still get an entry.
  const weights = lengths.map((n) => Math.max(n, 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const sets: Uint32Array[] = [];
  let cum = 0;
  for (const w of weights) {
    const start = Math.min(Math.floor((m * cum) / total), m - 1);
    cum += w;
    const end = Math.max(start + 1, Math.min(Math.floor((m * cum) / total), m));
    sets.push(Uint32Array.from({ length: end - start }, (_, j) => start + j));
  }
  return sets;
}

/** Mean entry-set size of dlp on documents of these lengths (simset's default target). */
export function dlpMeanSetSize(lengths: readonly number[], m: number): number {
  const sets = dlpEntrySets(lengths, m);
  return sets.length === 0 ? 0 : sets.reduce((a, s) => a + s.length, 0) / sets.length;
}
