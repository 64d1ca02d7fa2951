import { loadCacheBudget, type CacheKind, type CacheOverrides } from './cache-config.js';

/**
 * A setting for a service's main: a bad value is reported like any other bad setting (a message naming it on
 * stderr, exit status 2) before the service starts.
 */
export function settingOrExit<T>(name: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    process.stderr.write(`memorize ${name}: ${(error as Error).message}\n`);
    process.exit(2);
  }
}

/** {@link loadCacheBudget} for a service's main (see {@link settingOrExit}). */
export function cacheBudgetOrExit(name: string, kind: CacheKind, overrides: CacheOverrides): number {
  return settingOrExit(name, () => loadCacheBudget(name, kind, overrides));
}
