/**
 * doc-key "entry assignment": each document gets a fixed random key K_D ~ N(0, I_keyDim), drawn from the
 * seed; the learned generator turns it into soft entry gates k_D = act(W_k K_D + b_k) in the module.
 */
import { deriveSeed, mulberry32, normals } from '../../hash.js';

/** Keys of documents 0..n-1, row-major [n, keyDim]. Document i's key depends only on (seed, i). */
export function documentKeys(n: number, keyDim: number, seed: number): Float32Array {
  const out = new Float32Array(n * keyDim);
  for (let i = 0; i < n; i++) out.set(documentKey(i, keyDim, seed), i * keyDim);
  return out;
}

export function documentKey(i: number, keyDim: number, seed: number): Float32Array {
  return normals(mulberry32(deriveSeed(seed, `doc-key/key/${i}`)), keyDim);
}

/** A fresh random key (guidance-loss negative), distinct per draw index. */
export function randomKey(keyDim: number, seed: number, draw: number): Float32Array {
  return normals(mulberry32(deriveSeed(seed, `doc-key/negative/${draw}`)), keyDim);
}
