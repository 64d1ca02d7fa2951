/** One row of report.json per sweep cell: the figures every other part of the report is made from. */
import type { evaluator, trainer } from '@memorize/contracts';
import { cellLabel, isPretrainedCell, modelName, orderedCells, scoringName, type ScoringName } from './labels.js';

/** A cell of report.json (snake_case, null where the sweep has no figure). */
export interface ReportCell {
  variant: string;
  layer: number;
  mode: ScoringName | null;
  accuracy: number | null;
  f1_micro: number | null;
  f1_macro: number | null;
  ci_low: number | null;
  ci_high: number | null;
  n: number | null;
  invalid_rate: number | null;
  memorization_error: number | null;
  locality: number | null;
  p_value_vs_pretrained: number | null;
  p_holm: number | null;
}

/** report.json. */
export interface ReportJson {
  sweep_id: string;
  model: string;
  cells: ReportCell[];
}

/** A cell together with what the report derives from it. */
export interface CellFigures {
  cell: evaluator.SweepCell;
  label: string;
  pretrained: boolean;
  /** The cell has an evaluation report with metrics. */
  done: boolean;
  row: ReportCell;
}

export interface FigureOptions {
  /** The model's name in the table; default the model path's last component. */
  model?: string;
}

/** The measure taken last (highest step) of a run's curve. */
function lastMeasure(measures: readonly trainer.MeasureRecord[]): trainer.MeasureRecord | undefined {
  let last: trainer.MeasureRecord | undefined;
  for (const m of measures) if (last === undefined || m.step > last.step) last = m;
  return last;
}

/** The base model's measure (step 0) of any run of the sweep: every run measures the same corpus. */
function baseMeasure(sweep: evaluator.Sweep): trainer.MeasureRecord | undefined {
  for (const cell of orderedCells(sweep)) {
    const base = cell.measures.find((m) => m.step === 0n);
    if (base) return base;
  }
  return undefined;
}

const positive = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) && x > 0 ? x : null);

/**
 * The figures of every cell, in table order. Metrics come from the cell's evaluation report (null when it has
 * none: failed or unfinished). Memorization error and locality come from the report, else from the run's last
 * measure; the pretrained cell's are the base model's (step 0 of the runs' curves) when its report has none.
 * The pretrained cell's p-values are 1 (it is compared with itself); a variant cell's are the sweep's.
 */
export function cellFigures(sweep: evaluator.Sweep): CellFigures[] {
  const base = baseMeasure(sweep);
  const specMode = sweep.spec?.evaluation ? scoringName(sweep.spec.evaluation.scoring) : null;
  return orderedCells(sweep).map((cell) => {
    const pretrained = isPretrainedCell(sweep, cell);
    const report = cell.report;
    const metrics = report?.metrics;
    const done = metrics !== undefined;
    const measure = pretrained ? base : lastMeasure(cell.measures);
    const row: ReportCell = {
      variant: cell.variant,
      layer: cell.layer,
      mode: report ? scoringName(report.scoring) : specMode,
      accuracy: metrics ? metrics.accuracy : null,
      f1_micro: metrics ? metrics.f1Micro : null,
      f1_macro: metrics ? metrics.f1Macro : null,
      ci_low: metrics ? metrics.accuracyCiLow : null,
      ci_high: metrics ? metrics.accuracyCiHigh : null,
      n: metrics ? metrics.count : null,
      invalid_rate: metrics ? metrics.invalidRate : null,
      memorization_error: positive(report?.memorizationError) ?? positive(measure?.memorizationError),
      locality: positive(report?.locality) ?? positive(measure?.locality),
      p_value_vs_pretrained: done ? (pretrained ? 1 : cell.pValueVsPretrained) : null,
      p_holm: done ? (pretrained ? 1 : cell.pHolm) : null,
    };
    return { cell, label: cellLabel(cell.variant, cell.layer), pretrained, done, row };
  });
}

/** report.json's document. */
export function reportJson(sweep: evaluator.Sweep, options: FigureOptions = {}): ReportJson {
  return { sweep_id: sweep.sweepId, model: options.model ?? modelName(sweep), cells: cellFigures(sweep).map((f) => f.row) };
}
