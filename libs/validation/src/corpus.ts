/**
 * Corpus settings that only the data decide: whether a pool size leaves anything to evaluate. The data service
 * calls it once it has read the claims (the page sizes), before it keeps the corpus.
 */
import { InvalidArgumentError } from '@memorize/errors';
import { MAX_POOL_PER_PAGE } from './limits.js';

export interface EvaluationSetOptions {
  /** Fewest evaluation claims acceptable; default 1. */
  minEvaluationClaims?: number;
  /** Field named in the error; default pool_per_page. */
  field?: string;
}

/**
 * Throws InvalidArgumentError naming pool_per_page when holding `poolPerPage` claims of every kept page in the
 * few-shot pools (a page's pool is min(pool_per_page, its claims)) leaves fewer than `minEvaluationClaims` to
 * evaluate. Returns the evaluation set size.
 */
export function checkEvaluationSet(claimsPerPage: readonly number[], poolPerPage: number, options: EvaluationSetOptions = {}): number {
  const field = options.field ?? 'pool_per_page';
  const min = options.minEvaluationClaims ?? 1;
  if (!Number.isInteger(poolPerPage) || poolPerPage < 1 || poolPerPage > MAX_POOL_PER_PAGE)
    throw new InvalidArgumentError(`${field} must be an integer in 1..${MAX_POOL_PER_PAGE}, got ${poolPerPage}`, field);
  const evaluation = claimsPerPage.reduce((a, n) => a + Math.max(0, n - poolPerPage), 0);
  if (evaluation < min) {
    const most = claimsPerPage.reduce((a, n) => Math.max(a, n), 0);
    throw new InvalidArgumentError(
      `${field} = ${poolPerPage} leaves ${evaluation} claims to evaluate (at least ${min} needed): the ${claimsPerPage.length} kept pages ` +
        `hold at most ${most} claims each${most > 1 ? `, so ${field} must be below ${most}` : ''}`,
      field,
    );
  }
  return evaluation;
}
