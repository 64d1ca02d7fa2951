export * from './config.js';
export { FrozenLinear, TrainableLinear, rmsNorm, layerNorm, silu, gelu, geluTanh } from './layers.js';
export { RopeTables } from './rope.js';
export { KVCache } from './kv-cache.js';
export * from './model.js';
export { buildModel, memorySource, Fingerprinter, type RawTensor, type WeightSource } from './weights.js';
export * from './loaders/index.js';
export * from './sampling.js';
export * from './generate.js';
export * from './scoring.js';
export * from './prefix-cache.js';
export * from './shared-scoring.js';
export * from './tokenizers/index.js';
export * from './init.js';
export * from './checkpoint.js';
export {
  ParallelModel,
  snapshotModel,
  modelFromSnapshot,
  shardRows,
  type ArrayTensor,
  type ModelSnapshot,
  type HookSpec,
  type ParallelModelOptions,
  type ParallelLossOptions,
  type ParallelLossResult,
} from './parallel.js';
export { resolveTokenizerPath, checkTokenIds } from './paths.js';
