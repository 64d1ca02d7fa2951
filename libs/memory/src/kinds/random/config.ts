import type { ResolvedMemoryConfig } from '../../config.js';

export const randomModes = ['dim', 'token'] as const;

/** random mirrors simset's parameters (k and p decide the set sizes it copies). */
export function validateRandomConfig(_c: ResolvedMemoryConfig): void {}
