/** Which variant cells differ from the pretrained cell, in words. */
import type { evaluator } from '@memorize/contracts';
import { cellFigures } from './cells.js';
import { cellLabel } from './labels.js';

/** One variant cell's comparison with the pretrained cell on the same claims. */
export interface Comparison {
  variant: string;
  layer: number;
  /** The test's raw p-value. */
  pValue: number;
  /** The p-value after Holm's correction across all the comparisons. */
  pHolm: number;
  /** The variant cell's accuracy (to say which way it differs). */
  accuracy?: number;
  /** The pretrained cell's accuracy. */
  pretrainedAccuracy?: number;
}

export interface SignificanceOptions {
  /** Family-wise significance level; default 0.05. */
  alpha?: number;
  /** The test's name in the sentence; default "McNemar's test". */
  test?: string;
}

/** A p-value for prose and tables: three decimals, or two significant digits below 0.001. */
export function formatP(p: number): string {
  if (!Number.isFinite(p)) return String(p);
  if (p === 0) return '0';
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}

const fmtAcc = (x: number): string => x.toFixed(3);

function listInWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  if (items.length === 2) return `${items[0]} and ${items[1]}`;
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function describe(c: Comparison, significant: boolean): string {
  const name = cellLabel(c.variant, c.layer);
  const p = `p = ${formatP(c.pValue)}, Holm-adjusted p = ${formatP(c.pHolm)}`;
  if (c.accuracy === undefined || c.pretrainedAccuracy === undefined) return `${name} (${p})`;
  const way = c.accuracy > c.pretrainedAccuracy ? 'higher' : c.accuracy < c.pretrainedAccuracy ? 'lower' : 'equal';
  const accuracy = `accuracy ${fmtAcc(c.accuracy)} vs ${fmtAcc(c.pretrainedAccuracy)}`;
  return significant ? `${name} (${accuracy}, ${way}; ${p})` : `${name} (${accuracy}; ${p})`;
}

/**
 * A paragraph saying which variant cells differ significantly from the pretrained cell at alpha (default 0.05)
 * after Holm's correction: a cell is significant when its Holm-adjusted p-value is below alpha. Names every
 * cell with its raw and adjusted p-values (and its accuracy against the pretrained one when given), the
 * significant ones first, in the order given.
 */
export function significanceSentence(comparisons: readonly Comparison[], options: SignificanceOptions = {}): string {
  const alpha = options.alpha ?? 0.05;
  const test = options.test ?? "McNemar's test";
  const m = comparisons.length;
  if (m === 0) return 'No variant cell has been compared with the pretrained cell, so no difference can be significant.';
  const significant = comparisons.filter((c) => c.pHolm < alpha);
  const others = comparisons.filter((c) => !(c.pHolm < alpha));
  const plural = m === 1 ? 'comparison' : 'comparisons';
  const lead = `Compared with the pretrained cell on the same claims (${test}, Holm's correction across the ${m} ${plural}, significance level ${alpha})`;
  const cells = (n: number): string => (n === 1 ? 'variant cell' : 'variant cells');
  if (significant.length === 0) {
    const which = m === 1 ? 'the variant cell does not differ significantly' : `none of the ${m} variant cells differs significantly`;
    return `${lead}, ${which}: ${listInWords(others.map((c) => describe(c, false)))}.`;
  }
  const verb = significant.length === 1 ? 'differs' : 'differ';
  const head =
    significant.length === m
      ? `${lead}, ${m === 1 ? 'the variant cell differs' : `all ${m} variant cells differ`} significantly`
      : `${lead}, ${significant.length} of ${m} ${cells(m)} ${verb} significantly`;
  const sentence = `${head}: ${listInWords(significant.map((c) => describe(c, true)))}.`;
  if (others.length === 0) return sentence;
  const rest = others.length === 1 ? 'The other does not' : `The other ${others.length} do not`;
  return `${sentence} ${rest}: ${listInWords(others.map((c) => describe(c, false)))}.`;
}

/** The comparisons of a sweep: every finished variant cell against the finished pretrained cell. */
export function sweepComparisons(sweep: evaluator.Sweep): Comparison[] {
  const figures = cellFigures(sweep);
  const pretrained = figures.find((f) => f.pretrained && f.done);
  if (!pretrained) return [];
  return figures
    .filter((f) => !f.pretrained && f.done)
    .map((f) => ({
      variant: f.cell.variant,
      layer: f.cell.layer,
      pValue: f.cell.pValueVsPretrained,
      pHolm: f.cell.pHolm,
      accuracy: f.row.accuracy ?? undefined,
      pretrainedAccuracy: pretrained.row.accuracy ?? undefined,
    }));
}

/** The significance paragraph of a sweep (significanceSentence over sweepComparisons). */
export function sweepSignificance(sweep: evaluator.Sweep, options: SignificanceOptions = {}): string {
  if (!cellFigures(sweep).some((f) => f.pretrained && f.done)) {
    return 'The sweep has no finished pretrained cell, so no variant cell has been compared with it.';
  }
  return significanceSentence(sweepComparisons(sweep), options);
}
