import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { common, evaluator } from '@memorize/contracts';
import { tempDir } from '@memorize/testing';
import {
  cellKey,
  cellRunSpec,
  compareWithPretrained,
  EvalStore,
  labelFromProto,
  labelToProto,
  metricsOf,
  planCells,
  PRETRAINED_LAYER,
} from '@memorize/eval';

const { Label, JobState } = common;

const spec = evaluator.SweepSpec.fromPartial({
  evaluation: { modelPath: 'models/m', claimsPath: 'c.jsonl', pagesPath: 'p.jsonl', topN: 5 },
  variants: [
    { name: 'pretrained' },
    { name: 'memory', memory: { kind: common.MemoryKind.MEMORY_KIND_MEMORY, layer: 0, entries: 64 } },
    { name: 'simset-2 token', memory: { kind: common.MemoryKind.MEMORY_KIND_SIMSET, shingleK: 2, mode: common.MaskMode.MASK_MODE_TOKEN } },
  ],
  layers: [1, 3],
  training: { learningRate: 1e-2, maxSteps: 12 },
  evalEvery: 6,
  localityPages: 3,
});

test('cells: pretrained once, every memory variant at every layer; a cell run trains the variant at its layer', () => {
  assert.deepEqual(
    planCells(spec).map((c) => [c.variant.name, c.layer]),
    [
      ['pretrained', PRETRAINED_LAYER],
      ['memory', 1],
      ['memory', 3],
      ['simset-2 token', 1],
      ['simset-2 token', 3],
    ],
  );
  assert.equal(cellKey('simset-2 token', 3), 'simset-2-token.L3');
  assert.equal(cellKey('pretrained', PRETRAINED_LAYER), 'pretrained');
  const run = cellRunSpec(spec, spec.variants[2], 3);
  assert.equal(run.memory!.layer, 3);
  assert.equal(run.memory!.kind, common.MemoryKind.MEMORY_KIND_SIMSET);
  assert.equal(run.topN, 5);
  assert.equal(run.evalEvery, 6);
  assert.equal(run.localityPages, 3);
  assert.equal(run.training!.maxSteps, 12);
});

/** A cell whose predictions on claims 1..n are right where `right(i)` says (gold SUPPORTS throughout). */
function cell(variant: string, layer: number, n: number, right: (i: number) => boolean): evaluator.SweepCell {
  const predictions = Array.from({ length: n }, (_, i) => ({
    claimId: BigInt(i + 1),
    gold: Label.LABEL_SUPPORTS,
    predicted: right(i) ? Label.LABEL_SUPPORTS : Label.LABEL_REFUTES,
    answer: '',
    logprobs: [],
  }));
  return evaluator.SweepCell.fromPartial({ variant, layer, state: JobState.JOB_STATE_SUCCEEDED, report: { predictions } });
}

test("McNemar's exact test against the pretrained cell on the same claims, Holm-adjusted across the cells", () => {
  // Pretrained right on claims 0..9 of 20. Variant A right on 0..9 and 10..17: b = 0, c = 8 -> exact two-sided
  // p = 2 * 0.5^8 = 0.0078125. Variant B right on 2..11: b = 2 (0, 1), c = 2 (10, 11) -> p = 1 (capped).
  const cells = [cell('pretrained', -1, 20, (i) => i < 10), cell('a', 1, 20, (i) => i < 18), cell('b', 1, 20, (i) => i >= 2 && i < 12)];
  compareWithPretrained(cells);
  assert.equal(cells[0].pValueVsPretrained, 1);
  assert.ok(Math.abs(cells[1].pValueVsPretrained - 0.0078125) < 1e-12, String(cells[1].pValueVsPretrained));
  assert.equal(cells[2].pValueVsPretrained, 1);
  // Holm with m = 2: the smallest x 2, then monotone.
  assert.ok(Math.abs(cells[1].pHolm - 0.015625) < 1e-12);
  assert.equal(cells[2].pHolm, 1);
  assert.deepEqual(
    cells.map((c) => c.significant),
    [false, true, false],
  );
});

test('metrics of predictions; labels both ways', () => {
  assert.equal(labelFromProto(labelToProto('REFUTES')), 'REFUTES');
  assert.equal(labelFromProto(Label.LABEL_UNSPECIFIED), undefined);
  const m = metricsOf(['SUPPORTS', 'REFUTES', 'NOT ENOUGH INFO', 'SUPPORTS'], ['SUPPORTS', 'SUPPORTS', undefined, 'SUPPORTS'], 0);
  assert.equal(m.count, 4);
  assert.equal(m.accuracy, 0.5);
  assert.equal(m.invalidRate, 0.25);
  // gold rows (S, R, N) x predicted (S, R, N, invalid)
  assert.deepEqual(m.confusion, [2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(
    m.perLabel.map((l) => [l.label, l.precision, l.recall, l.support]),
    [
      [Label.LABEL_SUPPORTS, 2 / 3, 1, 2],
      [Label.LABEL_REFUTES, 0, 0, 1],
      [Label.LABEL_NOT_ENOUGH_INFO, 0, 0, 1],
    ],
  );
});

test('the store keeps evaluations and sweeps across reopening; unfinished ones are listed for resuming', () => {
  const dir = tempDir();
  try {
    let store = new EvalStore(dir);
    store.createSweep('s', spec, [
      { variant: 'pretrained', layer: -1 },
      { variant: 'memory', layer: 1 },
    ]);
    store.createEvaluation('s.pretrained', spec.evaluation!);
    store.setCell('s', 0, { state: JobState.JOB_STATE_SUCCEEDED, evaluationId: 's.pretrained' });
    const report = evaluator.EvaluationReport.fromPartial({ name: 'pretrained', predictions: cell('p', -1, 3, () => true).report!.predictions });
    store.setEvaluation('s.pretrained', { state: JobState.JOB_STATE_SUCCEEDED, report });
    store.createEvaluation('lone', spec.evaluation!);
    store.close();
    store = new EvalStore(dir);
    assert.deepEqual(store.unfinishedSweeps(), ['s']);
    // Evaluations of sweep cells are the sweep's to resume.
    assert.deepEqual(store.unfinishedEvaluations(), ['lone']);
    const sweep = store.sweep('s');
    assert.equal(sweep.cells.length, 2);
    assert.equal(sweep.cells[0].report!.predictions.length, 3);
    assert.equal(store.sweep('s', false).cells[0].report!.predictions.length, 0);
    assert.equal(sweep.progress!.done, 1n);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
