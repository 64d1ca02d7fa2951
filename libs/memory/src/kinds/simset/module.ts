/** kind "simset" (simset-k): entry sets from MinHash over k-shingles; similar documents share entries. */
import { InvalidArgumentError } from '@memorize/errors';
import type { ResolvedMemoryConfig } from '../../config.js';
import type { DocumentTokens, KindDefinition, StoredMemory } from '../../kind.js';
import { parseEntrySets, SetMasker } from '../../masker.js';
import { simsetModes } from './config.js';
import { minHashParams, resolveSetProbability, simsetEntrySet, writePositionMask, type MinHashParams } from './entries.js';

function masker(c: ResolvedMemoryConfig, h: MinHashParams, sets: Uint32Array[]): SetMasker {
  return new SetMasker({
    kind: `simset-${c.shingleK}`,
    m: c.entries,
    mode: c.mode,
    sets,
    contextSet: (tokens) => simsetEntrySet(tokens, h),
    positionMask: (tokens, chunkMask, out, offset) => writePositionMask(tokens, chunkMask, out, offset, h),
    metadata: { set_probability: String(h.p) },
  });
}

export function storedSetProbability(stored: StoredMemory): number {
  const p = Number(stored.metadata.set_probability);
  if (!(p > 0 && p <= 1)) throw new InvalidArgumentError(`${stored.path}: metadata set_probability must be in (0, 1]`, 'set_probability');
  return p;
}

export const simsetKind: KindDefinition = {
  name: 'simset',
  description: 'document-wise memory, entry sets by MinHash over k-shingles (similar documents share entries)',
  documentWise: true,
  modes: simsetModes,
  // Token mode reads each position's own shingle (a document id adds nothing); dim mode without a document
  // takes the set of the row's own shingles.
  defaultMaskSource: (c, hasDocument) => (c.mode === 'dim' && hasDocument ? 'oracle' : 'context'),
  createMasker: (c, docs: readonly DocumentTokens[]) => {
    const h = minHashParams(c.seed, c.entries, c.shingleK, resolveSetProbability(c, docs));
    return masker(
      c,
      h,
      docs.map((d) => simsetEntrySet(d.tokens, h)),
    );
  },
  restoreMasker: (c, stored) => {
    const h = minHashParams(c.seed, c.entries, c.shingleK, storedSetProbability(stored));
    return masker(c, h, parseEntrySets(stored.metadata.entry_sets, c.entries, stored.path));
  },
};
