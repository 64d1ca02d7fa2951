/** The report's tables as rows of text, shared by report.md and report.html. */
import { common, type evaluator } from '@memorize/contracts';
import { cellFigures, type CellFigures, type FigureOptions } from './cells.js';
import { labelName, modelName } from './labels.js';
import { formatP } from './significance.js';

export interface Table {
  header: string[];
  rows: string[][];
  /** Columns to right-align (numbers). */
  numeric: boolean[];
}

const dash = '—';
const num = (x: number | null, digits = 3): string => (x === null ? dash : x.toFixed(digits));

function notDone(f: CellFigures): string {
  return f.cell.error !== '' ? 'failed' : dash;
}

/**
 * The table of the reference paper: one row group per model (this sweep has one), one column per variant ×
 * layer; the rows give accuracy with its 95% bootstrap CI, F1-micro, F1-macro, memorization error and
 * locality (NLL per token).
 */
export function resultsTable(sweep: evaluator.Sweep, options: FigureOptions = {}): Table {
  const figures = cellFigures(sweep);
  const model = options.model ?? modelName(sweep);
  const metric = (name: string, value: (f: CellFigures) => string, first = false): string[] => [first ? model : '', name, ...figures.map(value)];
  const rows = [
    metric('accuracy [95% CI]', (f) => (f.done ? `${num(f.row.accuracy)} [${num(f.row.ci_low)}, ${num(f.row.ci_high)}]` : notDone(f)), true),
    metric('F1-micro', (f) => (f.done ? num(f.row.f1_micro) : dash)),
    metric('F1-macro', (f) => (f.done ? num(f.row.f1_macro) : dash)),
    metric('memorization error', (f) => num(f.row.memorization_error)),
    metric('locality', (f) => num(f.row.locality)),
  ];
  return { header: ['model', 'metric', ...figures.map((f) => f.label)], rows, numeric: [false, false, ...figures.map(() => true)] };
}

/** Every finished variant cell against the pretrained cell: McNemar's p-value, raw and after Holm's correction. */
export function significanceTable(sweep: evaluator.Sweep, options: { alpha?: number } = {}): Table {
  const alpha = options.alpha ?? 0.05;
  const figures = cellFigures(sweep);
  const pretrained = figures.find((f) => f.pretrained && f.done);
  const rows = figures
    .filter((f) => !f.pretrained && f.done)
    .map((f) => {
      const delta = pretrained && f.row.accuracy !== null && pretrained.row.accuracy !== null ? f.row.accuracy - pretrained.row.accuracy : null;
      const p = f.row.p_value_vs_pretrained;
      const holm = f.row.p_holm;
      return [
        f.label,
        String(f.row.n ?? dash),
        num(f.row.accuracy),
        delta === null ? dash : `${delta >= 0 ? '+' : ''}${delta.toFixed(3)}`,
        p === null ? dash : formatP(p),
        holm === null ? dash : formatP(holm),
        holm === null || !pretrained ? dash : holm < alpha ? 'yes' : 'no',
      ];
    });
  return {
    header: ['cell', 'n', 'accuracy', 'Δ accuracy vs pretrained', 'p (McNemar)', 'p (Holm)', `significant at ${alpha}`],
    rows,
    numeric: [false, true, true, true, true, true, false],
  };
}

/** Cells that failed, with their errors. */
export function failedCells(sweep: evaluator.Sweep): { label: string; error: string }[] {
  return cellFigures(sweep)
    .filter((f) => f.cell.error !== '')
    .map((f) => ({ label: f.label, error: f.cell.error }));
}

const STATES: Record<number, string> = {
  [common.JobState.JOB_STATE_QUEUED]: 'queued',
  [common.JobState.JOB_STATE_RUNNING]: 'running',
  [common.JobState.JOB_STATE_SUCCEEDED]: 'succeeded',
  [common.JobState.JOB_STATE_FAILED]: 'failed',
  [common.JobState.JOB_STATE_CANCELLED]: 'cancelled',
};

/** Every cell's state, size, invalid-answer rate, speed and the ids of its training run and evaluation. */
export function cellsTable(sweep: evaluator.Sweep): Table {
  const rows = cellFigures(sweep).map((f) => [
    f.label,
    STATES[f.cell.state] ?? dash,
    f.row.n === null ? dash : String(f.row.n),
    num(f.row.invalid_rate),
    f.cell.report && f.cell.report.claimsPerSecond > 0 ? f.cell.report.claimsPerSecond.toFixed(1) : dash,
    f.cell.runId || dash,
    f.cell.evaluationId || dash,
  ]);
  return {
    header: ['cell', 'state', 'n', 'invalid rate', 'claims/s', 'training run', 'evaluation'],
    rows,
    numeric: [false, false, true, true, true, false, false],
  };
}

const LABEL_ORDER = [common.Label.LABEL_SUPPORTS, common.Label.LABEL_REFUTES, common.Label.LABEL_NOT_ENOUGH_INFO];

/** Precision, recall, F1 and support of each label in each finished cell. */
export function perLabelTable(sweep: evaluator.Sweep): Table {
  const rows = cellFigures(sweep).flatMap((f) =>
    (f.cell.report?.metrics?.perLabel ?? []).map((s) => [
      f.label,
      labelName(s.label) ?? dash,
      num(s.precision),
      num(s.recall),
      num(s.f1),
      String(s.support),
    ]),
  );
  return { header: ['cell', 'label', 'precision', 'recall', 'F1', 'support'], rows, numeric: [false, false, true, true, true, true] };
}

/** The confusion matrix of each finished cell: gold label by row, predicted label (or invalid) by column. */
export function confusionTable(sweep: evaluator.Sweep): Table {
  const rows = cellFigures(sweep).flatMap((f) => {
    const confusion = f.cell.report?.metrics?.confusion ?? [];
    if (confusion.length !== 12) return [];
    return LABEL_ORDER.map((gold, g) => [f.label, labelName(gold)!, ...confusion.slice(4 * g, 4 * g + 4).map(String)]);
  });
  return {
    header: ['cell', 'gold', 'predicted SUPPORTS', 'predicted REFUTES', 'predicted NOT ENOUGH INFO', 'invalid'],
    rows,
    numeric: [false, false, true, true, true, true],
  };
}
