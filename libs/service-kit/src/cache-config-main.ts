import { loadCacheBudget, type CacheKind, type CacheOverrides } from './cache-config.js';

/**
 * {@link loadCacheBudget} for a service's main: a bad value is reported like any other bad setting (a message
 * naming it on stderr, exit status 2) before the service starts.
 */
export function cacheBudgetOrExit(name: string, kind: CacheKind, overrides: CacheOverrides): number {
  try {
    return loadCacheBudget(name, kind, overrides);
  } catch (error) {
    process.stderr.write(`memorize ${name}: ${(error as Error).message}\n`);
    process.exit(2);
  }
}
