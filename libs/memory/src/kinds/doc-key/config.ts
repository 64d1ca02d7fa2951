import { InvalidArgumentError } from '@memorize/errors';
import type { ResolvedMemoryConfig } from '../../config.js';

export const docKeyModes = ['dim'] as const;

export function validateDocKeyConfig(c: ResolvedMemoryConfig): void {
  if (c.mode !== 'dim') throw new InvalidArgumentError('kind doc-key supports mode dim only (keys belong to documents)', 'mode');
}
