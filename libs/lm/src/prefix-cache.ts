/**
 * Automatic prefix caching (as vLLM's): the keys and values of token prefixes, kept across calls so that a prompt
 * header every request shares is computed once. An entry holds the KV of one prefix (batch 1) and serves any
 * shorter prefix of it too (causal attention: position i's keys and values depend on tokens 0..i only), so a
 * lookup returns the entry with the longest common prefix.
 *
 * Entries live in namespaces. A namespace must name everything besides the tokens that a position's activations
 * depend on — the weights (model and fingerprint), the hooks (memory id and version, mask source), the document
 * id the hooks see, and, when the hooks read a row's whole prompt (rowContext), that prompt — so an entry can
 * never be reused where it would be wrong. Tags (e.g. a model id, a memory) let the owner free entries at once
 * when what they depend on goes away. The cache is byte-bounded: past the budget the least recently used entries
 * are disposed.
 *
 * Besides entries it remembers recent prompts' tokens per namespace (no tensors): a new prompt sharing a prefix
 * with one seen before is how a shared prefix is discovered across calls (see scoreShared).
 */
import { tf } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';

export interface PrefixKV {
  /** Keys transposed, [1, Hkv, headDim, T]. */
  kT: tf.Tensor4D;
  /** Values, [1, Hkv, T, headDim]. */
  v: tf.Tensor4D;
}

interface Entry {
  namespace: string;
  tokens: Int32Array;
  layers: PrefixKV[];
  bytes: number;
  tags: readonly string[];
  lastUsed: number;
}

export interface PrefixCacheStats {
  entries: number;
  bytes: number;
  budgetBytes: number;
  /** Lookups that found a usable prefix, and the tokens they saved. */
  hits: number;
  hitTokens: number;
  misses: number;
  inserted: number;
  evicted: number;
}

/** Length of the common prefix of a and b, at most `max`. */
export function commonPrefixLength(a: ArrayLike<number>, b: ArrayLike<number>, max = Infinity): number {
  const n = Math.min(a.length, b.length, max);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export interface PrefixCacheOptions {
  /** Bytes of KV the entries may hold (float32). 0 holds nothing. */
  budgetBytes: number;
  /** Recent prompts remembered per namespace (token ids only, default 64)... */
  historyPerNamespace?: number;
  /** ...for this many namespaces, the most recently used (default 1024). */
  historyNamespaces?: number;
}

export class PrefixCache {
  readonly budgetBytes: number;
  private readonly historyPerNamespace: number;
  private readonly historyNamespaces: number;
  private readonly entries = new Map<string, Entry[]>();
  private readonly history = new Map<string, Int32Array[]>();
  private clock = 0;
  private usedBytes = 0;
  private counters = { hits: 0, hitTokens: 0, misses: 0, inserted: 0, evicted: 0 };

  constructor(options: PrefixCacheOptions) {
    if (!Number.isFinite(options.budgetBytes) || options.budgetBytes < 0) {
      throw new InvalidArgumentError('prefix cache budget must be a non-negative byte count', 'budgetBytes');
    }
    this.budgetBytes = options.budgetBytes;
    this.historyPerNamespace = options.historyPerNamespace ?? 64;
    this.historyNamespaces = options.historyNamespaces ?? 1024;
  }

  get stats(): PrefixCacheStats {
    let entries = 0;
    for (const list of this.entries.values()) entries += list.length;
    return { entries, bytes: this.usedBytes, budgetBytes: this.budgetBytes, ...this.counters };
  }

  /**
   * The entry of `namespace` sharing the longest prefix with `tokens` (at most `maxLength` tokens of it), touched
   * as used; undefined when none shares a token. Use its tensors before the next await (an insert may evict it).
   */
  lookup(namespace: string, tokens: ArrayLike<number>, maxLength = tokens.length): { length: number; layers: readonly PrefixKV[] } | undefined {
    let best: Entry | undefined;
    let bestLength = 0;
    for (const e of this.entries.get(namespace) ?? []) {
      const n = commonPrefixLength(e.tokens, tokens, maxLength);
      if (n > bestLength) {
        best = e;
        bestLength = n;
      }
    }
    if (!best) {
      this.counters.misses++;
      return undefined;
    }
    best.lastUsed = ++this.clock;
    this.counters.hits++;
    this.counters.hitTokens += bestLength;
    return { length: bestLength, layers: best.layers };
  }

  /** The length lookup would return, without touching the entry or counting a lookup. */
  peekLength(namespace: string, tokens: ArrayLike<number>, maxLength = tokens.length): number {
    let best = 0;
    for (const e of this.entries.get(namespace) ?? []) best = Math.max(best, commonPrefixLength(e.tokens, tokens, maxLength));
    return best;
  }

  /**
   * Keeps the KV of `tokens` (layers[i] covering exactly those tokens, batch 1) under `namespace`; takes ownership
   * of the tensors (disposed at once when they do not fit the budget or an entry already covers the prefix).
   * Returns whether it was kept.
   */
  insert(namespace: string, tokens: readonly number[], layers: PrefixKV[], tags: readonly string[] = []): boolean {
    const bytes = layers.reduce((a, l) => a + (l.kT.size + l.v.size) * 4, 0);
    const list = this.entries.get(namespace) ?? [];
    const covered = list.some((e) => e.tokens.length >= tokens.length && commonPrefixLength(e.tokens, tokens) === tokens.length);
    if (covered || bytes > this.budgetBytes || tokens.length === 0) {
      for (const l of layers) tf.dispose([l.kT, l.v]);
      return false;
    }
    while (this.usedBytes + bytes > this.budgetBytes) this.evictOldest();
    // Entries it covers (shorter prefixes of it) are redundant now.
    for (const e of [...list]) {
      if (e.tokens.length < tokens.length && commonPrefixLength(e.tokens, tokens) === e.tokens.length) this.remove(e);
    }
    const entry: Entry = { namespace, tokens: Int32Array.from(tokens), layers, bytes, tags, lastUsed: ++this.clock };
    const now = this.entries.get(namespace) ?? [];
    now.push(entry);
    this.entries.set(namespace, now);
    this.usedBytes += bytes;
    this.counters.inserted++;
    return true;
  }

  /** Prompts of `namespace` seen recently (most recent last). */
  recent(namespace: string): readonly Int32Array[] {
    return this.history.get(namespace) ?? [];
  }

  /** Remembers a prompt of `namespace` (token ids only): the newest historyPerNamespace of the newest historyNamespaces. */
  remember(namespace: string, tokens: readonly number[]): void {
    const list = (this.history.get(namespace) ?? []).filter((t) => t.length !== tokens.length || commonPrefixLength(t, tokens) !== tokens.length);
    list.push(Int32Array.from(tokens));
    if (list.length > this.historyPerNamespace) list.splice(0, list.length - this.historyPerNamespace);
    this.history.delete(namespace);
    this.history.set(namespace, list);
    while (this.history.size > this.historyNamespaces) this.history.delete(this.history.keys().next().value as string);
  }

  /** Disposes every entry carrying `tag` and forgets the prompts of their namespaces. */
  drop(tag: string): void {
    const namespaces = new Set<string>();
    for (const list of [...this.entries.values()]) {
      for (const e of [...list]) {
        if (e.tags.includes(tag)) {
          namespaces.add(e.namespace);
          this.remove(e);
        }
      }
    }
    for (const ns of namespaces) this.history.delete(ns);
  }

  /** Disposes every entry and forgets every prompt. */
  clear(): void {
    for (const list of [...this.entries.values()]) for (const e of [...list]) this.remove(e);
    this.history.clear();
  }

  private evictOldest(): void {
    let oldest: Entry | undefined;
    for (const list of this.entries.values()) for (const e of list) if (!oldest || e.lastUsed < oldest.lastUsed) oldest = e;
    if (!oldest) return;
    this.remove(oldest);
    this.counters.evicted++;
  }

  private remove(e: Entry): void {
    const list = this.entries.get(e.namespace);
    if (!list) return;
    const i = list.indexOf(e);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.entries.delete(e.namespace);
    this.usedBytes -= e.bytes;
    for (const l of e.layers) tf.dispose([l.kT, l.v]);
  }
}
