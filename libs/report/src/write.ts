/** writeSweepReport: every report file of a sweep into one folder, each written atomically. */
import type { evaluator } from '@memorize/contracts';
import { fsError, writeFileAtomic } from '@memorize/files';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cellFigures, reportJson, type ReportJson } from './cells.js';
import { reportHtml } from './html.js';
import { reportMarkdown, type ReportTextOptions } from './markdown.js';
import { predictionFileNames, predictionsJsonl } from './predictions.js';

export interface WriteSweepReportOptions extends ReportTextOptions {
  /** Write predictions/<cell>.jsonl for every cell with a report; default true. */
  predictions?: boolean;
}

export interface WrittenReport {
  /** Paths written, inside outDir. */
  files: string[];
  /** report.json's document. */
  json: ReportJson;
  markdown: string;
  html: string;
}

/**
 * Writes report.md, report.json, report.html and predictions/<variant>-L<layer>.jsonl (one per cell with an
 * evaluation report) into outDir, creating it (and predictions/) when missing. Everything is rendered before
 * the first file is written; each file is written atomically (temp file, fsync, rename), replacing an older
 * report's file of the same name. File-system errors are domain errors naming the field `out`.
 */
export async function writeSweepReport(sweep: evaluator.Sweep, outDir: string, options: WriteSweepReportOptions = {}): Promise<WrittenReport> {
  const json = reportJson(sweep, options);
  const markdown = reportMarkdown(sweep, options);
  const html = await reportHtml(sweep, options);
  const files: [string, string][] = [];
  if (options.predictions ?? true) {
    const withReport = cellFigures(sweep).filter((f) => f.cell.report !== undefined);
    const names = predictionFileNames(withReport.map((f) => f.cell));
    withReport.forEach((f, i) => files.push([join('predictions', names[i]!), predictionsJsonl(f.cell.report!)]));
  }
  files.push(['report.json', `${JSON.stringify(json, null, 2)}\n`], ['report.md', markdown], ['report.html', html]);
  const folders = files.some(([name]) => name.startsWith('predictions')) ? [outDir, join(outDir, 'predictions')] : [outDir];
  for (const folder of folders) {
    try {
      mkdirSync(folder, { recursive: true });
    } catch (error) {
      throw fsError(error, 'out', folder);
    }
  }
  const written: string[] = [];
  for (const [name, text] of files) {
    const path = join(outDir, name);
    writeFileAtomic(path, Buffer.from(text, 'utf8'), 'out');
    written.push(path);
  }
  return { files: written, json, markdown, html };
}
