/**
 * Claims as training rows: the reference k-shot prompt of a claim followed by its gold answer " (x)", with the
 * answer letter's loss weighted, so a model pretrained (or fine-tuned) on them learns the task. Every epoch draws
 * its rows anew from the seed and the epoch: which claims (whole shuffled passes, so every claim comes up before
 * any repeats) and each row's examples (other claims), as the feasibility runs of the demo's base model did.
 */
import { FailedPreconditionError, InvalidArgumentError } from '@memorize/errors';
import type { Label } from './claims.js';
import { derivedRandom, randomIndex, shuffled } from './prng.js';
import { LABEL_TO_LETTER, buildPrompt, type PromptExample } from './prompt.js';
import type { TextTokenizer } from './tokens.js';

export interface ClaimRowOptions {
  /** Rows per epoch; 0 = every claim once. */
  perEpoch: number;
  /** Loss weight of the answer letter; every other token weighs 1. */
  answerWeight: number;
  /** Examples in each row's prompt. */
  shots: number;
}

export interface ClaimRow {
  /** BOS, the prompt, " (", the gold letter, ")". */
  ids: number[];
  /** Loss weight of each id as a target (weights[0] unused): 1, the answer letter answerWeight. */
  weights: number[];
  /** Index of the answer letter in ids. */
  answerAt: number;
}

export interface RowClaim {
  claim: string;
  label: Label;
}

/** The claim indices of an epoch: shuffled passes over every claim, cut at perEpoch (0 = one pass). */
export function claimRowOrder(count: number, perEpoch: number, seed: number, epoch: number): number[] {
  const wanted = perEpoch > 0 ? perEpoch : count;
  const all = Array.from({ length: count }, (_, i) => i);
  const order: number[] = [];
  for (let pass = 0; order.length < wanted; pass++) order.push(...shuffled(all, derivedRandom(seed, 'claim-rows', epoch, pass)));
  return order.slice(0, wanted);
}

/** The row of one claim with its examples: BOS + prompt + " (" + letter + ")", the letter weighted. */
export function claimRow(claim: RowClaim, examples: readonly PromptExample[], tokenizer: TextTokenizer, answerWeight: number): ClaimRow {
  const prefix = `${buildPrompt(examples, claim.claim)} (`;
  const head = tokenizer.encode(prefix, { bos: true });
  const ids = tokenizer.encode(`${prefix}${LABEL_TO_LETTER[claim.label]})`, { bos: true });
  // The letter must be a token of its own after the prompt's tokens, or its weight has no place.
  if (ids.length < head.length + 1 || head.some((id, i) => ids[i] !== id)) {
    throw new FailedPreconditionError(
      "claim_rows: the tokenizer merges an answer letter with the text before it, so the letter's token cannot be weighted",
      'claim_rows',
    );
  }
  const weights = ids.map(() => 1);
  weights[head.length] = answerWeight;
  return { ids, weights, answerAt: head.length };
}

/** The claim rows of one epoch, in draw order (the caller shuffles them in with the page chunks). */
export function claimRowsForEpoch(
  claims: readonly RowClaim[],
  tokenizer: TextTokenizer,
  options: ClaimRowOptions,
  seed: number,
  epoch: number,
): ClaimRow[] {
  if (claims.length < options.shots + 1) {
    throw new InvalidArgumentError(
      `claim_rows: ${claims.length} claims cannot give ${options.shots}-shot rows (a row's examples are other claims)`,
      'claim_rows',
    );
  }
  const random = derivedRandom(seed, 'claim-row-examples', epoch);
  return claimRowOrder(claims.length, options.perEpoch, seed, epoch).map((index) => {
    const chosen = new Set<number>([index]);
    const examples: PromptExample[] = [];
    while (examples.length < options.shots) {
      const e = randomIndex(random, claims.length);
      if (chosen.has(e)) continue;
      chosen.add(e);
      examples.push({ claim: claims[e].claim, label: claims[e].label });
    }
    return claimRow(claims[index], examples, tokenizer, options.answerWeight);
  });
}
