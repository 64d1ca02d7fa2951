import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '@memorize/tensor';
import { llamaConfig, randomModel, type TransformerModel } from '@memorize/lm';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
export const shared = join(repoRoot, '..', 'shared');
export const storiesDir = join(shared, 'models', 'stories260K');
export const storiesBin = join(storiesDir, 'stories260K.bin');
export const storiesTok = join(storiesDir, 'tok512.bin');
export const storiesHf = join(storiesDir, 'hf');
export const feverPages = join(shared, 'data', 'fever', 'wiki-pages.jsonl');

export async function backend(): Promise<void> {
  await initBackend({ logger: () => {} });
}

export function tempDir(prefix = 'memorize-memory-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A tiny random Llama (d 16, 3 blocks, vocab 48) for gradient checks and hook tests. */
export function tinyModel(seed = 3): TransformerModel {
  return randomModel(llamaConfig({ dim: 16, nLayers: 3, nHeads: 4, nKvHeads: 2, hiddenDim: 40, vocabSize: 48, maxSeqLen: 64 }), { seed, std: 0.2 });
}

/** Deterministic pseudo-random token rows. */
export function tokenRows(n: number, len: number, vocab: number, seed = 7): number[][] {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % vocab;
  return Array.from({ length: n }, () => Array.from({ length: len }, next));
}

export function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);
}
