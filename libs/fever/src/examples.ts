/** Choosing few-shot examples for a test claim and building its prompt. */
import { InvalidArgumentError } from '@memorize/errors';
import { LABELS, type Label } from './claims.js';
import type { Corpus, CorpusClaim, CorpusPage } from './pipeline.js';
import { derivedRandom, shuffled } from './prng.js';
import { buildPrompt } from './prompt.js';

/**
 * k examples for one test claim from its page's pool plus the global fill, never the claim itself. The order
 * is seeded by (seed, page, claim id); when k >= 3 the first three cover every label.
 */
export function selectExamples(page: CorpusPage, k: number, options: { seed?: number; claimId?: number } = {}): CorpusClaim[] {
  if (!Number.isInteger(k) || k < 0) throw new InvalidArgumentError(`k must be a non-negative integer (got ${k})`, 'k');
  // A pool claim never serves as its own example.
  const candidates = [...page.pool, ...page.fill].filter((c) => c.id !== options.claimId);
  if (k > candidates.length) {
    throw new InvalidArgumentError(`k = ${k} but page ${page.id} has only ${candidates.length} pool claims`, 'k');
  }
  const order = shuffled(candidates, derivedRandom(options.seed ?? 0, 'shots', page.id, options.claimId ?? -1));
  if (k < LABELS.length) return order.slice(0, k);
  const chosen: CorpusClaim[] = [];
  const seen = new Set<Label>();
  for (const c of order) {
    if (seen.has(c.label)) continue;
    seen.add(c.label);
    chosen.push(c);
  }
  for (const c of order) if (chosen.length < k && !chosen.includes(c)) chosen.push(c);
  return chosen.slice(0, k);
}

export interface ClaimPrompt {
  claimId: number;
  page: string;
  label: Label;
  claim: string;
  prompt: string;
  exampleIds: number[];
}

/**
 * The k-shot prompt of one claim of `page` (an evaluation claim, or a pool claim, which never serves as its own
 * example): its examples chosen by selectExamples with the corpus seed, and buildPrompt. What DataService streams as
 * an evaluation item.
 */
export function claimPrompt(page: CorpusPage, claim: CorpusClaim, k: number, options: { seed?: number } = {}): ClaimPrompt {
  const examples = selectExamples(page, k, { seed: options.seed, claimId: claim.id });
  return {
    claimId: claim.id,
    page: page.id,
    label: claim.label,
    claim: claim.claim,
    prompt: buildPrompt(examples, claim.claim),
    exampleIds: examples.map((e) => e.id),
  };
}

/** k-shot prompts for every evaluation claim of the corpus, in page-rank order. */
export function buildEvalPrompts(corpus: Pick<Corpus, 'pages'>, k: number, options: { seed?: number } = {}): ClaimPrompt[] {
  return corpus.pages.flatMap((page) => page.eval.map((c) => claimPrompt(page, c, k, options)));
}
