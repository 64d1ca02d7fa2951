/**
 * dlp entry assignment: entries split into disjoint contiguous ranges, one per document in corpus order,
 * sizes proportional to the documents' token lengths, every document at least one entry.
 *
 * With m >= n documents: m is apportioned in proportion to length by largest remainder, and a document left
 * without an entry takes one from the largest range, so the ranges are disjoint and cover all m.
 * With fewer entries than documents disjointness is impossible: document i then covers
 * [floor(m C_i / C), floor(m C_{i+1} / C)) (C_i the cumulative length before it), widened to one entry, so
 * a document too short for an entry of its own shares one with its neighbours.
 */
import { InvalidArgumentError } from '@memorize/errors';

function contiguous(sizes: readonly number[]): Uint32Array[] {
  let start = 0;
  return sizes.map((size) => {
    const set = Uint32Array.from({ length: size }, (_, j) => start + j);
    start += size;
    return set;
  });
}

export function dlpEntrySets(lengths: readonly number[], m: number): Uint32Array[] {
  if (lengths.length === 0) return [];
  if (lengths.some((n) => !Number.isInteger(n) || n < 0))
    throw new InvalidArgumentError('document lengths must be non-negative integers', 'documents');
  // Every document weighs at least one token so that empty documents still get an entry.
  const weights = lengths.map((n) => Math.max(n, 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const n = weights.length;
  if (m >= n) {
    // Largest-remainder apportionment of m in proportion to length (ties to the earlier document) ...
    const quotas = weights.map((w) => (m * w) / total);
    const sizes = quotas.map(Math.floor);
    let left = m - sizes.reduce((a, b) => a + b, 0);
    const byRemainder = quotas.map((q, i) => [q - Math.floor(q), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (const [, i] of byRemainder) {
      if (left === 0) break;
      sizes[i]++;
      left--;
    }
    // ... then every document without an entry takes one from the currently largest range.
    for (let i = 0; i < n; i++) {
      if (sizes[i] > 0) continue;
      let largest = 0;
      for (let j = 1; j < n; j++) if (sizes[j] > sizes[largest]) largest = j;
      sizes[largest]--;
      sizes[i] = 1;
    }
    return contiguous(sizes);
  }
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
