/**
 * Efficient log-likelihood scoring of many (context, continuation) pairs whose contexts repeat and share
 * prefixes, as a k-shot evaluation sends them (three answer candidates per prompt, every prompt starting with the
 * same header):
 *   1. requests with the same context (and document id, row context and namespace) form a group: the context runs
 *      once, and each continuation is scored off that pass's KV cache (their first token from the context's last
 *      position, the rest in one batched pass over the cached keys and values);
 *   2. with a PrefixCache, the KV of the longest cached prefix of each context is reused, and prefixes shared with
 *      other contexts of the call or with recent calls' contexts are computed once and cached (automatic prefix
 *      caching, as vLLM does).
 * Results equal scoreContinuations' (up to float32 rounding: the same products over other shapes), whatever the
 * batch size and whether or not anything was cached. Every forward pass is one slice (at most `sliceTokens`
 * padded tokens of new positions), so a long call yields between slices and stops at the next one when cancelled.
 */
import { betweenSlices, tf } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';
import { KVCache } from './kv-cache.js';
import type { HookContext, TransformerModel } from './model.js';
import { commonPrefixLength, type PrefixCache, type PrefixKV } from './prefix-cache.js';
import { scoreContinuations, type ScoreOptions, type ScoreRequest, type ScoreResult } from './scoring.js';

export interface SharedScoreOptions extends ScoreOptions {
  /** Reuse and keep prefixes' keys and values here (none: each group computes its whole context). */
  prefixCache?: PrefixCache;
  /**
   * One per request, required with prefixCache: everything besides the tokens that the activations depend on
   * (see PrefixCache). Requests of different namespaces never share a prefix or a pass.
   */
  namespaces?: readonly string[];
  /** Tags of the prefix-cache entries this call makes (see PrefixCache.drop). */
  cacheTags?: readonly string[];
  /** Shortest shared prefix worth caching, tokens (default 16). */
  minSharedPrefix?: number;
  /** Counters of the work done, filled in when given. */
  stats?: SharedScoreStats;
}

export interface SharedScoreStats {
  /** Distinct contexts scored. */
  groups: number;
  /** Context positions computed (prefix materialisation included) and taken from the cache. */
  computedTokens: number;
  reusedTokens: number;
  forwards: number;
}

interface Group {
  key: string;
  namespace: string;
  context: readonly number[];
  docId: string | number | undefined;
  rowContext: readonly number[];
  /** Request indexes. */
  items: number[];
  /** Longest continuation input (continuation length - 1) of its items. */
  maxCont: number;
  /** Seen in an earlier call: its own context's keys and values are cached after its pass. */
  keep?: boolean;
}

const sliceKV = (l: PrefixKV, n: number): PrefixKV => ({
  kT: tf.slice(l.kT, [0, 0, 0, 0], [1, -1, -1, n]),
  v: tf.slice(l.v, [0, 0, 0, 0], [1, -1, n, -1]),
});

/** Log-softmax of each row of `vocab` logits, in float64 (so rounding does not depend on how rows were batched). */
function logSoftmax64(logits: Float32Array, vocab: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let o = 0; o < logits.length; o += vocab) {
    let max = -Infinity;
    for (let j = 0; j < vocab; j++) max = Math.max(max, logits[o + j]);
    let sum = 0;
    for (let j = 0; j < vocab; j++) sum += Math.exp(logits[o + j] - max);
    const lse = max + Math.log(sum);
    for (let j = 0; j < vocab; j++) out[o + j] = logits[o + j] - lse;
  }
  return out;
}

/** The first index of the largest of row `row` (as tf.argMax picks). */
function argmaxAt(values: ArrayLike<number>, row: number, vocab: number): number {
  let best = 0;
  for (let j = 1; j < vocab; j++) if (values[row * vocab + j] > values[row * vocab + best]) best = j;
  return best;
}

/** tf.tidy for a list of layers' tensors. */
const tidyLayers = (fn: () => PrefixKV[]): PrefixKV[] => tf.tidy(() => fn() as unknown as tf.TensorContainer) as unknown as PrefixKV[];

/** Right-pads rows to their longest with `pad`; mask 1 = real. */
function padRows(
  rows: readonly (readonly number[])[],
  pad: number,
  width = Math.max(...rows.map((r) => r.length)),
): { tokens: number[][]; mask: number[][] } {
  return {
    tokens: rows.map((r) => [...r, ...new Array<number>(width - r.length).fill(pad)]),
    mask: rows.map((r) => [...r.map(() => 1), ...new Array<number>(width - r.length).fill(0)]),
  };
}

/** Scores each request; results come back in request order (see the module comment). */
export async function scoreShared(
  model: TransformerModel,
  requests: readonly ScoreRequest[],
  options: SharedScoreOptions = {},
): Promise<ScoreResult[]> {
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError('batchSize must be a positive integer', 'batchSize');
  if (options.docIds && options.docIds.length !== requests.length) throw new InvalidArgumentError('docIds must have one entry per request', 'docIds');
  const cache = options.prefixCache && options.prefixCache.budgetBytes > 0 ? options.prefixCache : undefined;
  if (cache && options.namespaces?.length !== requests.length) {
    throw new InvalidArgumentError('namespaces must have one entry per request when a prefix cache is used', 'namespaces');
  }
  options.signal?.throwIfAborted();
  const pad = options.padId ?? 0;
  const maxSeq = model.config.maxSeqLen;
  const sliceTokens = options.sliceTokens ?? Infinity;
  const minShared = options.minSharedPrefix ?? 16;
  const stats = options.stats;
  const results: ScoreResult[] = new Array(requests.length);

  // Rows that do not fit the model whole are cut from the left by scoreContinuations: no sharing for them.
  const direct: number[] = [];
  const groups = new Map<string, Group>();
  requests.forEach((req, i) => {
    if (req.context.length === 0) throw new InvalidArgumentError(`requests[${i}].context is empty (start it with BOS)`, 'context');
    if (req.continuation.length === 0) throw new InvalidArgumentError(`requests[${i}].continuation is empty`, 'continuation');
    if (req.context.length + req.continuation.length > maxSeq + 1) {
      direct.push(i);
      return;
    }
    const docId = options.docIds?.[i];
    const rowContext = options.rowContext?.[i] ?? req.context;
    const namespace = options.namespaces?.[i] ?? '';
    const key = [
      namespace,
      typeof docId === 'number' ? `n${docId}` : docId === undefined ? '-' : `s${docId}`,
      req.context.join(','),
      options.rowContext?.[i]?.join(',') ?? '',
    ].join('\u0000');
    let g = groups.get(key);
    if (!g) {
      g = { key, namespace, context: req.context, docId, rowContext, items: [], maxCont: 0 };
      groups.set(key, g);
    }
    g.items.push(i);
    g.maxCont = Math.max(g.maxCont, req.continuation.length - 1);
  });
  if (stats) stats.groups += groups.size;

  let started = false;
  /** Before each forward pass but the first: the pause between two slices. */
  const nextSlice = async (): Promise<void> => {
    if (started) await betweenSlices(options);
    started = true;
    if (stats) stats.forwards++;
  };
  const fwd = (docIds: HookContext['docIds'], rowContext: HookContext['rowContext']) => ({ hooks: options.hooks, docIds, rowContext });

  if (cache) {
    // Prefixes this call's contexts share with each other or with recently seen ones, shortest first (a longer
    // one then starts from the shorter one's entry).
    const byNamespace = new Map<string, Group[]>();
    for (const g of groups.values()) byNamespace.set(g.namespace, [...(byNamespace.get(g.namespace) ?? []), g]);
    const wants = new Map<string, { group: Group; tokens: readonly number[] }>();
    for (const g of groups.values()) {
      const usable = g.context.length - 1;
      let share = 0;
      for (const other of byNamespace.get(g.namespace)!)
        if (other !== g) share = Math.max(share, commonPrefixLength(g.context, other.context, usable));
      for (const seen of cache.recent(g.namespace)) share = Math.max(share, commonPrefixLength(g.context, seen, usable));
      if (share < minShared || share <= cache.peekLength(g.namespace, g.context, share)) continue;
      // A context seen before keeps its own pass's keys and values; a prefix shared with others is computed once.
      if (share === usable) g.keep = true;
      else {
        const tokens = g.context.slice(0, share);
        wants.set(`${g.namespace}\u0000${tokens.join(',')}`, { group: g, tokens });
      }
    }
    for (const g of groups.values()) cache.remember(g.namespace, g.context);
    for (const { group, tokens } of [...wants.values()].sort((a, b) => a.tokens.length - b.tokens.length)) {
      const hit = cache.lookup(group.namespace, tokens, tokens.length);
      const reused = hit?.length ?? 0;
      if (reused >= tokens.length) continue;
      const kv = hit
        ? KVCache.fromLayers(
            tidyLayers(() => hit.layers.map((l) => sliceKV(l, reused))),
            [tokens.slice(0, reused)],
            [tokens.slice(0, reused).map(() => 1)],
          )
        : model.newCache();
      try {
        const step = Number.isFinite(sliceTokens) ? Math.max(1, sliceTokens) : tokens.length;
        for (let s = reused; s < tokens.length; s += step) {
          await nextSlice();
          const chunk = tokens.slice(s, s + step);
          tf.dispose(model.forward([chunk], { cache: kv, lastOnly: true, output: 'hidden', ...fwd([group.docId], [group.rowContext]) }));
          if (stats) stats.computedTokens += chunk.length;
        }
        if (stats) stats.reusedTokens += reused;
        cache.insert(group.namespace, tokens, kv.detach(), options.cacheTags);
      } finally {
        kv.dispose();
      }
    }
  }

  // Contexts, longest left to compute first (little padding per pass).
  const left = (g: Group) => g.context.length - (cache ? cache.peekLength(g.namespace, g.context, g.context.length - 1) : 0);
  const ordered = [...groups.values()].sort((a, b) => left(b) - left(a));
  for (let s = 0; s < ordered.length;) {
    // Take groups while their new positions fit a slice (at least one group; a longer one runs in chunks) and the
    // padded cache (reused part + new part + continuation) fits the model.
    const batch: Group[] = [];
    const hits: ({ length: number; layers: readonly PrefixKV[] } | undefined)[] = [];
    let past = 0;
    let rest = 0;
    let cont = 0;
    while (s < ordered.length && batch.length < batchSize) {
      const g = ordered[s];
      const r = cache ? cache.peekLength(g.namespace, g.context, g.context.length - 1) : 0;
      const p = Math.max(past, r);
      const t = Math.max(rest, g.context.length - r);
      const c = Math.max(cont, g.maxCont);
      if (batch.length > 0 && (p + t + c > maxSeq || (batch.length + 1) * t > sliceTokens)) break;
      batch.push(g);
      hits.push(r > 0 ? cache!.lookup(g.namespace, g.context, r) : undefined);
      [past, rest, cont] = [p, t, c];
      s++;
    }
    const reused = hits.map((h) => h?.length ?? 0);
    // The reused prefixes, right-padded to the longest (padding never attended to), taken before any await.
    const kv =
      past > 0
        ? KVCache.fromLayers(
            tidyLayers(() =>
              Array.from({ length: model.config.nLayers }, (_, layer) => {
                const kTs: tf.Tensor4D[] = [];
                const vs: tf.Tensor4D[] = [];
                hits.forEach((h, row) => {
                  const r = reused[row];
                  if (h && r > 0) {
                    const part = sliceKV(h.layers[layer], r);
                    kTs.push(
                      r < past
                        ? tf.pad(part.kT, [
                            [0, 0],
                            [0, 0],
                            [0, 0],
                            [0, past - r],
                          ])
                        : part.kT,
                    );
                    vs.push(
                      r < past
                        ? tf.pad(part.v, [
                            [0, 0],
                            [0, 0],
                            [0, past - r],
                            [0, 0],
                          ])
                        : part.v,
                    );
                  } else {
                    const { nKvHeads, headDim } = model.config;
                    kTs.push(tf.zeros([1, nKvHeads, headDim, past]));
                    vs.push(tf.zeros([1, nKvHeads, past, headDim]));
                  }
                });
                return { kT: tf.concat(kTs, 0) as tf.Tensor4D, v: tf.concat(vs, 0) as tf.Tensor4D };
              }),
            ),
            batch.map((g, row) => [...g.context.slice(0, reused[row]), ...new Array<number>(past - reused[row]).fill(pad)]),
            batch.map((_, row) => [...new Array<number>(reused[row]).fill(1), ...new Array<number>(past - reused[row]).fill(0)]),
          )
        : model.newCache();
    const lastHidden: (tf.Tensor1D | undefined)[] = batch.map(() => undefined);
    try {
      const suffixes = batch.map((g, row) => g.context.slice(reused[row]));
      const docIds = batch.map((g) => g.docId);
      const rowContexts = batch.map((g) => g.rowContext);
      const cols = Number.isFinite(sliceTokens) ? Math.max(1, Math.floor(sliceTokens / batch.length)) : rest;
      for (let c0 = 0; c0 < rest; c0 += cols) {
        await nextSlice();
        const width = Math.min(cols, rest - c0);
        const chunk = padRows(
          suffixes.map((x) => x.slice(c0, c0 + width)),
          pad,
          width,
        );
        const h = model.forward(chunk.tokens, { cache: kv, attentionMask: chunk.mask, output: 'hidden', ...fwd(docIds, rowContexts) });
        suffixes.forEach((x, row) => {
          const at = x.length - 1 - c0;
          if (at >= 0 && at < width) lastHidden[row] = tf.keep(tf.tidy(() => tf.reshape(tf.slice(h, [row, at, 0], [1, 1, -1]), [-1]) as tf.Tensor1D));
        });
        h.dispose();
        if (stats) stats.computedTokens += suffixes.reduce((a, x) => a + Math.max(0, Math.min(width, x.length - c0)), 0);
      }
      // Contexts seen before keep their own keys and values (real positions only).
      batch.forEach((g, row) => {
        if (!g.keep) return;
        const positions = [...Array.from({ length: reused[row] }, (_, j) => j), ...Array.from({ length: suffixes[row].length }, (_, j) => past + j)];
        cache!.insert(g.namespace, g.context, kv.rowAt(row, positions), options.cacheTags);
      });
      if (stats) stats.reusedTokens += reused.reduce((a, r) => a + r, 0);
      // Each continuation's first token: from its context's last position.
      const first = tf.tidy(() => model.weights.classifier.apply(tf.stack(lastHidden as tf.Tensor1D[]) as tf.Tensor2D));
      const vocab = model.config.vocabSize;
      const firstData = logSoftmax64((await first.data()) as Float32Array, vocab);
      first.dispose();
      const argmaxOf = (row: number): number => argmaxAt(firstData, row, vocab);
      const partial = new Map<number, { lps: number[]; greedy: boolean; row: number }>();
      batch.forEach((g, row) => {
        const top = argmaxOf(row);
        for (const i of g.items) {
          const id = requests[i].continuation[0];
          partial.set(i, { lps: [firstData[row * vocab + id]], greedy: top === id, row });
        }
      });
      // The rest of each continuation off the batch's cache, read-only: the j-th continuation of every context
      // in one pass (no copy of the cached keys and values per continuation).
      const ranks = Math.max(...batch.map((g) => g.items.length));
      for (let j = 0; j < ranks; j++) {
        const items = batch.map((g) => g.items[j]).map((i) => (i !== undefined && requests[i].continuation.length > 1 ? i : undefined));
        if (items.every((i) => i === undefined)) continue;
        await nextSlice();
        const inputs = padRows(
          items.map((i) => (i === undefined ? [] : requests[i].continuation.slice(0, -1))),
          pad,
        );
        const logits = model.forward(inputs.tokens, { cache: kv, readOnlyCache: true, attentionMask: inputs.mask, ...fwd(docIds, rowContexts) });
        const lpData = logSoftmax64((await logits.data()) as Float32Array, vocab);
        logits.dispose();
        const width = inputs.tokens[0].length;
        items.forEach((i, r) => {
          if (i === undefined) return;
          const p = partial.get(i)!;
          requests[i].continuation.slice(1).forEach((id, k) => {
            const at = r * width + k;
            p.lps.push(lpData[at * vocab + id]);
            if (argmaxAt(lpData, at, vocab) !== id) p.greedy = false;
          });
          if (stats) stats.computedTokens += requests[i].continuation.length - 1;
        });
      }
      for (const [i, p] of partial) results[i] = { logprob: p.lps.reduce((x, y) => x + y, 0), greedy: p.greedy, tokenLogprobs: p.lps };
    } finally {
      kv.dispose();
      tf.dispose(lastHidden.filter((t): t is tf.Tensor1D => t !== undefined));
    }
  }

  if (direct.length > 0) {
    if (started) await betweenSlices(options);
    const out = await scoreContinuations(
      model,
      direct.map((i) => requests[i]),
      {
        ...options,
        docIds: options.docIds ? direct.map((i) => options.docIds![i]) : undefined,
        rowContext: options.rowContext ? direct.map((i) => options.rowContext![i]) : undefined,
      },
    );
    direct.forEach((i, k) => (results[i] = out[k]));
  }
  return results;
}
