import type { ResolvedMemoryConfig } from '../../config.js';

export const simsetModes = ['dim', 'token'] as const;

/** Every resolved config is valid for simset (k and p are range-checked by resolveMemoryConfig). */
export function validateSimsetConfig(_c: ResolvedMemoryConfig): void {}
