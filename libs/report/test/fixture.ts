// A sweep built from hand-made predictions: 60 claims, 2 layers × {pretrained, memory, simset-2 token} (and,
// with `full`, the full fine-tuning control: one cell without a layer after pretrained), every cell's metrics, CIs
// and McNemar p-values computed with libs/fever so the fixture is consistent with itself.
import { common, evaluator, trainer } from '@memorize/contracts';
import { bootstrapCI, computeMetrics, LABELS, mcnemar, mulberry32, type Label, type Prediction } from '@memorize/fever';
import { holmAdjust } from '@memorize/report';

export const CLAIMS = 60;
export const LAYERS = [1, 2] as const;

const toLabel: Record<Label, common.Label> = {
  SUPPORTS: common.Label.LABEL_SUPPORTS,
  REFUTES: common.Label.LABEL_REFUTES,
  'NOT ENOUGH INFO': common.Label.LABEL_NOT_ENOUGH_INFO,
};

export interface FixtureCell {
  variant: string;
  layer: number;
  predicted: Prediction[];
  measures: { step: number; memorizationError: number; locality: number }[];
}

export interface Fixture {
  sweep: evaluator.Sweep;
  gold: Label[];
  cells: FixtureCell[];
  /** The same metrics the report should show, per cell in fixture order. */
  expected: {
    variant: string;
    layer: number;
    metrics: ReturnType<typeof computeMetrics>;
    ciLow: number;
    ciHigh: number;
    pValue: number;
    pHolm: number;
  }[];
}

/** Predictions right with probability `rate` (wrong ones another label, or invalid when `invalid` says so). */
function predict(gold: readonly Label[], rate: number, seed: number, invalid = 0): Prediction[] {
  const random = mulberry32(seed);
  return gold.map((g) => {
    const r = random();
    if (r < rate) return g;
    if (r < rate + invalid) return undefined;
    const others = LABELS.filter((l) => l !== g);
    return others[Math.floor(random() * others.length)]!;
  });
}

function curve(layer: number, variant: string): FixtureCell['measures'] {
  const final = variant === 'memory' ? 0.6 + 0.2 * layer : variant === 'full' ? 0.3 : 1.4 + 0.3 * layer;
  return [0, 10, 20, 30].map((step, i) => ({
    step,
    memorizationError: i === 0 ? 4.2 : 4.2 - ((4.2 - final) * i) / 3,
    locality: i === 0 ? 4.5 : 4.5 + 0.05 * i * layer,
  }));
}

export function makeFixture(options: { scoring?: evaluator.ScoringMode; failLast?: boolean; full?: boolean } = {}): Fixture {
  const scoring = options.scoring ?? evaluator.ScoringMode.SCORING_MODE_LOGLIK;
  const random = mulberry32(7);
  const gold = Array.from({ length: CLAIMS }, () => LABELS[Math.floor(random() * 3)]!);
  const invalid = scoring === evaluator.ScoringMode.SCORING_MODE_GENERATE ? 0.1 : 0;
  const cells: FixtureCell[] = [
    { variant: 'pretrained', layer: -1, predicted: predict(gold, 0.35, 11, invalid), measures: [] },
    ...(options.full ? [{ variant: 'full', layer: -1, predicted: predict(gold, 0.75, 16, invalid), measures: curve(0, 'full') }] : []),
    { variant: 'memory', layer: 1, predicted: predict(gold, 0.85, 12, invalid), measures: curve(1, 'memory') },
    { variant: 'memory', layer: 2, predicted: predict(gold, 0.4, 13, invalid), measures: curve(2, 'memory') },
    { variant: 'simset-2 token', layer: 1, predicted: predict(gold, 0.55, 14, invalid), measures: curve(1, 'simset') },
    { variant: 'simset-2 token', layer: 2, predicted: predict(gold, 0.38, 15, invalid), measures: curve(2, 'simset') },
  ];
  const pretrained = cells[0]!.predicted;
  const raw = cells.slice(1).map((c) => mcnemar(gold, pretrained, c.predicted).pValue);
  const holm = holmAdjust(raw);
  const expected = cells.map((c, i) => {
    const metrics = computeMetrics(gold, c.predicted);
    const ci = bootstrapCI(gold, c.predicted, { seed: 0, resamples: 200 });
    return {
      variant: c.variant,
      layer: c.layer,
      metrics,
      ciLow: ci.low,
      ciHigh: ci.high,
      pValue: i === 0 ? 1 : raw[i - 1]!,
      pHolm: i === 0 ? 1 : holm[i - 1]!,
    };
  });
  const sweepCells = cells.map((c, i) => {
    const e = expected[i]!;
    const failed = options.failLast === true && i === cells.length - 1;
    const last = c.measures[c.measures.length - 1];
    const report = evaluator.EvaluationReport.fromPartial({
      name: c.layer < 0 ? c.variant : `${c.variant} L${c.layer}`,
      scoring,
      memorizationError: last?.memorizationError ?? 0,
      locality: last?.locality ?? 0,
      claimsPerSecond: 12.5,
      metrics: {
        count: e.metrics.n,
        accuracy: e.metrics.accuracy,
        accuracyCiLow: e.ciLow,
        accuracyCiHigh: e.ciHigh,
        f1Micro: e.metrics.f1Micro,
        f1Macro: e.metrics.f1Macro,
        invalidRate: e.metrics.invalidRate,
        confusion: e.metrics.confusion.flat(),
        perLabel: LABELS.map((l) => ({ label: toLabel[l], ...e.metrics.perLabel[l] })),
      },
      predictions: gold.map((g, k) => {
        const p = c.predicted[k];
        const logprobs = LABELS.map((l) => (l === p ? -0.5 : -2 - ((k + LABELS.indexOf(l)) % 3) * 0.25));
        return {
          claimId: BigInt(100000 + k),
          gold: toLabel[g],
          predicted: p === undefined ? common.Label.LABEL_UNSPECIFIED : toLabel[p],
          ...(scoring === evaluator.ScoringMode.SCORING_MODE_LOGLIK
            ? { logprobs }
            : { answer: p === undefined ? ' I do not know' : ` (${'abc'[LABELS.indexOf(p)]})` }),
        };
      }),
    });
    return evaluator.SweepCell.fromPartial({
      variant: c.variant,
      layer: c.layer,
      runId: c.variant === 'pretrained' ? '' : `run-${i}`,
      evaluationId: failed ? '' : `eval-${i}`,
      state: failed ? common.JobState.JOB_STATE_FAILED : common.JobState.JOB_STATE_SUCCEEDED,
      report: failed ? undefined : report,
      pValueVsPretrained: failed ? 0 : e.pValue,
      pHolm: failed ? 0 : e.pHolm,
      significant: !failed && e.pHolm < 0.05,
      measures: c.measures.map((m) => trainer.MeasureRecord.fromPartial({ ...m, step: BigInt(m.step) })),
      error: failed ? 'model-host 127.0.0.1:50052 did not come back within 120 s' : '',
    });
  });
  const sweep = evaluator.Sweep.fromPartial({
    sweepId: 'sweep-fixture',
    state: common.JobState.JOB_STATE_SUCCEEDED,
    spec: {
      evaluation: { modelPath: '../shared/models/stories260K/stories260K.bin', scoring, shots: 1, limit: CLAIMS },
      variants: [
        { name: 'pretrained' },
        ...(options.full ? [{ name: 'full', full: true }] : []),
        { name: 'memory', memory: {} },
        { name: 'simset-2 token', memory: {} },
      ],
      layers: [...LAYERS],
    },
    progress: { done: BigInt(cells.length), total: BigInt(cells.length), unit: 'cells' },
    cells: sweepCells,
  });
  return { sweep, gold, cells, expected };
}
