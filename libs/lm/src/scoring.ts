/**
 * Log-likelihood scoring of (context, continuation) pairs (lm-evaluation-harness style) and the document
 * loss used for memorization. Batches are right-padded: with causal attention, padding after a row's last
 * real token cannot influence that row's real positions, so results do not depend on batch composition.
 */
import { betweenSlices, tf, type SliceOptions } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';
import type { HookContext, LayerHook, TokenRows, TransformerModel } from './model.js';

/**
 * Per-position next-token log-probabilities: logp[b][t] = log p(targets[b][t] | tokens[b][..t]).
 * Differentiable with respect to the logits (no gather gradient needed). The gradient is written out,
 * dlogits = dy * (oneHot - softmax(logits)): tfjs's own chain through logSumExp's max runs a broadcast
 * Equal over [B, T, vocab] that cost ~40 ms per batch on wasm.
 */
export function targetLogProbs(logits: tf.Tensor3D, targets: TokenRows): tf.Tensor2D {
  const [b, t, v] = logits.shape;
  const oneHot = tf.oneHot(tf.tensor2d(targets.flat(), [b, t], 'int32'), v);
  const fn = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = inputs[0] as tf.Tensor3D;
    const lse = tf.logSumExp(x, -1, true);
    (inputs[1] as tf.GradSaveFunc)([x, lse, oneHot]);
    const picked = tf.sum(tf.mul(x, oneHot), -1);
    return {
      value: tf.sub(picked, tf.reshape(lse, [b, t])) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, slse, sOneHot] = saved;
        const probs = tf.exp(tf.sub(sx, slse));
        return tf.mul(tf.sub(sOneHot, probs), tf.reshape(dy, [b, t, 1]));
      },
    };
  }) as (x: tf.Tensor3D) => tf.Tensor2D;
  return fn(logits);
}

export interface ScoreRequest {
  /** Conditioning tokens (at least one, usually starting with BOS). */
  context: readonly number[];
  /** Tokens whose log-likelihood is measured. */
  continuation: readonly number[];
}

export interface ScoreResult {
  /** Sum of the continuation tokens' log-probabilities. */
  logprob: number;
  /** True when every continuation token is the argmax given what precedes it. */
  greedy: boolean;
  tokenLogprobs: number[];
}

/**
 * How many rows the next batch takes: at most `batchSize`, and (with `sliceTokens`) no more than fit `sliceTokens`
 * padded tokens at `paddedLength` each — at least one. A scheduler bounds a slice's duration this way; results do
 * not depend on the batching.
 */
function rowsInSlice(left: number, paddedLength: number, batchSize: number, sliceTokens: number | undefined): number {
  const byTokens = sliceTokens ? Math.max(1, Math.floor(sliceTokens / Math.max(1, paddedLength))) : batchSize;
  return Math.min(left, batchSize, byTokens);
}

/** The rows from `start` that make one batch (see rowsInSlice), padded to the longest of them. */
function batchWithin(rows: readonly { ids: readonly number[] }[], start: number, batchSize: number, sliceTokens: number | undefined): number {
  let size = 0;
  let longest = 0;
  while (start + size < rows.length && size < batchSize) {
    const next = Math.max(longest, rows[start + size].ids.length);
    if (size > 0 && sliceTokens && (size + 1) * next > sliceTokens) break;
    longest = next;
    size++;
  }
  return size;
}

/** One batch of rows is one slice: `signal` is checked and `nextSlice` awaited between batches. */
export interface ScoreOptions extends SliceOptions {
  /** Padded tokens a batch may hold (fewer rows when they are long; at least one row): bounds a slice's time. */
  sliceTokens?: number;
  /** Rows per forward pass (default 8). */
  batchSize?: number;
  hooks?: ReadonlyMap<number, LayerHook>;
  /** One per request, handed to hooks. */
  docIds?: HookContext['docIds'];
  /** One per request, handed to hooks (default: each request's context, so a mask taken from the prompt is the same for every candidate continuation). */
  rowContext?: HookContext['rowContext'];
  /** Token used for padding (never attended to, default 0). */
  padId?: number;
}

interface Prepared {
  index: number;
  input: number[];
  /** Targets for input positions [start, start + n). */
  targets: number[];
  start: number;
}

function prepare(req: ScoreRequest, index: number, maxSeqLen: number): Prepared {
  if (req.context.length === 0) throw new InvalidArgumentError(`requests[${index}].context is empty (start it with BOS)`, 'context');
  if (req.continuation.length === 0) throw new InvalidArgumentError(`requests[${index}].continuation is empty`, 'continuation');
  // Keep the newest maxSeqLen + 1 tokens: the last one is only a target, never an input.
  const all = [...req.context, ...req.continuation].slice(-(maxSeqLen + 1));
  const n = Math.min(req.continuation.length, all.length - 1);
  const input = all.slice(0, -1);
  return { index, input, targets: all.slice(-n), start: input.length - n };
}

/** Scores each request; results come back in request order. */
export async function scoreContinuations(
  model: TransformerModel,
  requests: readonly ScoreRequest[],
  options: ScoreOptions = {},
): Promise<ScoreResult[]> {
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError('batchSize must be a positive integer', 'batchSize');
  if (options.docIds && options.docIds.length !== requests.length) {
    throw new InvalidArgumentError('docIds must have one entry per request', 'docIds');
  }
  options.signal?.throwIfAborted();
  const pad = options.padId ?? 0;
  // Longest first, so each batch pads little (results do not depend on the grouping).
  const prepared = requests.map((r, i) => prepare(r, i, model.config.maxSeqLen)).sort((a, b) => b.input.length - a.input.length);
  const results: ScoreResult[] = new Array(requests.length);
  for (let s = 0; s < prepared.length;) {
    if (s > 0) await betweenSlices(options);
    // Rows are longest first, so the first row's length is the batch's padded length.
    const size = rowsInSlice(prepared.length - s, prepared[s].input.length, batchSize, options.sliceTokens);
    const batch = prepared.slice(s, s + size);
    s += size;
    const t = batch[0].input.length;
    const tokens = batch.map((p) => [...p.input, ...new Array(t - p.input.length).fill(pad)]);
    const mask = batch.map((p) => p.input.map(() => 1).concat(new Array(t - p.input.length).fill(0)));
    const targets = batch.map((p) => {
      const row = new Array(t).fill(0);
      p.targets.forEach((id, j) => (row[p.start + j] = id));
      return row;
    });
    const [lp, am] = tf.tidy(() => {
      const logits = model.forward(tokens, {
        attentionMask: mask,
        hooks: options.hooks,
        docIds: options.docIds ? batch.map((p) => options.docIds![p.index]) : undefined,
        rowContext: batch.map((p) => options.rowContext?.[p.index] ?? requests[p.index].context),
      });
      return [targetLogProbs(logits, targets), tf.argMax(logits, -1)];
    });
    const [lpData, amData] = await Promise.all([lp.data(), am.data()]);
    lp.dispose();
    am.dispose();
    batch.forEach((p, r) => {
      const tokenLogprobs: number[] = [];
      let greedy = true;
      p.targets.forEach((id, j) => {
        const at = r * t + p.start + j;
        tokenLogprobs.push(lpData[at]);
        if (amData[at] !== id) greedy = false;
      });
      results[p.index] = { logprob: tokenLogprobs.reduce((a, b) => a + b, 0), greedy, tokenLogprobs };
    });
  }
  return results;
}

export interface DocumentLossOptions {
  /** [B][T], 1 = real token. Padding is neither input nor target. Default: all ones. */
  attentionMask?: TokenRows;
  /** [B][T], 1 where the token should count as a prediction target (e.g. only a continuation). Default: all. */
  targetMask?: TokenRows;
  /**
   * [B][T], the loss weight of each token as a target (>= 0; e.g. a claim row's answer letter weighs more). The
   * loss is then sum(w * NLL) / sum(w) and perRow each row's weighted mean. Default: 1 everywhere.
   */
  targetWeights?: TokenRows;
  hooks?: ReadonlyMap<number, LayerHook>;
  docIds?: HookContext['docIds'];
  rowContext?: HookContext['rowContext'];
}

export interface DocumentLoss {
  /** Mean next-token cross-entropy over all counted targets of the batch (nats per token). */
  loss: tf.Scalar;
  /** Mean cross-entropy per row ([B]; 0 for rows without targets). */
  perRow: tf.Tensor1D;
  /** Targets counted per row. */
  tokenCounts: number[];
}

/**
 * Mean next-token cross-entropy of token rows [B][T] (position t predicts token t+1). Synchronous and
 * differentiable, so it can run inside tf.grads / optimizer.minimize with hooks carrying trainable weights.
 */
export function documentLoss(model: TransformerModel, tokens: TokenRows, options: DocumentLossOptions = {}): DocumentLoss {
  const b = tokens.length;
  const t = tokens[0]?.length ?? 0;
  if (b === 0 || t < 2) throw new InvalidArgumentError('tokens: need at least one row of two or more tokens', 'tokens');
  const mask = options.attentionMask ?? tokens.map((r) => r.map(() => 1));
  const counted = tokens.map((row, r) =>
    row.slice(1).map((_, j): number => (mask[r][j] && mask[r][j + 1] && (options.targetMask?.[r][j + 1] ?? 1) ? 1 : 0)),
  );
  const tokenCounts = counted.map((w) => w.reduce((a, x) => a + x, 0));
  const tw = options.targetWeights;
  const weights = tw ? counted.map((row, r) => row.map((c, j) => c * (tw[r]?.[j + 1] ?? 1))) : counted;
  const rowWeights = tw ? weights.map((w) => w.reduce((a, x) => a + x, 0)) : tokenCounts;
  const total = rowWeights.reduce((a, x) => a + x, 0);
  if (tokenCounts.every((c) => c === 0)) throw new InvalidArgumentError('no target tokens after masking', 'attentionMask');
  if (!(total > 0)) throw new InvalidArgumentError('every target token has weight 0', 'weights');
  return tf.tidy(() => {
    const inputs = tokens.map((row) => row.slice(0, -1));
    const logits = model.forward(inputs, {
      attentionMask: mask.map((row) => row.slice(0, -1)),
      hooks: options.hooks,
      docIds: options.docIds,
      rowContext: options.rowContext,
    });
    const logp = targetLogProbs(
      logits,
      tokens.map((row) => row.slice(1)),
    );
    const w = tf.tensor2d(weights.flat(), [b, t - 1]);
    const rowSums = tf.neg(tf.sum(tf.mul(logp, w), 1)) as tf.Tensor1D;
    const loss = tf.div(tf.sum(rowSums), total) as tf.Scalar;
    const perRow = tf.div(rowSums, tf.tensor1d(rowWeights.map((c) => (c > 0 ? c : 1)))) as tf.Tensor1D;
    return { loss, perRow, tokenCounts };
  }) as DocumentLoss;
}

/** A row of token ids (at least two) and the document it belongs to (handed to hooks). */
export interface LossRow {
  ids: readonly number[];
  docId?: number | string;
}

export interface DocumentLossesOptions extends SliceOptions {
  /** Rows per forward pass (default 8); one batch is one slice. */
  batchSize?: number;
  /** Padded tokens a batch may hold (fewer rows when they are long; at least one row): bounds a slice's time. */
  sliceTokens?: number;
  hooks?: ReadonlyMap<number, LayerHook>;
}

export interface DocumentLosses {
  /** Mean next-token cross-entropy per row (nats per token). */
  rowLoss: number[];
  /** Targets counted per row (its length - 1). */
  rowTokens: number[];
  /** Token-weighted mean over all rows (nats per token). */
  loss: number;
  tokens: number;
}

/** Right-pads rows to one length with `padId` (masked out): neither input nor target. */
export function padTokenRows(rows: readonly { ids: readonly number[] }[], padId = 0): { tokens: number[][]; attentionMask: number[][] } {
  if (rows.length === 0) throw new InvalidArgumentError('rows: empty batch', 'rows');
  const t = Math.max(...rows.map((r) => r.ids.length));
  if (t < 2) throw new InvalidArgumentError('rows: need at least two tokens per row', 'rows');
  return {
    tokens: rows.map((r) => [...r.ids, ...new Array<number>(t - r.ids.length).fill(padId)]),
    attentionMask: rows.map((r) => [...r.ids.map(() => 1), ...new Array<number>(t - r.ids.length).fill(0)]),
  };
}

/**
 * The document loss of many rows, batch by batch (right-padded: results do not depend on the batch size), one
 * batch per slice: the memorization error when the rows are a corpus and the hooks a memory.
 */
export async function documentLosses(
  model: TransformerModel,
  rows: readonly LossRow[],
  options: DocumentLossesOptions = {},
): Promise<DocumentLosses> {
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError('batchSize must be a positive integer', 'batchSize');
  options.signal?.throwIfAborted();
  const rowLoss: number[] = [];
  const rowTokens: number[] = [];
  for (let s = 0; s < rows.length;) {
    if (s > 0) await betweenSlices(options);
    const size = batchWithin(rows, s, batchSize, options.sliceTokens);
    const batch = rows.slice(s, s + size);
    s += size;
    const padded = padTokenRows(batch);
    const result = documentLoss(model, padded.tokens, {
      attentionMask: padded.attentionMask,
      hooks: options.hooks,
      docIds: batch.map((r) => r.docId),
    });
    const perRow = await result.perRow.data();
    tf.dispose([result.loss, result.perRow]);
    rowLoss.push(...perRow);
    rowTokens.push(...result.tokenCounts);
  }
  const tokens = rowTokens.reduce((a, b) => a + b, 0);
  const loss = tokens > 0 ? rowLoss.reduce((a, l, i) => a + l * rowTokens[i], 0) / tokens : 0;
  return { rowLoss, rowTokens, loss, tokens };
}
