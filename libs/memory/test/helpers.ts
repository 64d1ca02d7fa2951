import { llamaConfig, randomModel, type TransformerModel } from '@memorize/lm';

// memorize*.test.ts import backend from here.
export { backend } from '@memorize/testing';

/** A tiny random Llama (d 16, 3 blocks, vocab 48) for gradient checks and hook tests. */
export function tinyModel(seed = 3): TransformerModel {
  return randomModel(llamaConfig({ dim: 16, nLayers: 3, nHeads: 4, nKvHeads: 2, hiddenDim: 40, vocabSize: 48, maxSeqLen: 64 }), { seed, std: 0.2 });
}
