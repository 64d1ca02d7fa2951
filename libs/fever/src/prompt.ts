/** The reference k-shot prompt and answer parsing. */
import type { Label } from './claims.js';
import { InvalidArgumentError } from '@memorize/errors';

export const PROMPT_HEADER = 'Determine the factuality of the following claims\nAnswer candidates: (a) supports, (b) refutes, (c) not enough info';

export type AnswerLetter = 'a' | 'b' | 'c';

export const LABEL_TO_LETTER: Readonly<Record<Label, AnswerLetter>> = {
  SUPPORTS: 'a',
  REFUTES: 'b',
  'NOT ENOUGH INFO': 'c',
};

export const LETTER_TO_LABEL: Readonly<Record<AnswerLetter, Label>> = {
  a: 'SUPPORTS',
  b: 'REFUTES',
  c: 'NOT ENOUGH INFO',
};

export interface PromptExample {
  claim: string;
  label: Label;
}

/**
 * Builds the reference prompt:
 *   Determine the factuality of the following claims
 *   Answer candidates: (a) supports, (b) refutes, (c) not enough info
 *   Claim: <example claim>
 *   A: (a)
 *   Claim: <test claim>
 *   A:
 */
export function buildPrompt(examples: readonly PromptExample[], testClaim: string): string {
  if (typeof testClaim !== 'string' || testClaim.trim() === '') {
    throw new InvalidArgumentError('test claim must be a non-empty string', 'claim');
  }
  const parts = [PROMPT_HEADER];
  for (const ex of examples) parts.push(`Claim: ${ex.claim}`, `A: (${LABEL_TO_LETTER[ex.label]})`);
  parts.push(`Claim: ${testClaim}`, 'A:');
  return parts.join('\n');
}

/**
 * Parses a generated answer: the first answer letter in the text, written "(a)" or as a standalone "a"
 * (so the "a" inside a word like "answer" does not count). Returns undefined for an invalid answer.
 */
export function parseAnswer(generated: string): Label | undefined {
  const m = /\(([abc])\)|(?<![\p{L}\p{N}])([abc])(?![\p{L}\p{N}])/u.exec(generated);
  if (!m) return undefined;
  return LETTER_TO_LABEL[(m[1] ?? m[2]) as AnswerLetter];
}
