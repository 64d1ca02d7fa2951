import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatP, holmAdjust, significanceSentence, type Comparison } from '@memorize/report';

const close = (actual: readonly number[], expected: readonly number[]): void => {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) < 1e-12, `index ${i}: ${a} vs ${expected[i]}`));
};

test("Holm's step-down adjusted p-values match hand-computed values, in the order given", () => {
  // Sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> monotone 0.06).
  close(holmAdjust([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02]);
  // Capped at 1: 0.7 x 2 = 1.4 -> 1, then max(1, 0.8) = 1.
  close(holmAdjust([0.8, 0.7]), [1, 1]);
  // Monotonicity carries a larger earlier value forward: 0.3 x 2 = 0.6, 0.4 x 1 = 0.4 -> 0.6.
  close(holmAdjust([0.4, 0.3]), [0.6, 0.6]);
  // Ties: both get 2 x 0.02 = 0.04 (the second max(0.04, 0.02)).
  close(holmAdjust([0.02, 0.02]), [0.04, 0.04]);
  // Five p-values, sorted: 0.001 x 5, 0.012 x 4, 0.02 x 3, 0.04 x 2, 0.5 x 1 (already monotone).
  close(holmAdjust([0.001, 0.02, 0.04, 0.012, 0.5]), [0.005, 0.06, 0.08, 0.048, 0.5]);
  close(holmAdjust([0.2]), [0.2]);
  assert.deepEqual(holmAdjust([]), []);
});

const cell = (variant: string, layer: number, pValue: number, pHolm: number, accuracy?: number): Comparison => ({
  variant,
  layer,
  pValue,
  pHolm,
  accuracy,
  pretrainedAccuracy: accuracy === undefined ? undefined : 0.4,
});

test('the significance sentence names the significant cells and the others, with their p-values', () => {
  const text = significanceSentence([
    cell('memory', 1, 0.0001, 0.0004, 0.8),
    cell('memory', 2, 0.3, 0.6, 0.45),
    cell('simset-2 token', 1, 0.01, 0.03, 0.25),
    cell('simset-2 token', 2, 0.5, 0.6, 0.4),
  ]);
  assert.equal(
    text,
    "Compared with the pretrained cell on the same claims (McNemar's test, Holm's correction across the 4 comparisons, significance level 0.05), " +
      '2 of 4 variant cells differ significantly: memory L1 (accuracy 0.800 vs 0.400, higher; p = 1.0e-4, Holm-adjusted p = 4.0e-4) and ' +
      'simset-2 token L1 (accuracy 0.250 vs 0.400, lower; p = 0.010, Holm-adjusted p = 0.030). ' +
      'The other 2 do not: memory L2 (accuracy 0.450 vs 0.400; p = 0.300, Holm-adjusted p = 0.600) and simset-2 token L2 (accuracy 0.400 vs 0.400; p = 0.500, Holm-adjusted p = 0.600).',
  );
});

test('the significance sentence for none, all, one comparison, none at all, another alpha and test name', () => {
  assert.match(
    significanceSentence([cell('memory', 1, 0.2, 0.4), cell('dlp', 1, 0.3, 0.4)]),
    /none of the 2 variant cells differs significantly: memory L1 \(p = 0.200/,
  );
  assert.match(
    significanceSentence([cell('memory', 1, 0.001, 0.002), cell('dlp', 1, 0.01, 0.01)]),
    /all 2 variant cells differ significantly: memory L1 .* and dlp L1/,
  );
  assert.match(
    significanceSentence([cell('memory', 3, 0.01, 0.01)]),
    /across the 1 comparison, .*\), the variant cell differs significantly: memory L3/,
  );
  assert.match(significanceSentence([cell('memory', 3, 0.2, 0.2)]), /the variant cell does not differ significantly: memory L3/);
  assert.match(significanceSentence([]), /No variant cell has been compared/);
  // At alpha 0.01 a Holm p of 0.03 is not significant; exactly alpha is not below it.
  const strict = significanceSentence([cell('memory', 1, 0.01, 0.03), cell('dlp', 1, 0.001, 0.01)], { alpha: 0.01, test: "McNemar's exact test" });
  assert.match(strict, /^Compared with the pretrained cell on the same claims \(McNemar's exact test, .* significance level 0\.01\), none of the 2/);
  assert.equal(formatP(0.04999), '0.050');
  assert.equal(formatP(0.00012), '1.2e-4');
  assert.equal(formatP(1), '1.000');
});
