import { ResourceExhaustedError } from '@memorize/errors';

/** What a {@link ByteBudgetCache} is told about each entry it holds. */
export interface ByteBudgetCacheOptions<K, V> {
  /** Largest total of the entries' bytes. */
  budgetBytes: number;
  /** Whether an entry may be evicted now (e.g. no call is using it); default always. */
  canEvict?: (key: K, value: V) => boolean;
  /** Called for every entry the cache evicts (not for `delete`), e.g. to free its tensors. */
  onEvict?: (key: K, value: V, bytes: number) => void;
  /** What the budget is called in RESOURCE_EXHAUSTED messages (e.g. "--model-cache-bytes"). */
  budgetName?: string;
  /** What an entry is called in messages (e.g. "model", "corpus"). */
  noun?: string;
}

/** Keys recently evicted, so that a lookup can say "evicted" rather than "never loaded". */
const EVICTED_MEMORY = 1024;

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;

/**
 * Entries with a size in bytes, kept within a byte budget by evicting the least recently used entries that may be
 * evicted. `get` counts as a use. Map order is the recency order (oldest first).
 */
export class ByteBudgetCache<K, V> {
  private readonly entries = new Map<K, { value: V; bytes: number }>();
  private readonly evicted = new Set<K>();
  private used = 0;
  readonly budgetBytes: number;

  constructor(private readonly options: ByteBudgetCacheOptions<K, V>) {
    this.budgetBytes = options.budgetBytes;
  }

  get usedBytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** The value, marked most recently used. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** The value without touching its recency. */
  peek(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  bytesOf(key: K): number | undefined {
    return this.entries.get(key)?.bytes;
  }

  /** True when `key` was evicted (and not put back since): its lookups can say so. */
  wasEvicted(key: K): boolean {
    return this.evicted.has(key);
  }

  /** Values, least recently used first. */
  values(): V[] {
    return [...this.entries.values()].map((e) => e.value);
  }

  keys(): K[] {
    return [...this.entries.keys()];
  }

  /**
   * Makes room for `bytes` more: evicts least recently used evictable entries until they fit. When even evicting
   * every evictable entry would not make room, evicts nothing and throws ResourceExhaustedError. Returns the
   * evicted keys.
   */
  reserve(bytes: number): K[] {
    const { canEvict = () => true } = this.options;
    const noun = this.options.noun ?? 'entry';
    const budgetName = this.options.budgetName ?? 'the cache budget';
    if (bytes > this.budgetBytes) {
      throw new ResourceExhaustedError(`the ${noun} needs ${mib(bytes)}, more than the whole ${budgetName} of ${mib(this.budgetBytes)}`);
    }
    const victims: K[] = [];
    let free = this.budgetBytes - this.used;
    for (const [key, entry] of this.entries) {
      if (free >= bytes) break;
      if (!canEvict(key, entry.value)) continue;
      victims.push(key);
      free += entry.bytes;
    }
    if (free < bytes) {
      throw new ResourceExhaustedError(
        `the ${noun} needs ${mib(bytes)} but only ${mib(free)} of the ${budgetName} of ${mib(this.budgetBytes)} can be freed ` +
          `(${mib(this.used)} held, the rest in use)`,
      );
    }
    for (const key of victims) this.evict(key);
    return victims;
  }

  /** Adds (or replaces) an entry after {@link reserve}: this does not evict, so the total may pass the budget. */
  set(key: K, value: V, bytes: number): void {
    const old = this.entries.get(key);
    if (old) {
      this.used -= old.bytes;
      this.entries.delete(key);
    }
    this.entries.set(key, { value, bytes });
    this.used += bytes;
    this.evicted.delete(key);
  }

  /** Removes an entry without calling onEvict (the caller frees it). */
  delete(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.used -= entry.bytes;
    return entry.value;
  }

  private evict(key: K): void {
    const entry = this.entries.get(key)!;
    this.delete(key);
    this.evicted.add(key);
    if (this.evicted.size > EVICTED_MEMORY) this.evicted.delete(this.evicted.values().next().value as K);
    this.options.onEvict?.(key, entry.value, entry.bytes);
  }
}
