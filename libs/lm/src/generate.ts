/**
 * Incremental decoding with a KV cache: the prompt is run once, then each new token costs one position.
 */
import { betweenSlices, tf, type SliceOptions } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';
import type { HookContext, LayerHook, TransformerModel } from './model.js';
import { Sampler, type SamplerOptions } from './sampling.js';

/** The prompt is one slice and each further token one: `signal` is checked and `nextSlice` awaited between them. */
export interface GenerateOptions extends Partial<SamplerOptions>, SliceOptions {
  /** Upper bound on generated tokens (the stop token is not counted or returned). */
  maxNewTokens: number;
  /** Generation ends when one of these is sampled. Default: the model's EOS. */
  stopTokens?: readonly number[];
  hooks?: ReadonlyMap<number, LayerHook>;
  docIds?: HookContext['docIds'];
  /** Handed to hooks; default the prompt, so a mask taken from the prompt stays fixed while generating. */
  rowContext?: HookContext['rowContext'];
  /**
   * Called with each generated token as soon as it is chosen (streaming). When it returns a promise the next
   * step waits for it (backpressure); throwing or rejecting stops generation.
   */
  onToken?: (id: number, previous: number) => void | Promise<void>;
}

export interface GenerateResult {
  /** Generated tokens, prompt and stop token excluded. */
  tokens: number[];
  stopReason: 'stop_token' | 'max_new_tokens' | 'max_seq_len';
  /** The seed the sampler used (for reproducing a run that defaulted to the clock). */
  seed: number | bigint;
}

async function lastLogits(t: tf.Tensor): Promise<Float32Array> {
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

export async function generate(model: TransformerModel, prompt: readonly number[], options: GenerateOptions): Promise<GenerateResult> {
  if (prompt.length === 0) throw new InvalidArgumentError('prompt must hold at least one token (e.g. BOS)', 'prompt');
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 0) {
    throw new InvalidArgumentError('maxNewTokens must be a non-negative integer', 'maxNewTokens');
  }
  options.signal?.throwIfAborted();
  const sampler = new Sampler({ temperature: options.temperature ?? 0, topP: options.topP ?? 1, seed: options.seed });
  const stop = new Set(options.stopTokens ?? [model.config.eosId]);
  const maxSeq = model.config.maxSeqLen;
  if (prompt.length > maxSeq) throw new InvalidArgumentError(`prompt of ${prompt.length} tokens exceeds the model's ${maxSeq}`, 'prompt');
  const cache = model.newCache();
  const fwd = { cache, lastOnly: true, hooks: options.hooks, docIds: options.docIds, rowContext: options.rowContext ?? [prompt] };
  const tokens: number[] = [];
  try {
    if (options.maxNewTokens === 0) return { tokens, stopReason: 'max_new_tokens', seed: sampler.seed };
    let logits = await lastLogits(model.forward([prompt], fwd));
    let previous = prompt[prompt.length - 1];
    for (;;) {
      const next = sampler.sample(logits);
      if (stop.has(next)) return { tokens, stopReason: 'stop_token', seed: sampler.seed };
      tokens.push(next);
      await options.onToken?.(next, previous);
      // Once per token, so a server stays responsive and streamed tokens reach the client as they are made.
      await betweenSlices(options);
      previous = next;
      if (tokens.length >= options.maxNewTokens) return { tokens, stopReason: 'max_new_tokens', seed: sampler.seed };
      if (cache.length >= maxSeq) return { tokens, stopReason: 'max_seq_len', seed: sampler.seed };
      logits = await lastLogits(model.forward([[next]], fwd));
    }
  } finally {
    cache.dispose();
  }
}
