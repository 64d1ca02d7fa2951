/** report.md: the tables and the significance paragraph. */
import type { evaluator } from '@memorize/contracts';
import { cellFigures, type FigureOptions } from './cells.js';
import { modelName, scoringName } from './labels.js';
import { sweepSignificance, type SignificanceOptions } from './significance.js';
import { cellsTable, confusionTable, failedCells, perLabelTable, resultsTable, significanceTable, type Table } from './tables.js';

export type ReportTextOptions = FigureOptions & SignificanceOptions;

const escapeCell = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** A GitHub-flavoured Markdown table. */
export function markdownTable(table: Table): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(escapeCell).join(' | ')} |`;
  const rule = `| ${table.numeric.map((n) => (n ? '---:' : '---')).join(' | ')} |`;
  return [line(table.header), rule, ...table.rows.map(line)].join('\n');
}

/** What was evaluated, in one line: model, claims, shots, scoring mode. */
export function sweepSummary(sweep: evaluator.Sweep, options: FigureOptions = {}): string {
  const evaluation = sweep.spec?.evaluation;
  const counts = [...new Set(cellFigures(sweep).flatMap((f) => (f.row.n === null ? [] : [f.row.n])))];
  const parts = [`model ${options.model ?? modelName(sweep)}`];
  if (counts.length > 0) parts.push(`${counts.join('/')} claims per cell`);
  if (evaluation) parts.push(`${evaluation.shots ?? 1}-shot`, `${scoringName(evaluation.scoring)} scoring`);
  parts.push(`${sweep.cells.length} cells`);
  return parts.join(', ');
}

/** report.md's text. */
export function reportMarkdown(sweep: evaluator.Sweep, options: ReportTextOptions = {}): string {
  const alpha = options.alpha ?? 0.05;
  const out = [
    `# Sweep ${sweep.sweepId}`,
    '',
    `${sweepSummary(sweep, options)}.`,
    '',
    '## Results',
    '',
    'Rows: model; columns: variant × layer. Accuracy with its 95% bootstrap confidence interval; memorization error and locality are NLL per token ' +
      "(the training run's last measure; the pretrained column shows the base model's).",
    '',
    markdownTable(resultsTable(sweep, options)),
    '',
    '## Significance against the pretrained cell',
    '',
    `McNemar's test of each variant cell against the pretrained cell on the same claims; p (Holm) is adjusted with Holm's step-down correction across the sweep's comparisons.`,
    '',
    markdownTable(significanceTable(sweep, { alpha })),
    '',
    sweepSignificance(sweep, options),
    '',
    '## Cells',
    '',
    markdownTable(cellsTable(sweep)),
  ];
  const perLabel = perLabelTable(sweep);
  if (perLabel.rows.length > 0) out.push('', '## Per-label scores', '', markdownTable(perLabel));
  const confusion = confusionTable(sweep);
  if (confusion.rows.length > 0)
    out.push('', '## Confusion matrices', '', 'Rows: gold label; columns: predicted label (or an invalid answer).', '', markdownTable(confusion));
  const failed = failedCells(sweep);
  if (failed.length > 0) out.push('', '## Failed cells', '', ...failed.map((f) => `- ${escapeCell(f.label)}: ${escapeCell(f.error)}`));
  return `${out.join('\n')}\n`;
}
