import { InvalidArgumentError } from '@memorize/errors';

/** Byte budgets of the services' caches, as flags (`--corpus-cache-bytes`, `--model-cache-bytes`). */
export interface CacheOverrides {
  /** data: bytes the held corpora may take (default 512 MiB). */
  corpusCacheBytes?: number | string;
  /** model-host: bytes the held models' weights and RoPE tables may take (default 8 GiB). */
  modelCacheBytes?: number | string;
}

export type CacheKind = keyof CacheOverrides;

export const defaultCacheBytes: Record<CacheKind, number> = {
  corpusCacheBytes: 512 * 2 ** 20,
  modelCacheBytes: 8 * 2 ** 30,
};

const units: Record<string, number> = {
  '': 1,
  k: 1e3,
  kb: 1e3,
  kib: 2 ** 10,
  m: 1e6,
  mb: 1e6,
  mib: 2 ** 20,
  g: 1e9,
  gb: 1e9,
  gib: 2 ** 30,
  t: 1e12,
  tb: 1e12,
  tib: 2 ** 40,
};

/** "536870912", "512MiB", "1.5 GB" -> bytes; undefined when it is not a size. */
export function parseBytes(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? units[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * A cache's byte budget: the flag, else MEMORIZE_<SERVICE>_<KIND> (MEMORIZE_DATA_CORPUS_CACHE_BYTES,
 * MEMORIZE_MODEL_HOST_MODEL_CACHE_BYTES), else the generic MEMORIZE_<KIND>, else the default. Accepts a byte count
 * or a size with a unit (512MiB, 2GB). A bad value is InvalidArgumentError naming the setting.
 */
export function loadCacheBudget(name: string, kind: CacheKind, overrides: CacheOverrides = {}, env: NodeJS.ProcessEnv = process.env): number {
  const snake = kind.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
  const specific = `MEMORIZE_${name.toUpperCase().replace(/-/g, '_')}_${snake}`;
  const candidates: Array<[number | string | undefined, string]> = [
    [overrides[kind], `--${kind.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`],
    [env[specific], specific],
    [env[`MEMORIZE_${snake}`], `MEMORIZE_${snake}`],
  ];
  for (const [value, field] of candidates) {
    if (value === undefined) continue;
    const bytes = parseBytes(value);
    if (bytes === undefined || bytes < 1) {
      throw new InvalidArgumentError(`${field} must be a positive byte count (e.g. 536870912 or 512MiB), got ${JSON.stringify(value)}`, field);
    }
    return bytes;
  }
  return defaultCacheBytes[kind];
}
