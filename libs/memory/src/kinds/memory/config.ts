/** The unstructured memory: one MLP shared by all documents; the mask mode does not apply. */
import { InvalidArgumentError } from '@memorize/errors';
import type { ResolvedMemoryConfig } from '../../config.js';

export const memoryModes = ['dim'] as const;

export function validateMemoryConfig(c: ResolvedMemoryConfig): void {
  if (c.mode !== 'dim') throw new InvalidArgumentError('kind memory has no mask, so mode must be dim (the default)', 'mode');
}
