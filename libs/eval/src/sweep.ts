/**
 * The pure parts of a sweep: its cells (pretrained once, every memory variant at every layer), the training run
 * of a cell, the comparison of every variant cell with the pretrained cell on the same claims (McNemar's exact
 * test, Holm's step-down correction across the sweep), and the table.
 */
import { common, evaluator, trainer } from '@memorize/contracts';
import { holmAdjust, mcnemar, type Prediction } from '@memorize/fever';
import { labelFromProto } from './labels.js';

export const PRETRAINED_LAYER = -1;
export const ALPHA = 0.05;

/** A name safe in run and evaluation ids ([A-Za-z0-9._-]). */
export function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'variant';
}

export function cellKey(variant: string, layer: number): string {
  return layer === PRETRAINED_LAYER ? slug(variant) : `${slug(variant)}.L${layer}`;
}

/** Cells in table order: each variant without a memory once, each memory variant at every layer. */
export function planCells(spec: evaluator.SweepSpec): Array<{ variant: evaluator.SweepVariant; layer: number }> {
  return spec.variants.flatMap((variant) =>
    variant.memory ? spec.layers.map((layer) => ({ variant, layer })) : [{ variant, layer: PRETRAINED_LAYER }],
  );
}

/** The training run of a memory cell: the sweep's corpus, model and training, the variant's memory at the layer. */
export function cellRunSpec(spec: evaluator.SweepSpec, variant: evaluator.SweepVariant, layer: number): trainer.RunSpec {
  const e = spec.evaluation!;
  return trainer.RunSpec.fromPartial({
    modelPath: e.modelPath,
    tokenizerPath: e.tokenizerPath,
    claimsPath: e.claimsPath,
    pagesPath: e.pagesPath,
    assignmentPath: e.assignmentPath,
    topN: e.topN,
    memory: { ...variant.memory!, layer },
    training: spec.training,
    evalEvery: spec.evalEvery,
    localityPages: spec.localityPages,
    jobKind: trainer.JobKind.JOB_KIND_MEMORY,
  });
}

/** Predictions by claim id. */
function byClaim(report: evaluator.EvaluationReport): Map<bigint, evaluator.Prediction> {
  return new Map(report.predictions.map((p) => [p.claimId, p]));
}

/**
 * McNemar p-values of every finished variant cell against the pretrained cell (paired on the claims both
 * scored), Holm-adjusted across them; the pretrained cell gets p = 1.
 */
export function compareWithPretrained(cells: evaluator.SweepCell[]): void {
  const pretrained = cells.find((c) => c.layer === PRETRAINED_LAYER && c.report);
  if (!pretrained) return;
  const base = byClaim(pretrained.report!);
  const compared: evaluator.SweepCell[] = [];
  const raw: number[] = [];
  for (const cell of cells) {
    if (cell === pretrained || !cell.report) continue;
    const gold: NonNullable<Prediction>[] = [];
    const a: Prediction[] = [];
    const b: Prediction[] = [];
    for (const p of cell.report.predictions) {
      const q = base.get(p.claimId);
      if (!q) continue;
      gold.push(labelFromProto(p.gold)!);
      a.push(labelFromProto(q.predicted));
      b.push(labelFromProto(p.predicted));
    }
    // Exact binomial test at every count (exactBelow = infinity), as the issue asks.
    compared.push(cell);
    raw.push(mcnemar(gold, a, b, { exactBelow: Number.POSITIVE_INFINITY }).pValue);
  }
  const adjusted = holmAdjust(raw);
  compared.forEach((cell, i) => {
    cell.pValueVsPretrained = raw[i];
    cell.pHolm = adjusted[i];
    cell.significant = adjusted[i] < ALPHA;
  });
  pretrained.pValueVsPretrained = 1;
  pretrained.pHolm = 1;
  pretrained.significant = false;
}

const pct = (x: number): string => (100 * x).toFixed(1);

/** In words: which cells differ significantly from the pretrained cell. */
export function significanceText(cells: readonly evaluator.SweepCell[]): string {
  const pretrained = cells.find((c) => c.layer === PRETRAINED_LAYER && c.report);
  const compared = cells.filter((c) => c !== pretrained && c.report);
  if (!pretrained || compared.length === 0) return 'No variant cell was compared with a pretrained cell.';
  const base = pretrained.report!.metrics!.accuracy;
  const sig = compared.filter((c) => c.significant);
  const name = (c: evaluator.SweepCell): string =>
    `${c.variant} at layer ${c.layer} (accuracy ${pct(c.report!.metrics!.accuracy)}% vs ${pct(base)}%, p = ${c.pValueVsPretrained.toPrecision(3)}, Holm ${c.pHolm.toPrecision(3)})`;
  const head = `McNemar's exact test of each of the ${compared.length} variant cells against the pretrained cell on the same claims, Holm-corrected across them: `;
  if (sig.length === 0) return `${head}no difference is significant at ${ALPHA}.`;
  return `${head}${sig.length} significant at ${ALPHA}: ${sig.map(name).join('; ')}; the other ${compared.length - sig.length} are not.`;
}

/** The table (rows: variant; columns: layers), each cell accuracy / F1-micro / F1-macro / memorization error. */
export function tableMarkdown(spec: evaluator.SweepSpec, cells: readonly evaluator.SweepCell[]): string {
  const layers = spec.layers;
  const fmt = (c: evaluator.SweepCell | undefined): string => {
    if (!c?.report?.metrics) return c ? common.JobState[c.state].replace('JOB_STATE_', '').toLowerCase() : '';
    const m = c.report.metrics;
    const mem = c.report.memorizationError ? ` / ${c.report.memorizationError.toFixed(3)}` : '';
    const star = c.significant ? ' *' : '';
    return `${pct(m.accuracy)} / ${pct(m.f1Micro)} / ${pct(m.f1Macro)}${mem}${star}`;
  };
  const head = `| variant | ${layers.length ? layers.map((l) => `L${l}`).join(' | ') : 'all'} |`;
  const rule = `| --- | ${(layers.length ? layers : [0]).map(() => '---').join(' | ')} |`;
  const rows = spec.variants.map((v) => {
    if (!v.memory) {
      const c = cells.find((x) => x.variant === v.name);
      return `| ${v.name} | ${(layers.length ? layers : [0]).map(() => fmt(c)).join(' | ')} |`;
    }
    return `| ${v.name} | ${layers.map((l) => fmt(cells.find((x) => x.variant === v.name && x.layer === l))).join(' | ')} |`;
  });
  return [
    `Model ${spec.evaluation!.modelPath}: accuracy / F1-micro / F1-macro (%) / memorization error (nats/token); * = significant vs pretrained (McNemar, Holm, ${ALPHA})`,
    '',
    head,
    rule,
    ...rows,
  ].join('\n');
}
