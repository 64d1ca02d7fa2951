/**
 * Losses of memorization. lmLoss: next-token cross-entropy over documents, mean over target tokens, padding
 * excluded (rows are right-padded; with causal attention the padding cannot reach real positions).
 * guidanceLoss (doc-key): L = CE(x | K_D) + w * mean_rows relu(tau - CE_row(x | K_neg)).
 */
import { documentLoss, padTokenRows, type TransformerModel } from '@memorize/lm';
import { tf } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';
import type { MaskSource } from './config.js';
import { memoryHooks, type MemoryModule } from './module.js';

export interface TrainingRow {
  /** Token ids (BOS included when the producer added it); at least two. */
  ids: readonly number[];
  /** The corpus document the row belongs to (document-wise kinds). */
  documentIndex?: number;
  /** Loss weight of each id as a target, aligned with ids (weights[0] unused); absent or empty = 1 each. */
  weights?: readonly number[];
}

export interface PaddedBatch {
  tokens: number[][];
  attentionMask: number[][];
  docIds: (number | undefined)[];
  /** [B][T] target weights, present when some row has weights (padding weighs 0). */
  targetWeights?: number[][];
}

/** Right-pads rows to equal length (pad id 0, masked out; libs/lm's padTokenRows) with each row's document. */
export function padRows(rows: readonly TrainingRow[], padId = 0): PaddedBatch {
  const padded = { ...padTokenRows(rows, padId), docIds: rows.map((r) => r.documentIndex) };
  if (!rows.some((r) => r.weights && r.weights.length > 0)) return padded;
  const t = padded.tokens[0].length;
  const targetWeights = rows.map((r) => {
    const w = r.weights && r.weights.length > 0 ? [...r.weights] : r.ids.map(() => 1);
    return [...w, ...new Array<number>(t - w.length).fill(0)];
  });
  return { ...padded, targetWeights };
}

export interface LossOptions {
  maskSource?: MaskSource;
  /** doc-key: explicit key per row (negatives). */
  rowKeys?: readonly (Float32Array | undefined)[];
}

export interface LmLoss {
  /** Mean cross-entropy over every counted target token (nats). */
  loss: tf.Scalar;
  /** Mean cross-entropy per row. */
  perRow: tf.Tensor1D;
  tokens: number;
}

/** Next-token cross-entropy of rows through the model with the memory attached (or none). Differentiable. */
export function lmLoss(model: TransformerModel, rows: readonly TrainingRow[], memory?: MemoryModule, options: LossOptions = {}): LmLoss {
  const batch = padRows(rows);
  const r = documentLoss(model, batch.tokens, {
    attentionMask: batch.attentionMask,
    hooks: memoryHooks(memory, options),
    docIds: batch.docIds,
    targetWeights: batch.targetWeights,
  });
  return { loss: r.loss, perRow: r.perRow, tokens: r.tokenCounts.reduce((a, b) => a + b, 0) };
}

export interface GuidanceLoss {
  loss: tf.Scalar;
  /** CE(x | K_D). */
  lmLoss: tf.Scalar;
  /** Mean over rows of CE_row(x | K_neg). */
  negativeLoss: tf.Scalar;
  tokens: number;
}

/** doc-key's guidance loss with negative keys given per row. */
export function guidanceLoss(
  model: TransformerModel,
  rows: readonly TrainingRow[],
  memory: MemoryModule,
  negativeKeys: readonly Float32Array[],
): GuidanceLoss {
  if (negativeKeys.length !== rows.length) throw new InvalidArgumentError('one negative key per row', 'negativeKeys');
  const { guidanceWeight: w, guidanceMargin: tau } = memory.config;
  const pos = lmLoss(model, rows, memory, { maskSource: 'oracle' });
  const neg = lmLoss(model, rows, memory, { rowKeys: negativeKeys });
  const hinge = tf.mean(tf.relu(tf.sub(tau, neg.perRow))) as tf.Scalar;
  return {
    loss: tf.add(pos.loss, tf.mul(w, hinge)) as tf.Scalar,
    lmLoss: pos.loss,
    negativeLoss: tf.mean(neg.perRow) as tf.Scalar,
    tokens: pos.tokens,
  };
}
