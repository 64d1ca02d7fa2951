/** The report's tables as rows of text, shared by report.md and report.html. */
import type { evaluator } from '@memorize/contracts';
import { cellFigures, type CellFigures, type FigureOptions } from './cells.js';
import { modelName } from './labels.js';
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
