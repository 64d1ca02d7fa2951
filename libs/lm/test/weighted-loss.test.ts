import { test } from 'node:test';
import assert from 'node:assert/strict';
import { documentLoss, loadModel } from '@memorize/lm';
import { backend, storiesBin } from '@memorize/testing';

// Weighted targets (a claim row's answer letter weighs more): sum(w * NLL) / sum(w), checked against the
// per-token NLLs the unweighted loss gives one target at a time.
test('targetWeights: the loss is the weighted mean of the per-token NLLs, per row too; padding still weighs 0', async () => {
  await backend();
  const model = loadModel(storiesBin);
  try {
    const rows = [
      [1, 403, 407, 261, 378, 90, 11],
      [1, 280, 36, 95, 0, 0, 0],
    ];
    const attentionMask = [
      [1, 1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 0, 0, 0],
    ];
    const weights = [
      [0, 1, 10, 1, 0.5, 1, 3],
      [0, 2, 1, 7, 99, 99, 99],
    ];
    // NLL of each target alone (position j of row r predicts token j).
    const nll = rows.map((row, r) =>
      row.map((_, j) => {
        if (j === 0 || !attentionMask[r][j]) return 0;
        const targetMask = rows.map((x, rr) => x.map((__, jj) => (rr === r && jj === j ? 1 : 0)));
        const one = documentLoss(model, [rows[r]], { attentionMask: [attentionMask[r]], targetMask: [targetMask[r]] });
        const v = one.loss.dataSync()[0];
        one.loss.dispose();
        one.perRow.dispose();
        return v;
      }),
    );
    const weighted = documentLoss(model, rows, { attentionMask, targetWeights: weights });
    let num = 0;
    let den = 0;
    const perRow = rows.map((row, r) => {
      let n = 0;
      let d = 0;
      for (let j = 1; j < row.length; j++) {
        if (!attentionMask[r][j]) continue;
        n += weights[r][j] * nll[r][j];
        d += weights[r][j];
      }
      num += n;
      den += d;
      return n / d;
    });
    assert.ok(Math.abs(weighted.loss.dataSync()[0] - num / den) < 1e-5, `${weighted.loss.dataSync()[0]} vs ${num / den}`);
    const got = Array.from(weighted.perRow.dataSync());
    perRow.forEach((p, r) => assert.ok(Math.abs(got[r] - p) < 1e-5, `row ${r}: ${got[r]} vs ${p}`));
    // Targets are still counted as tokens, whatever they weigh.
    assert.deepEqual(weighted.tokenCounts, [6, 3]);
    // All-ones weights are the unweighted loss.
    const plain = documentLoss(model, rows, { attentionMask });
    const ones = documentLoss(model, rows, { attentionMask, targetWeights: rows.map((r) => r.map(() => 1)) });
    assert.ok(Math.abs(plain.loss.dataSync()[0] - ones.loss.dataSync()[0]) < 1e-6);
    assert.throws(() => documentLoss(model, rows, { attentionMask, targetWeights: rows.map((r) => r.map(() => 0)) }), /weight 0/);
  } finally {
    model.dispose();
  }
});
