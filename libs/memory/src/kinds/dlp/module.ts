/** kind "dlp": document-wise memory over disjoint, length-proportional entry partitions. */
import { documentOrNone, type KindDefinition } from '../../kind.js';
import { parseEntrySets, SetMasker } from '../../masker.js';
import { dlpModes, validateDlpConfig } from './config.js';
import { dlpEntrySets } from './entries.js';

export const dlpKind: KindDefinition = {
  name: 'dlp',
  description: 'document-wise memory, disjoint entry partitions sized proportionally to document length',
  documentWise: true,
  modes: dlpModes,
  validate: validateDlpConfig,
  defaultMaskSource: documentOrNone,
  createMasker: (c, docs) =>
    new SetMasker({
      kind: 'dlp',
      m: c.entries,
      mode: c.mode,
      sets: dlpEntrySets(
        docs.map((d) => d.tokens.length),
        c.entries,
      ),
      metadata: {},
    }),
  restoreMasker: (c, stored) =>
    new SetMasker({
      kind: 'dlp',
      m: c.entries,
      mode: c.mode,
      sets: parseEntrySets(stored.metadata.entry_sets, c.entries, stored.path),
      metadata: {},
    }),
};
