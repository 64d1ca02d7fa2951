/**
 * Pins the hashes that are part of the memory file format (issue #8 part 6): `hashIds` (shingle identity
 * hashes), deriveSeed/entrySeeds/fmix32 (entry hash families) and the simset MinHash entry assignment
 * (dim-mode entry sets and token-mode position masks). A stored simset memory is only meaningful if the
 * same documents map to the same entries after any code change.
 *
 * Two checks:
 *  1. Cross-check against an independent pure-Python implementation, libs/memory/test/format_vectors.py,
 *     written from the mathematical description (murmur3_32 over little-endian 32-bit words, finalised
 *     with the word count; DESIGN.md's simset-k MinHash), spawned once with JSON in/out. Its standard
 *     murmur3_32 is checked against published reference vectors on every run.
 *  2. Literal vectors: the hard-coded numbers in LITERAL_* below were computed by that independent Python
 *     implementation (not by the TypeScript code), so the format stays pinned even if both drift.
 *
 * hashIds vs standard murmur3_32: hashIds(ids, seed) is murmur3_32 of the ids' little-endian 32-bit
 * encoding except that the final length xor uses the number of words n, not the number of bytes 4n. The
 * two agree only for the empty input (n = 4n = 0) and differ for every non-empty one (fmix32 is a
 * bijection), e.g. hashIds([0], 0) = 0x9b9cb39a while murmur3_32("\0\0\0\0", 0) = 0x2362f9de.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { deriveSeed, entrySeeds, fmix32, hashIds, mixWord } from '../src/hash.js';
import { SHINGLE_SEED, positionShingleHashes, shingleSetHashes } from '../src/shingles.js';
import { minHashParams, simsetEntrySet, writePositionMask } from '../src/kinds/simset/entries.js';

const script = join(import.meta.dirname, 'format_vectors.py');
const U32_MAX = 0xffffffff;

/** Deterministic pseudo-random integers in [0, bound) (xorshift32; defined here so the inputs never drift). */
function pseudoInts(n: number, bound: number, seed: number): number[] {
  let x = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.push(bound === 2 ** 32 ? x : x % bound);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- inputs

const SEEDS = [0, 1, SHINGLE_SEED, 0x9747b28c, 0x7fffffff, 0x80000000, U32_MAX];
const ID_ARRAYS: number[][] = [
  [],
  [0],
  [1],
  [U32_MAX],
  [0x80000000],
  [0x87654321],
  [1, 2],
  [2, 1],
  [1, 2, 3],
  [0, 0, 0],
  [101, 2023, 3000, 50256],
  [U32_MAX, 0, U32_MAX, 0, 7],
  pseudoInts(7, 50257, 11),
  pseudoInts(16, 2 ** 32, 12),
  pseudoInts(64, 2 ** 32, 13),
];
const HASH_CASES = ID_ARRAYS.flatMap((ids) => SEEDS.map((seed) => ({ ids, seed })));

const USER_SEEDS = [0, 1, 42, U32_MAX, 2 ** 32, 2 ** 32 + 5, 123456789012345, 2 ** 53 - 1];
const PURPOSES = ['simset/minhash', 'simset/gate', 'random/minhash', 'random/gate', ''];
const DERIVE_CASES = USER_SEEDS.flatMap((seed) => PURPOSES.map((purpose) => ({ seed, purpose })));
const ENTRY_SEED_CASES = [
  { base: 0, m: 5 },
  { base: U32_MAX, m: 5 },
  { base: 0x12345678, m: 40 },
];

interface EntryCase {
  tokens: number[];
  k: number;
  m: number;
  seed: number;
  p: number;
  purpose?: string;
}

const docA = pseudoInts(1200, 50257, 2024);
// docB shares docA's first half: a real pair with Jaccard ~ 1/3, so entry sets overlap partly.
const docB = [...docA.slice(0, 600), ...pseudoInts(600, 50257, 77)];
const ENTRY_CASES: EntryCase[] = [
  // empty and shorter than k
  { tokens: [], k: 1, m: 16, seed: 0, p: 0.5 },
  { tokens: [], k: 3, m: 16, seed: 0, p: 1 },
  { tokens: [42], k: 2, m: 16, seed: 0, p: 0.5 },
  { tokens: [42], k: 1, m: 16, seed: 0, p: 0.5 },
  { tokens: [5, 9], k: 3, m: 32, seed: 1, p: 0.3 },
  { tokens: [5, 9], k: 2, m: 32, seed: 1, p: 0.3 },
  // repeated shingles
  { tokens: [7, 7, 7, 7, 7, 7], k: 1, m: 16, seed: 123, p: 0.5 },
  { tokens: [7, 7, 7, 7, 7, 7], k: 2, m: 16, seed: 123, p: 0.5 },
  { tokens: [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2], k: 2, m: 48, seed: 9, p: 0.25 },
  { tokens: [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2], k: 3, m: 48, seed: 9, p: 0.25 },
  // small documents, several k, seeds (incl. > 2^32: deriveSeed uses the high word), p
  { tokens: [1, 2, 3, 4, 5, 6, 7, 8], k: 2, m: 32, seed: 0, p: 0.25 },
  { tokens: [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], k: 3, m: 64, seed: 7, p: 0.1 },
  { tokens: [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], k: 1, m: 64, seed: U32_MAX, p: 0.1 },
  { tokens: [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], k: 2, m: 64, seed: 2 ** 32 + 5, p: 0.6 },
  { tokens: [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], k: 2, m: 64, seed: 2 ** 53 - 1, p: 0.6 },
  { tokens: [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], k: 2, m: 64, seed: 5, p: 1 },
  { tokens: [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], k: 2, m: 64, seed: 5, p: 0.3, purpose: 'random' },
  { tokens: [0, U32_MAX, 0x80000000, U32_MAX, 0], k: 2, m: 32, seed: 3, p: 0.5 },
  { tokens: pseudoInts(40, 2 ** 32, 5), k: 3, m: 100, seed: 99, p: 0.2 },
  // real-length documents
  { tokens: docA, k: 2, m: 128, seed: 0, p: 0.1 },
  { tokens: docB, k: 2, m: 128, seed: 0, p: 0.1 },
  { tokens: docA, k: 3, m: 96, seed: 1234567, p: 0.05 },
  { tokens: docB, k: 1, m: 64, seed: 1234567, p: 0.3 },
];

interface MaskCase extends EntryCase {
  chunkMask: number[];
  offset: number;
}
const maskTokens = pseudoInts(12, 50257, 31);
const MASK_CASES: MaskCase[] = [
  { tokens: maskTokens, chunkMask: maskTokens.map(() => 1), offset: 0, k: 1, m: 16, seed: 0, p: 0.3 },
  { tokens: maskTokens, chunkMask: maskTokens.map(() => 1), offset: 0, k: 3, m: 32, seed: 8, p: 0.2 },
  // left padding, right padding, padding in the middle; cached tokens in front of the chunk
  { tokens: maskTokens, chunkMask: [0, 0, 1, 1, 1, 1], offset: 3 * 24, k: 2, m: 24, seed: 5, p: 0.4 },
  { tokens: maskTokens, chunkMask: [1, 1, 1, 0, 0], offset: 24, k: 2, m: 24, seed: 5, p: 0.4 },
  { tokens: maskTokens, chunkMask: [1, 0, 1, 0, 1, 1], offset: 0, k: 3, m: 24, seed: 2 ** 40, p: 0.4 },
  { tokens: [10, 20, 30, 40, 50], chunkMask: [0, 1, 1, 1], offset: 0, k: 2, m: 8, seed: 0, p: 0.5 },
  { tokens: [7, 7, 7, 7], chunkMask: [1, 1, 1, 1], offset: 0, k: 2, m: 16, seed: 1, p: 0.5 },
];

// ------------------------------------------------------------------------------ independent reference

interface PythonOut {
  publicMurmur3: { hex: string; seed: number; expected: number; got: number }[];
  hashIds: number[];
  murmur3OfIds: number[];
  deriveSeed: number[];
  entrySeeds: number[][];
  shingleSets: number[][];
  entrySets: number[][];
  positionMasks: number[][][];
}

const SHINGLE_CASES = ENTRY_CASES.map(({ tokens, k }) => ({ tokens, k }));
const py = JSON.parse(
  execFileSync('/usr/bin/python3', [script], {
    encoding: 'utf8',
    input: JSON.stringify({
      hashIds: HASH_CASES,
      deriveSeed: DERIVE_CASES,
      entrySeeds: ENTRY_SEED_CASES,
      shingleSets: SHINGLE_CASES,
      entrySets: ENTRY_CASES,
      positionMasks: MASK_CASES,
    }),
    maxBuffer: 64 << 20,
  }),
) as PythonOut;

function masksOf(c: MaskCase): number[][] {
  const h = minHashParams(c.seed, c.m, c.k, c.p, c.purpose);
  const out = new Float32Array(c.offset + c.chunkMask.length * c.m + 5);
  writePositionMask(c.tokens, c.chunkMask, out, c.offset, h);
  for (let i = 0; i < out.length; i++) {
    if (i < c.offset || i >= c.offset + c.chunkMask.length * c.m) assert.equal(out[i], 0, `write outside the chunk at ${i}`);
    else assert.ok(out[i] === 0 || out[i] === 1);
  }
  return c.chunkMask.map((_, i) => {
    const row: number[] = [];
    for (let j = 0; j < c.m; j++) if (out[c.offset + i * c.m + j] === 1) row.push(j);
    return row;
  });
}

// ------------------------------------------------------------------------------------------- tests

test('the Python reference reproduces the published murmur3_32 vectors', () => {
  assert.ok(py.publicMurmur3.length >= 10);
  for (const v of py.publicMurmur3) assert.equal(v.got, v.expected, `murmur3_32(0x${v.hex}, ${v.seed})`);
  const hello = py.publicMurmur3.find((v) => v.hex === Buffer.from('hello').toString('hex') && v.seed === 0);
  assert.equal(hello?.got, 0x248bfa47);
  assert.equal(py.publicMurmur3.find((v) => v.hex === '' && v.seed === 0)?.got, 0);
});

test('hashIds matches the independent implementation (lengths 0..64, ids up to 2^32-1, seeds 0..2^32-1)', () => {
  assert.equal(py.hashIds.length, HASH_CASES.length);
  HASH_CASES.forEach(({ ids, seed }, i) => {
    assert.equal(hashIds(ids, 0, ids.length, seed), py.hashIds[i], `hashIds(${JSON.stringify(ids)}, ${seed})`);
  });
  // A sub-range [start, end) hashes exactly like the slice (the word count is end - start).
  const long = ID_ARRAYS[ID_ARRAYS.length - 1];
  for (const [s, e] of [
    [0, 0],
    [5, 5],
    [3, 4],
    [10, 26],
    [1, 64],
  ]) {
    const sub = long.slice(s, e);
    assert.equal(hashIds(long, s, e, 0x9747b28c), hashIds(sub, 0, sub.length, 0x9747b28c));
  }
  assert.equal(hashIds(Uint32Array.from(long), 10, 26, 0x9747b28c), hashIds(long, 10, 26, 0x9747b28c));
});

// Computed by the independent Python implementation (format_vectors.py), not by hash.ts.
const LITERAL_HASH_IDS: [number[], number, number][] = [
  [[], 0, 0x00000000],
  [[], SHINGLE_SEED, 0xa5b19451],
  [[0], 0, 0x9b9cb39a],
  [[1], 0, 0x75e7e997],
  [[U32_MAX], U32_MAX, 0x6c722657],
  [[1, 2, 3], SHINGLE_SEED, 0x05863dc1],
  [[101, 2023, 3000, 50256], 0x9747b28c, 0xf6780cb6],
  [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], 0x80000000, 0x44382901],
];

test('hashIds literal vectors (from the independent Python implementation)', () => {
  for (const [ids, seed, expected] of LITERAL_HASH_IDS) {
    assert.equal(hashIds(ids, 0, ids.length, seed), expected, `hashIds(${JSON.stringify(ids)}, ${seed})`);
  }
});

test('hashIds is not standard murmur3_32: the length term is the word count, not the byte count', () => {
  HASH_CASES.forEach(({ ids, seed }, i) => {
    const ours = hashIds(ids, 0, ids.length, seed);
    if (ids.length === 0) assert.equal(ours, py.murmur3OfIds[i], 'empty input: n = 4n = 0, the two agree');
    else assert.notEqual(ours, py.murmur3OfIds[i], `murmur3_32(le32(${JSON.stringify(ids)}), ${seed}) differs`);
    // The block mixing is murmur3's: finalising the same state with 4n instead of n gives standard murmur3_32.
    let h = seed >>> 0;
    for (const w of ids) h = mixWord(h, w);
    assert.equal(fmix32((h ^ (4 * ids.length)) >>> 0), py.murmur3OfIds[i]);
  });
  // Against published murmur3_32 vectors: le32([0]) = 00 00 00 00, le32([0x87654321]) = 21 43 65 87.
  assert.equal(py.murmur3OfIds[HASH_CASES.findIndex((c) => c.ids.length === 1 && c.ids[0] === 0 && c.seed === 0)], 0x2362f9de);
  assert.notEqual(hashIds([0], 0, 1, 0), 0x2362f9de);
  assert.equal(py.murmur3OfIds[HASH_CASES.findIndex((c) => c.ids[0] === 0x87654321 && c.seed === 0)], 0xf55b516b);
  assert.notEqual(hashIds([0x87654321], 0, 1, 0), 0xf55b516b);
  assert.equal(hashIds([], 0, 0, 1), 0x514e28b7); // = murmur3_32("", 1)
});

test('deriveSeed and entrySeeds match the independent implementation', () => {
  DERIVE_CASES.forEach(({ seed, purpose }, i) => assert.equal(deriveSeed(seed, purpose), py.deriveSeed[i], `deriveSeed(${seed}, '${purpose}')`));
  ENTRY_SEED_CASES.forEach(({ base, m }, i) => assert.deepEqual(Array.from(entrySeeds(base, m)), py.entrySeeds[i]));
  // Computed by the independent Python implementation (format_vectors.py).
  assert.equal(deriveSeed(0, 'simset/minhash'), 0x598c92ae);
  assert.equal(deriveSeed(0, 'simset/gate'), 0x4ff9639a);
  assert.equal(deriveSeed(2 ** 53 - 1, 'simset/gate'), 0x26d7fa8f);
  assert.equal(deriveSeed(42, 'random/minhash'), 0x1bed6ac7);
  assert.deepEqual(Array.from(entrySeeds(0x12345678, 4)), [0x047660ea, 0x6072b3dc, 0x49dccea9, 0x3bc1e822]);
});

test('shingle sets match the independent implementation', () => {
  SHINGLE_CASES.forEach(({ tokens, k }, i) => {
    assert.deepEqual(Array.from(shingleSetHashes(tokens, k)), py.shingleSets[i], `shingles of ${tokens.length} tokens, k=${k}`);
  });
  // Repeated shingles collapse: six 7s have one 2-shingle, the same as the short document [7, 7].
  assert.deepEqual(Array.from(shingleSetHashes([7, 7, 7, 7, 7, 7], 2)), [hashIds([7, 7], 0, 2, SHINGLE_SEED)]);
  assert.equal(shingleSetHashes([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2], 2).length, 3);
  // Position t's shingle is the window ending at t (shorter prefix before k - 1).
  const t = [4, 8, 15, 16, 23, 42];
  assert.deepEqual(
    Array.from(positionShingleHashes(t, 3)),
    t.map((_, i) => hashIds(t, Math.max(0, i - 2), i + 1, SHINGLE_SEED)),
  );
});

test('simset dim-mode entry sets match the independent MinHash implementation', () => {
  ENTRY_CASES.forEach((c, i) => {
    const h = minHashParams(c.seed, c.m, c.k, c.p, c.purpose);
    assert.deepEqual(Array.from(simsetEntrySet(c.tokens, h)), py.entrySets[i], `case ${i}: ${c.tokens.length} tokens, k=${c.k}, m=${c.m}`);
  });
  // Sanity of the reference inputs: the real-length pair has non-trivial, partly shared sets.
  const a = new Set(py.entrySets[ENTRY_CASES.findIndex((c) => c.tokens === docA && c.k === 2)]);
  const b = py.entrySets[ENTRY_CASES.findIndex((c) => c.tokens === docB && c.k === 2)];
  const shared = b.filter((j) => a.has(j)).length;
  assert.ok(a.size > 3 && b.length > 3 && shared > 0 && shared < Math.max(a.size, b.length), `|A|=${a.size} |B|=${b.length} shared=${shared}`);
});

// Computed by the independent Python implementation (format_vectors.py), not by entries.ts.
const LITERAL_ENTRY_SETS: [EntryCase, number[]][] = [
  [{ tokens: [1, 2, 3, 4, 5, 6, 7, 8], k: 2, m: 32, seed: 0, p: 0.25 }, [11, 14, 23, 26, 28, 30, 31]],
  [{ tokens: [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], k: 3, m: 64, seed: 7, p: 0.1 }, [0, 2, 11, 13, 36, 40, 61]],
  [{ tokens: [42], k: 2, m: 16, seed: 0, p: 0.5 }, [2, 3, 4, 8, 11, 12, 13, 14, 15]],
  [{ tokens: [7, 7, 7, 7], k: 1, m: 16, seed: 123, p: 0.5 }, [0, 2, 8, 11]],
];

test('simset entry-set literal vectors (from the independent Python implementation)', () => {
  for (const [c, expected] of LITERAL_ENTRY_SETS) {
    assert.deepEqual(Array.from(simsetEntrySet(c.tokens, minHashParams(c.seed, c.m, c.k, c.p))), expected, JSON.stringify(c));
  }
});

test('simset token-mode position masks match the independent implementation', () => {
  MASK_CASES.forEach((c, i) => assert.deepEqual(masksOf(c), py.positionMasks[i], `mask case ${i}`));
  // Literal, computed by the independent Python implementation (format_vectors.py).
  assert.deepEqual(masksOf(MASK_CASES[5]), [[], [2, 3, 4, 5, 7], [0, 2, 5, 7], [0, 1, 3, 4, 5, 6, 7]]);
});
