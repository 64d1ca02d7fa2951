import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '@memorize/errors';
import { bootstrapCI, computeMetrics, erfc, holmAdjust, mcnemar, mcnemarFromCounts, type Label, type Prediction } from '@memorize/fever';

const S: Label = 'SUPPORTS';
const R: Label = 'REFUTES';
const N: Label = 'NOT ENOUGH INFO';

test('accuracy, micro/macro F1, confusion and invalid rate on a hand-computed case', () => {
  const gold: Label[] = [S, S, R, R, N, N];
  const pred: Prediction[] = [S, R, R, undefined, N, S];
  const m = computeMetrics(gold, pred);
  assert.equal(m.accuracy, 0.5);
  assert.equal(m.invalidRate, 1 / 6);
  // per label: S p=1/2 r=1/2; R p=1/2 r=1/2; N p=1 r=1/2 -> f1 2/3
  assert.ok(Math.abs(m.perLabel[S].f1 - 0.5) < 1e-12);
  assert.ok(Math.abs(m.perLabel[N].f1 - 2 / 3) < 1e-12);
  assert.ok(Math.abs(m.f1Macro - (0.5 + 0.5 + 2 / 3) / 3) < 1e-12);
  // micro: tp 3, predicted 5 (one invalid), gold 6 -> p 0.6 r 0.5
  assert.ok(Math.abs(m.f1Micro - (2 * 0.6 * 0.5) / 1.1) < 1e-12);
  assert.deepEqual(m.confusion, [
    [1, 1, 0, 0],
    [0, 1, 0, 1],
    [1, 0, 1, 0],
  ]);
  // with no invalid answers micro F1 equals accuracy
  const m2 = computeMetrics([S, R, N, N], [S, N, N, R]);
  assert.equal(m2.f1Micro, m2.accuracy);
  assert.throws(() => computeMetrics([S], []), InvalidArgumentError);
});

test('bootstrap CI is seeded, brackets the estimate and narrows with more data', () => {
  const gold: Label[] = [];
  const pred: Prediction[] = [];
  for (let i = 0; i < 400; i++) {
    gold.push([S, R, N][i % 3]!);
    pred.push(i % 4 === 0 ? [R, N, S][i % 3]! : [S, R, N][i % 3]!);
  }
  const a = bootstrapCI(gold, pred, { seed: 1, resamples: 500 });
  const b = bootstrapCI(gold, pred, { seed: 1, resamples: 500 });
  const c = bootstrapCI(gold, pred, { seed: 2, resamples: 500 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.equal(a.estimate, 0.75);
  assert.ok(a.low < 0.75 && a.high > 0.75);
  // normal approximation: half-width about 1.96 * sqrt(.75 * .25 / 400) = 0.042
  assert.ok(a.high - a.low > 0.06 && a.high - a.low < 0.11, `${a.low} ${a.high}`);
  const small = bootstrapCI(gold.slice(0, 40), pred.slice(0, 40), { seed: 1, resamples: 500 });
  assert.ok(small.high - small.low > a.high - a.low);
  const macro = bootstrapCI(gold, pred, { seed: 1, resamples: 200, statistic: (m) => m.f1Macro });
  assert.ok(macro.low <= macro.estimate && macro.estimate <= macro.high);
});

test('McNemar: exact binomial for small counts, chi-square with continuity correction otherwise', () => {
  // exact: 2 * P(X <= 2), X ~ Bin(12, 1/2) = 2 * (1 + 12 + 66) / 4096
  const exact = mcnemarFromCounts(10, 2);
  assert.equal(exact.method, 'exact');
  assert.equal(exact.statistic, 2);
  assert.ok(Math.abs(exact.pValue - 0.03857421875) < 1e-12);
  // chi2 = (|30 - 15| - 1)^2 / 45; p = erfc(sqrt(chi2 / 2)) = 0.036888425707 (Python math.erfc)
  const chi = mcnemarFromCounts(30, 15);
  assert.equal(chi.method, 'chi2');
  assert.ok(Math.abs(chi.statistic - 196 / 45) < 1e-12);
  assert.ok(Math.abs(chi.pValue - 0.03688842570704985) < 1e-6);
  // forcing the exact test on 30 vs 15: 2 * P(X <= 15), X ~ Bin(45, 1/2)
  assert.ok(mcnemarFromCounts(30, 15, { exactBelow: 1000 }).method === 'exact');
  assert.equal(mcnemarFromCounts(0, 0).pValue, 1);
  assert.ok(Math.abs(erfc(0) - 1) < 1e-7 && Math.abs(erfc(1) - 0.157299207) < 1e-7 && Math.abs(erfc(-1) - 1.842700793) < 1e-7);

  const gold: Label[] = [S, S, R, R, N];
  const a: Prediction[] = [S, S, R, undefined, S];
  const b: Prediction[] = [S, R, N, R, N];
  const r = mcnemar(gold, a, b);
  assert.equal(r.b, 2); // A right, B wrong: items 1, 2
  assert.equal(r.c, 2); // A wrong, B right: items 3, 4
  assert.equal(r.pValue, 1);
});

test("Holm's step-down adjustment: hand-computed values, order kept, monotone, capped at 1", () => {
  // Sorted 0.01, 0.02, 0.03, 0.04 (m = 4): 0.04, 0.06, 0.06 (monotone: max(0.06, 2*0.03)), 0.06 (max(0.06, 0.04)).
  const adjusted = holmAdjust([0.03, 0.01, 0.04, 0.02]);
  const expected = [0.06, 0.04, 0.06, 0.06];
  adjusted.forEach((p, i) => assert.ok(Math.abs(p - expected[i]) < 1e-12, `${i}: ${p} vs ${expected[i]}`));
  assert.deepEqual(holmAdjust([0.5, 0.9]), [1, 1]);
  assert.deepEqual(holmAdjust([]), []);
  assert.deepEqual(holmAdjust([0.02]), [0.02]);
});
