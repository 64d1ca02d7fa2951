/** kind "random": random entry sets of the simset size (control). */
import type { ResolvedMemoryConfig } from '../../config.js';
import { documentOrNone, type KindDefinition } from '../../kind.js';
import { parseEntrySets, SetMasker } from '../../masker.js';
import { minHashParams, resolveSetProbability, simsetEntrySet } from '../simset/entries.js';
import { storedSetProbability } from '../simset/module.js';
import { randomModes } from './config.js';
import { randomEntrySets } from './entries.js';

function masker(c: ResolvedMemoryConfig, p: number, sets: Uint32Array[]): SetMasker {
  return new SetMasker({ kind: 'random', m: c.entries, mode: c.mode, sets, metadata: { set_probability: String(p) } });
}

export const randomKind: KindDefinition = {
  name: 'random',
  description: 'document-wise control: random entry sets of the simset size',
  documentWise: true,
  modes: randomModes,
  defaultMaskSource: documentOrNone,
  createMasker: (c, docs) => {
    const p = resolveSetProbability(c, docs);
    const simset = minHashParams(c.seed, c.entries, c.shingleK, p);
    const sizes = docs.map((d) => simsetEntrySet(d.tokens, simset).length);
    return masker(c, p, randomEntrySets(sizes, c.entries, c.seed));
  },
  restoreMasker: (c, stored) => masker(c, storedSetProbability(stored), parseEntrySets(stored.metadata.entry_sets, c.entries, stored.path)),
};
