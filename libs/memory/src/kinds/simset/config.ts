/** simset's modes; every resolved config is valid for simset (k and p are range-checked by resolveMemoryConfig). */
export const simsetModes = ['dim', 'token'] as const;
