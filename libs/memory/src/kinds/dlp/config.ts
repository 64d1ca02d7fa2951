import { InvalidArgumentError } from '@memorize/errors';
import type { ResolvedMemoryConfig } from '../../config.js';

export const dlpModes = ['dim'] as const;

export function validateDlpConfig(c: ResolvedMemoryConfig): void {
  // Partitions belong to documents; a position has no document of its own, so there is no token mode.
  if (c.mode !== 'dim') throw new InvalidArgumentError('kind dlp supports mode dim only', 'mode');
}
