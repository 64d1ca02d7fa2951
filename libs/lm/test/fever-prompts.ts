/**
 * FEVER 1-shot prompts for the scoring tests, in libs/fever's reference template (header, one example claim with
 * its answer, the test claim, "A:"), tokenized BOS first, with the three answer candidates " (a)", " (b)", " (c)"
 * tokenized as prompt + option with the prompt's tokens stripped (as the evaluator does).
 */
import { readFileSync } from 'node:fs';
import { feverFiles } from '@memorize/testing';
import type { ScoreRequest, Tokenizer } from '@memorize/lm';

const HEADER = 'Determine the factuality of the following claims\nAnswer candidates: (a) supports, (b) refutes, (c) not enough info';
const LETTER: Record<string, string> = { SUPPORTS: 'a', REFUTES: 'b', 'NOT ENOUGH INFO': 'c' };

export interface FeverPrompt {
  claimId: number;
  context: number[];
  /** The three candidates' continuation tokens. */
  options: number[][];
}

/** `n` prompts: claim i of paper_test.jsonl, claim i+1 as its shot (claims whose ids differ). */
export function feverPrompts(tokenizer: Tokenizer, n: number, offset = 0): FeverPrompt[] {
  const lines = readFileSync(feverFiles.claims, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(offset, offset + n + 1)
    .map((l) => JSON.parse(l) as { id: number; claim: string; label: string });
  const out: FeverPrompt[] = [];
  for (let i = 0; i < n; i++) {
    const test = lines[i];
    const shot = lines[i + 1];
    const text = [HEADER, `Claim: ${shot.claim}`, `A: (${LETTER[shot.label]})`, `Claim: ${test.claim}`, 'A:'].join('\n');
    const context = tokenizer.encode(text, { bos: true });
    const options = [' (a)', ' (b)', ' (c)'].map((o) => {
      const all = tokenizer.encode(text + o, { bos: true });
      let k = 0;
      while (k < context.length && all[k] === context[k]) k++;
      return all.slice(k);
    });
    out.push({ claimId: test.id, context, options });
  }
  return out;
}

/** Three requests per prompt, in prompt order. */
export const requestsOf = (prompts: readonly FeverPrompt[]): ScoreRequest[] =>
  prompts.flatMap((p) => p.options.map((continuation) => ({ context: p.context, continuation })));
