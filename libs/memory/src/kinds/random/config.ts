/**
 * dim only: a token-mode mask is a function of each position's shingle, and a content hash with another seed
 * is statistically the same as simset's token mode, so it would be no control. The control is document-level.
 */
export const randomModes = ['dim'] as const;
