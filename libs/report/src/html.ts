/** report.html: one self-contained page (inline CSS and SVG; no script, font or image fetched). */
import type { evaluator } from '@memorize/contracts';
import type { ReportTextOptions } from './markdown.js';
import { sweepSummary } from './markdown.js';
import { renderSvg, sweepPlots } from './plots.js';
import { sweepSignificance } from './significance.js';
import { cellsTable, confusionTable, failedCells, perLabelTable, resultsTable, significanceTable, type Table } from './tables.js';

/** Text escaped for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** An HTML table. */
export function htmlTable(table: Table): string {
  const cell = (tag: 'th' | 'td', text: string, i: number): string => `<${tag}${table.numeric[i] ? ' class="num"' : ''}>${escapeHtml(text)}</${tag}>`;
  const head = `<tr>${table.header.map((h, i) => cell('th', h, i)).join('')}</tr>`;
  const body = table.rows.map((r) => `<tr>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`).join('\n');
  return `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

const style = `
body { font-family: sans-serif; margin: 2em auto; max-width: 80em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; }
th { background: #f3f3f3; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5em 0; }
figcaption { font-weight: bold; margin-bottom: 0.5em; }
.empty { color: #777; font-style: italic; }
`;

function details(table: Table, title: string, note: string): string {
  if (table.rows.length === 0) return '';
  return `<h2>${escapeHtml(title)}</h2>\n${note ? `<p>${escapeHtml(note)}</p>\n` : ''}${htmlTable(table)}\n`;
}

/** report.html's text, its plots rendered to inline SVG with Vega-Lite. */
export async function reportHtml(sweep: evaluator.Sweep, options: ReportTextOptions = {}): Promise<string> {
  const alpha = options.alpha ?? 0.05;
  const figures: string[] = [];
  for (const plot of sweepPlots(sweep)) {
    const body = plot.spec ? await renderSvg(plot.spec) : `<p class="empty">${escapeHtml(plot.empty ?? 'No data.')}</p>`;
    figures.push(`<figure id="${escapeHtml(plot.id)}">\n<figcaption>${escapeHtml(plot.title)}</figcaption>\n${body}\n</figure>`);
  }
  const failed = failedCells(sweep);
  const title = `Sweep ${sweep.sweepId}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(sweepSummary(sweep, options))}.</p>
<h2>Results</h2>
<p>Rows: model; columns: variant × layer. Accuracy with its 95% bootstrap confidence interval; memorization error and locality are NLL per token (the training run's last measure; the pretrained column shows the base model's).</p>
${htmlTable(resultsTable(sweep, options))}
<h2>Plots</h2>
${figures.join('\n')}
<h2>Significance against the pretrained cell</h2>
<p>McNemar's test of each variant cell against the pretrained cell on the same claims; p (Holm) is adjusted with Holm's step-down correction across the sweep's comparisons.</p>
${htmlTable(significanceTable(sweep, { alpha }))}
<p id="significance">${escapeHtml(sweepSignificance(sweep, options))}</p>
<h2>Cells</h2>
${htmlTable(cellsTable(sweep))}
${details(perLabelTable(sweep), 'Per-label scores', '')}${details(confusionTable(sweep), 'Confusion matrices', 'Rows: gold label; columns: predicted label (or an invalid answer).')}${failed.length > 0 ? `<h2>Failed cells</h2>\n<ul>\n${failed.map((f) => `<li>${escapeHtml(f.label)}: ${escapeHtml(f.error)}</li>`).join('\n')}\n</ul>\n` : ''}</body>
</html>
`;
}
