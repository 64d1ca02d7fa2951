export * from './config.js';
export * from './hash.js';
export * from './shingles.js';
export type { DocumentTokens, KindDefinition, StoredMemory } from './kind.js';
export * from './masker.js';
export {
  applyMlp,
  initMlp,
  mlpFileLayout,
  activation,
  LAYER_NORM_EPS,
  type MlpInit,
  type MlpShape,
  type NamedParameter,
  type ParameterMap,
} from './mlp.js';
export * from './module.js';
export * from './registry.js';
export * from './create.js';
export * from './file.js';
export * from './losses.js';
export * from './optim.js';
export * from './trainer.js';
export * from './full-trainer.js';
export * from './training-defaults.js';
export * from './run.js';
export * from './presets.js';
export * from './memorization.js';
export * from './demo-texts.js';
export * from './anchors.js';
export * from './stats.js';
export { dlpEntrySets, dlpMeanSetSize } from './kinds/dlp/entries.js';
export {
  minHashParams,
  minHashEntrySet,
  simsetEntrySet,
  resolveSetProbability,
  writePositionMask,
  type MinHashParams,
} from './kinds/simset/entries.js';
export { randomEntrySet, randomEntrySets } from './kinds/random/entries.js';
export { documentKey, documentKeys, randomKey } from './kinds/doc-key/entries.js';
export { DocKeyMasker, keyGeneratorLayout } from './kinds/doc-key/module.js';
