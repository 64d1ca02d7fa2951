/**
 * Efficient log-likelihood scoring of many (context, continuation) pairs whose contexts repeat and share
 * prefixes, as a k-shot evaluation sends them (three answer candidates per prompt, every prompt of a page starting
 * with the same header and, often, the same example):
 *   1. requests with the same context (and document id, row context and namespace) form a group: the context runs
 *      once, together with the leading tokens all its continuations share (" (" of " (a)", " (b)", " (c)") and the
 *      rest of one of them (its lead) but the last token; the lead is scored from that pass alone, and the others
 *      up to one token past the shared part. The rest of the others, of the whole batch, is scored in one pass
 *      over the pass's keys and values (repeated once per continuation, the lead's own positions hidden);
 *   2. with a PrefixCache, the KV of the longest cached prefix of each context is reused, and after its pass a
 *      context keeps in the cache the prefix it shares with other contexts of the call or with recent calls'
 *      contexts (its whole context when it was seen before), for later passes and calls (automatic prefix
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
  /** Positions computed (contexts, folded and other continuation tokens). */
  computedTokens: number;
  /** Context positions taken from the prefix cache. */
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
  /**
   * The leading tokens every item's continuation shares (" (" of " (a)", " (b)", " (c)"), computed in the context's
   * own pass; each item's next token is read off that pass too.
   */
  fold: readonly number[];
  /**
   * The item (request index) whose whole continuation runs in the context's pass too (the fold, then its own
   * tokens but the last), so only the others need a pass of their own; none when every continuation ends within
   * one token past the fold.
   */
  lead?: number;
  /** The tokens after the context in its pass: the lead's continuation but its last token, else the fold. */
  run: readonly number[];
  /** Longest continuation input left after the fold (continuation length - fold - 1) of its other items. */
  maxCont: number;
  /** Seen in an earlier call: its own context's keys and values are cached after its pass. */
  keep?: boolean;
  /** Tokens it shares with other contexts of the call or recent ones: cached after its pass. */
  share?: number;
}

/**
 * Padded attention area (query positions x key positions) worth one forward pass less: measured on stories260K
 * (wasm-blas, 2 cores) with FEVER 1-shot calls of 8 claims, where it made calls ~7% faster than never splitting.
 */
const PASS_AREA = 5000;

const sliceKV = (l: PrefixKV, n: number): PrefixKV => ({
  kT: tf.slice(l.kT, [0, 0, 0, 0], [1, -1, -1, n]),
  v: tf.slice(l.v, [0, 0, 0, 0], [1, -1, n, -1]),
});

/**
 * Row `row` of `kv` as a prefix-cache entry of its first `n` context positions: the `reused` ones at the front of
 * the cache, the rest from column `past` on (batch 1, new tensors; slices, not a gather, which is slow on wasm).
 */
function rowPrefix(kv: KVCache, row: number, reused: number, past: number, n: number): PrefixKV[] {
  const a = Math.min(n, reused);
  return tidyLayers(() =>
    Array.from({ length: kv.nLayers }, (_, layer) => {
      const { kT, v } = kv.layer(layer)!;
      const kTs: tf.Tensor4D[] = [];
      const vs: tf.Tensor4D[] = [];
      if (a > 0) {
        kTs.push(tf.slice(kT, [row, 0, 0, 0], [1, -1, -1, a]));
        vs.push(tf.slice(v, [row, 0, 0, 0], [1, -1, a, -1]));
      }
      if (n > a) {
        kTs.push(tf.slice(kT, [row, 0, 0, past], [1, -1, -1, n - a]));
        vs.push(tf.slice(v, [row, 0, past, 0], [1, -1, n - a, -1]));
      }
      return { kT: kTs.length === 1 ? kTs[0] : (tf.concat(kTs, 3) as tf.Tensor4D), v: vs.length === 1 ? vs[0] : (tf.concat(vs, 2) as tf.Tensor4D) };
    }),
  );
}

/**
 * `kv`'s rows repeated `k` times (row r of copy j at j * batch + r), with row r's columns `hidden[r]` masked, a new
 * cache; `kv` is unchanged.
 */
function repeatRows(kv: KVCache, k: number, hidden: readonly (readonly number[])[]): KVCache {
  const layers = tidyLayers(() =>
    Array.from({ length: kv.nLayers }, (_, layer) => {
      const { kT, v } = kv.layer(layer)!;
      return {
        kT: tf.concat(new Array<tf.Tensor4D>(k).fill(kT), 0) as tf.Tensor4D,
        v: tf.concat(new Array<tf.Tensor4D>(k).fill(v), 0) as tf.Tensor4D,
      };
    }),
  );
  const rep = <T>(rows: readonly T[]): T[] => Array.from({ length: k }, () => rows).flat();
  const mask = kv.mask.map((m, r) => {
    const row = [...m];
    for (const col of hidden[r]) row[col] = 0;
    return row;
  });
  return KVCache.fromLayers(layers, rep(kv.tokens), rep(mask));
}

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
      g = { key, namespace, context: req.context, docId, rowContext, items: [], fold: [], run: [], maxCont: 0 };
      groups.set(key, g);
    }
    g.items.push(i);
  });
  const groupOf = new Map<number, Group>();
  for (const g of groups.values()) for (const i of g.items) groupOf.set(i, g);
  const itemGroup = (i: number): Group => groupOf.get(i)!;
  for (const g of groups.values()) {
    const conts = g.items.map((i) => requests[i].continuation);
    const n = conts.reduce((m, c) => commonPrefixLength(conts[0], c, m), Math.min(conts[0].length, maxSeq - g.context.length));
    g.fold = conts[0].slice(0, n);
    g.lead = g.items.find((i) => requests[i].continuation.length > n + 1 && g.context.length + requests[i].continuation.length - 1 <= maxSeq);
    g.run = g.lead === undefined ? g.fold : requests[g.lead].continuation.slice(0, -1);
    g.maxCont = Math.max(0, ...g.items.filter((i) => i !== g.lead).map((i) => requests[i].continuation.length - n - 1));
  }
  if (stats) stats.groups += groups.size;

  let started = false;
  /** Before each forward pass but the first: the pause between two slices. */
  const nextSlice = async (): Promise<void> => {
    if (started) await betweenSlices(options);
    started = true;
    if (stats) stats.forwards++;
  };
  const fwd = (docIds: HookContext['docIds'], rowContext: HookContext['rowContext']) => ({ hooks: options.hooks, docIds, rowContext });

  // Prefixes this call's contexts share with each other or with recently seen ones: after its pass, a group keeps
  // the keys and values of that prefix in the cache (of its whole context when it was seen before), for the groups
  // of later passes and calls.
  if (cache) {
    const byNamespace = new Map<string, Group[]>();
    for (const g of groups.values()) byNamespace.set(g.namespace, [...(byNamespace.get(g.namespace) ?? []), g]);
    for (const g of groups.values()) {
      const usable = g.context.length - 1;
      let share = 0;
      for (const other of byNamespace.get(g.namespace)!)
        if (other !== g) share = Math.max(share, commonPrefixLength(g.context, other.context, usable));
      for (const seen of cache.recent(g.namespace)) share = Math.max(share, commonPrefixLength(g.context, seen, usable));
      if (share < minShared) continue;
      if (share === usable) g.keep = true;
      else g.share = share;
    }
    for (const g of groups.values()) cache.remember(g.namespace, g.context);
  }

  // Contexts, longest left to compute first (little padding per pass).
  const reusable = (g: Group) => (cache ? cache.peekLength(g.namespace, g.context, g.context.length - 1) : 0);
  const left = new Map([...groups.values()].map((g) => [g, g.context.length - reusable(g)]));
  const ordered = [...groups.values()].sort((a, b) => left.get(b)! - left.get(a)!);
  const vocab = model.config.vocabSize;
  for (let s = 0; s < ordered.length;) {
    // Take groups while their new positions (context left + the tokens run with it) fit a slice (at least one
    // group; a longer one runs in chunks), the padded cache (reused part + new part + continuation) fits the model
    // and the padding they add is worth saving a pass.
    const batch: Group[] = [];
    const hits: ({ length: number; layers: readonly PrefixKV[] } | undefined)[] = [];
    let past = 0;
    let rest = 0;
    let cont = 0;
    while (s < ordered.length && batch.length < batchSize) {
      const g = ordered[s];
      const r = reusable(g);
      const p = Math.max(past, r);
      const t = Math.max(rest, g.context.length - r + g.run.length);
      const c = Math.max(cont, g.maxCont);
      // Attention is over padded rows: a group whose joining pads the pass by more than it would cost on its own
      // (plus what a pass of its own costs) waits for the next pass.
      const own = g.context.length - r + g.run.length;
      const padded = (batch.length + 1) * t * (p + t) - batch.length * rest * (past + rest) - own * (r + own);
      if (batch.length > 0 && (p + t + c > maxSeq || (batch.length + 1) * t > sliceTokens || padded > PASS_AREA)) break;
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
    // Hidden states at each row's last context position and at its folded continuation tokens: the outputs that
    // predict the continuations' first fold + 1 tokens.
    const outputs: (tf.Tensor2D | undefined)[] = batch.map(() => undefined);
    let optionKV: KVCache | undefined;
    try {
      const suffixes = batch.map((g, row) => [...g.context.slice(reused[row]), ...g.run]);
      const docIds = batch.map((g) => g.docId);
      const rowContexts = batch.map((g) => g.rowContext);
      const cols = Number.isFinite(sliceTokens) ? Math.max(1, Math.floor(sliceTokens / batch.length)) : rest;
      const parts: tf.Tensor2D[][] = batch.map(() => []);
      for (let c0 = 0; c0 < rest; c0 += cols) {
        await nextSlice();
        const width = Math.min(cols, rest - c0);
        const chunk = padRows(
          suffixes.map((x) => x.slice(c0, c0 + width)),
          pad,
          width,
        );
        const h = model.forward(chunk.tokens, { cache: kv, attentionMask: chunk.mask, output: 'hidden', ...fwd(docIds, rowContexts) });
        batch.forEach((g, row) => {
          // Positions (in the row's suffix) of its last context token through its last folded token.
          const from = Math.max(suffixes[row].length - 1 - g.run.length, c0);
          const to = Math.min(suffixes[row].length, c0 + width);
          if (from < to)
            parts[row].push(tf.keep(tf.tidy(() => tf.reshape(tf.slice(h, [row, from - c0, 0], [1, to - from, -1]), [to - from, -1]) as tf.Tensor2D)));
        });
        h.dispose();
        if (stats) stats.computedTokens += suffixes.reduce((a, x) => a + Math.max(0, Math.min(width, x.length - c0)), 0);
      }
      parts.forEach((p, row) => {
        outputs[row] = p.length === 1 ? p[0] : tf.keep(tf.concat(p, 0) as tf.Tensor2D);
        if (p.length > 1) tf.dispose(p);
      });
      if (cache) {
        batch.forEach((g, row) => {
          // Contexts seen before keep their own keys and values; a prefix shared with others keeps its own.
          const n = g.keep ? g.context.length : (g.share ?? 0);
          if (n > reused[row] && n > cache.peekLength(g.namespace, g.context, n))
            cache.insert(g.namespace, g.context.slice(0, n), rowPrefix(kv, row, reused[row], past, n), options.cacheTags);
        });
      }
      if (stats) stats.reusedTokens += reused.reduce((a, r) => a + r, 0);
      // The continuations' tokens up to one past the fold: from those outputs.
      const heads = tf.tidy(() => model.weights.classifier.apply(tf.concat(outputs as tf.Tensor2D[], 0) as tf.Tensor2D));
      const headData = logSoftmax64((await heads.data()) as Float32Array, vocab);
      heads.dispose();
      const partial = new Map<number, { lps: number[]; greedy: boolean }>();
      // Per row, its items with tokens left after the one read off the fold.
      const pending: number[][] = batch.map(() => []);
      let base = 0;
      batch.forEach((g, row) => {
        for (const i of g.items) {
          const c = requests[i].continuation;
          const p = { lps: [] as number[], greedy: true };
          const upTo = i === g.lead ? c.length - 1 : Math.min(g.fold.length, c.length - 1);
          for (let k = 0; k <= upTo; k++) {
            p.lps.push(headData[(base + k) * vocab + c[k]]);
            if (argmaxAt(headData, base + k, vocab) !== c[k]) p.greedy = false;
          }
          partial.set(i, p);
          if (i !== g.lead && c.length > g.fold.length + 1) pending[row].push(i);
        }
        base += g.run.length + 1;
      });
      // The rest of each continuation off its context's keys and values, read-only: the j-th pending continuation
      // of every row in one pass, as many of those ranks per pass as a slice holds (the batch's keys and values
      // repeated once per rank).
      const ranks = Math.max(...pending.map((p) => p.length));
      // The lead's own tokens are not the others' context: their columns are hidden from the others' pass.
      const private_ = batch.map((g, row) => {
        const at = past + g.context.length - reused[row] + g.fold.length;
        return Array.from({ length: g.run.length - g.fold.length }, (_, j) => at + j);
      });
      const width = Math.max(0, ...pending.flat().map((i) => requests[i].continuation.length - 1 - itemGroup(i).fold.length));
      const perPass = Number.isFinite(sliceTokens) ? Math.max(1, Math.floor(sliceTokens / (batch.length * Math.max(1, width)))) : ranks;
      for (let j0 = 0; j0 < ranks; j0 += perPass) {
        const k = Math.min(perPass, ranks - j0);
        const slots = Array.from({ length: k * batch.length }, (_, x) => pending[x % batch.length][j0 + Math.floor(x / batch.length)]);
        await nextSlice();
        optionKV = k === 1 && !private_.some((cols) => cols.length > 0) ? undefined : repeatRows(kv, k, private_);
        const inputs = padRows(
          slots.map((i) => (i === undefined ? [] : requests[i].continuation.slice(itemGroup(i).fold.length, -1))),
          pad,
          width,
        );
        const logits = model.forward(inputs.tokens, {
          cache: optionKV ?? kv,
          readOnlyCache: true,
          attentionMask: inputs.mask,
          ...fwd(
            slots.map((_, x) => docIds[x % batch.length]),
            slots.map((_, x) => rowContexts[x % batch.length]),
          ),
        });
        optionKV?.dispose();
        optionKV = undefined;
        const lpData = logSoftmax64((await logits.data()) as Float32Array, vocab);
        logits.dispose();
        slots.forEach((i, x) => {
          if (i === undefined) return;
          const f = itemGroup(i).fold.length;
          const p = partial.get(i)!;
          requests[i].continuation.slice(f + 1).forEach((id, t) => {
            const at = x * width + t;
            p.lps.push(lpData[at * vocab + id]);
            if (argmaxAt(lpData, at, vocab) !== id) p.greedy = false;
          });
          if (stats) stats.computedTokens += requests[i].continuation.length - 1 - f;
        });
      }
      for (const [i, p] of partial) results[i] = { logprob: p.lps.reduce((x, y) => x + y, 0), greedy: p.greedy, tokenLogprobs: p.lps };
    } finally {
      kv.dispose();
      optionKV?.dispose();
      tf.dispose(outputs.filter((t): t is tf.Tensor2D => t !== undefined));
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
