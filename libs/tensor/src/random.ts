/** The project's seeded randomness, one definition each: PRNG, normals, seed derivation, shuffling. */

/**
 * mulberry32: a small, fast, seedable PRNG with a 32-bit state, returning floats in [0, 1). The one
 * definition every lib uses: seeds recorded in corpora, memory files and benchmarks must mean the same
 * stream everywhere.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box-Muller, pairs from two uniforms) scaled by std, from a uniform source. */
export function normals(rand: () => number, n: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const r = std * Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

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

/**
 * Seed derivation, in one place: every seeded stream in the project (memory hashing seeds and initialisation,
 * FEVER claim splits, few-shot choices, synthetic worlds, batch orders) is mulberry32 or a hash seeded by
 * deriveSeed(user seed, purpose). Memory files record its values, and a loaded simset memory recomputes its
 * MinHash seeds with it, so its definition is part of the file format (pinned against an independent Python
 * implementation in libs/memory/test/format-vectors.test.ts).
 */
/** A 32-bit seed derived from a user seed (up to 2^53) and a purpose tag, so each use draws independent hashes. */
export function deriveSeed(seed: number, purpose: string): number {
  let h = mixWord(mixWord(0x9747b28c, seed >>> 0), Math.floor(seed / 4294967296) >>> 0);
  for (let i = 0; i < purpose.length; i++) h = mixWord(h, purpose.charCodeAt(i));
  return fmix32(h);
}

/**
 * A PRNG for one named purpose: mulberry32 seeded by deriveSeed(seed, names joined by NUL), so independent
 * streams (the pool split of one page, the examples of one claim) do not interfere.
 */
export function derivedRandom(seed: number, ...names: ReadonlyArray<string | number>): () => number {
  return mulberry32(deriveSeed(seed, names.join('\u0000')));
}

/** Fisher-Yates shuffle into a new array. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}
