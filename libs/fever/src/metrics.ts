/** Classification metrics over the three FEVER labels, with invalid answers as their own outcome. */
import { InvalidArgumentError } from '@memorize/errors';
import { LABELS, type Label } from './claims.js';
import { mulberry32 } from './prng.js';

/** A model's prediction: a label, or undefined when the answer could not be parsed. */
export type Prediction = Label | undefined;

export interface LabelScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface Metrics {
  n: number;
  accuracy: number;
  f1Micro: number;
  f1Macro: number;
  invalidRate: number;
  perLabel: Record<Label, LabelScores>;
  /**
   * confusion[gold][predicted]: rows in LABELS order, columns LABELS order plus a last column for invalid
   * answers.
   */
  confusion: number[][];
}

function checkLengths(gold: readonly Label[], predicted: readonly Prediction[], field = 'predicted'): void {
  if (gold.length !== predicted.length) {
    throw new InvalidArgumentError(`gold has ${gold.length} labels but ${field} has ${predicted.length}`, field);
  }
}

const f1 = (p: number, r: number): number => (p + r === 0 ? 0 : (2 * p * r) / (p + r));
const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/**
 * Accuracy, micro/macro F1 over the three labels (sklearn semantics with zero_division = 0; an invalid
 * answer is a false negative for the gold label and a false positive for no label), confusion matrix,
 * invalid-answer rate.
 */
export function computeMetrics(gold: readonly Label[], predicted: readonly Prediction[]): Metrics {
  checkLengths(gold, predicted);
  const idx = (l: Label): number => LABELS.indexOf(l);
  const confusion = LABELS.map(() => new Array<number>(LABELS.length + 1).fill(0));
  let correct = 0;
  let invalid = 0;
  for (let i = 0; i < gold.length; i++) {
    const g = gold[i]!;
    const p = predicted[i];
    if (p === undefined) invalid++;
    if (p === g) correct++;
    confusion[idx(g)]![p === undefined ? LABELS.length : idx(p)]!++;
  }
  const perLabel = {} as Record<Label, LabelScores>;
  let tpAll = 0;
  let predictedAll = 0;
  for (const label of LABELS) {
    const j = idx(label);
    const tp = confusion[j]![j]!;
    const predictedAs = confusion.reduce((s, row) => s + row[j]!, 0);
    const support = confusion[j]!.reduce((s, v) => s + v, 0);
    const precision = ratio(tp, predictedAs);
    const recall = ratio(tp, support);
    perLabel[label] = { precision, recall, f1: f1(precision, recall), support };
    tpAll += tp;
    predictedAll += predictedAs;
  }
  const microP = ratio(tpAll, predictedAll);
  const microR = ratio(tpAll, gold.length);
  return {
    n: gold.length,
    accuracy: ratio(correct, gold.length),
    f1Micro: f1(microP, microR),
    f1Macro: LABELS.reduce((s, l) => s + perLabel[l].f1, 0) / LABELS.length,
    invalidRate: ratio(invalid, gold.length),
    perLabel,
    confusion,
  };
}

export interface ConfidenceInterval {
  estimate: number;
  low: number;
  high: number;
  level: number;
  resamples: number;
}

export interface BootstrapOptions {
  seed?: number;
  resamples?: number;
  /** Confidence level, default 0.95. */
  level?: number;
  /** The statistic to resample, default accuracy. */
  statistic?: (m: Metrics) => number;
}

/** Percentile bootstrap CI of a metric (default accuracy), seeded so it is reproducible. */
export function bootstrapCI(gold: readonly Label[], predicted: readonly Prediction[], options: BootstrapOptions = {}): ConfidenceInterval {
  checkLengths(gold, predicted);
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  const statistic = options.statistic ?? ((m: Metrics) => m.accuracy);
  if (!Number.isInteger(resamples) || resamples < 1) throw new InvalidArgumentError('resamples must be a positive integer', 'resamples');
  if (!(level > 0 && level < 1)) throw new InvalidArgumentError('level must be in (0, 1)', 'level');
  const n = gold.length;
  const estimate = statistic(computeMetrics(gold, predicted));
  if (n === 0) return { estimate, low: estimate, high: estimate, level, resamples };
  const random = mulberry32(options.seed ?? 0);
  const values: number[] = [];
  const g: Label[] = new Array(n);
  const p: Prediction[] = new Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) {
      const k = Math.floor(random() * n);
      g[i] = gold[k]!;
      p[i] = predicted[k];
    }
    values.push(statistic(computeMetrics(g, p)));
  }
  values.sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return { estimate, low: quantile(values, alpha), high: quantile(values, 1 - alpha), level, resamples };
}

/** Linear-interpolated quantile of sorted values (numpy's default). */
function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface McNemarResult {
  /** Items variant A got right and B wrong. */
  b: number;
  /** Items variant A got wrong and B right. */
  c: number;
  method: 'exact' | 'chi2';
  /** exact: min(b, c); chi2: (|b - c| - 1)^2 / (b + c). */
  statistic: number;
  pValue: number;
}

/**
 * Paired McNemar test between two variants' predictions on the same items. Uses the exact two-sided
 * binomial test when b + c < exactBelow (default 25), else chi-square with continuity correction.
 */
export function mcnemar(
  gold: readonly Label[],
  predictedA: readonly Prediction[],
  predictedB: readonly Prediction[],
  options: { exactBelow?: number } = {},
): McNemarResult {
  checkLengths(gold, predictedA, 'predictedA');
  checkLengths(gold, predictedB, 'predictedB');
  let b = 0;
  let c = 0;
  for (let i = 0; i < gold.length; i++) {
    const aRight = predictedA[i] === gold[i];
    const bRight = predictedB[i] === gold[i];
    if (aRight && !bRight) b++;
    else if (!aRight && bRight) c++;
  }
  return mcnemarFromCounts(b, c, options);
}

export function mcnemarFromCounts(b: number, c: number, options: { exactBelow?: number } = {}): McNemarResult {
  const n = b + c;
  if (n < (options.exactBelow ?? 25)) {
    const k = Math.min(b, c);
    // Two-sided exact binomial test with p = 0.5: 2 * P(X <= k), capped at 1.
    let tail = 0;
    for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
    return { b, c, method: 'exact', statistic: k, pValue: Math.min(1, 2 * tail) };
  }
  const statistic = (Math.abs(b - c) - 1) ** 2 / n;
  return { b, c, method: 'chi2', statistic, pValue: chiSquare1Survival(statistic) };
}

function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}

/** P(X > x) for chi-square with 1 degree of freedom = erfc(sqrt(x / 2)). */
export function chiSquare1Survival(x: number): number {
  if (x <= 0) return 1;
  return erfc(Math.sqrt(x / 2));
}

/** Complementary error function (Numerical Recipes erfcc, fractional error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/**
 * Holm's step-down adjusted p-values (the same order as given): sorted ascending, the i-th (0-based) of m is
 * multiplied by (m - i), made monotone non-decreasing, capped at 1. A family-wise error rate of alpha is kept by
 * rejecting every hypothesis whose adjusted p-value is below alpha.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}
