export { SEQUENCE_START, type EncodeOptions, type Tokenizer } from './types.js';
export { Llama2cTokenizer, parseLlama2cTokenizer, type Llama2cVocab } from './llama2c.js';
export { HfTokenizer, type HfTokenizerConfig, type SpecialTokenRef } from './hf.js';
export { StreamDecoder, type StreamDecoderOptions } from './stream.js';
export { loadTokenizer, type LoadTokenizerOptions } from './load.js';
export { encodeBounded, MAX_SEGMENT_LENGTH, piecesKeepWordBoundaries, segments, type BoundedEncodeOptions, type SlicedEncoder } from './slices.js';
