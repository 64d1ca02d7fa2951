/**
 * Anchor text for training an unstructured memory: samples drawn from the base model itself. An always-on
 * memory changes every text it meets, so the trainer can add KL(base || base + memory) on these samples
 * (TrainerOptions.anchorWeight): the memory is pushed to stay silent on text the base model finds typical,
 * without needing any corpus outside the documents.
 */
import { generate, type TransformerModel } from '@memorize/lm';
import { InvalidArgumentError } from '@memorize/errors';
import { betweenSlices, type SliceOptions } from '@memorize/tensor';
import { deriveSeed } from './hash.js';

export interface AnchorSampleOptions {
  /** How many samples. */
  count: number;
  /** New tokens per sample (at most; a sample ends early at EOS). */
  tokens: number;
  /** Sampling seed (each sample derives its own). */
  seed: number;
  /** Sampling temperature (default 1: the model's own distribution). */
  temperature?: number;
}

/**
 * `count` rows [BOS, sampled tokens...] from the base model without any memory; rows shorter than 2 are redrawn
 * once. Each sampled token is one slice (`slices`: cancellation and the scheduler's turns).
 */
export async function sampleAnchorRows(model: TransformerModel, o: AnchorSampleOptions, slices: SliceOptions = {}): Promise<number[][]> {
  if (!Number.isInteger(o.count) || o.count < 1)
    throw new InvalidArgumentError(`anchor count must be a positive integer, got ${o.count}`, 'anchorSamples');
  if (!Number.isInteger(o.tokens) || o.tokens < 1)
    throw new InvalidArgumentError(`anchor tokens must be a positive integer, got ${o.tokens}`, 'anchorTokens');
  const bos = [model.config.bosId];
  const rows: number[][] = [];
  let started = false;
  for (let i = 0; i < o.count; i++) {
    let row: number[] = [];
    for (let attempt = 0; attempt < 2 && row.length < 2; attempt++) {
      // A pause between two samples too (each generate pauses only between its own tokens).
      if (started) await betweenSlices(slices);
      started = true;
      const r = await generate(model, bos, {
        ...slices,
        maxNewTokens: o.tokens,
        temperature: o.temperature ?? 1,
        seed: deriveSeed(o.seed, `anchor/${i}/${attempt}`),
      });
      row = [...bos, ...r.tokens];
    }
    if (row.length >= 2) rows.push(row);
  }
  if (rows.length === 0) throw new InvalidArgumentError('the base model produced no anchor sample of two or more tokens', 'anchorSamples');
  return rows;
}
