/**
 * The pure parts of a sweep: its cells (pretrained once, every memory variant at every layer), the training run
 * of a cell, and the comparison of every variant cell with the pretrained cell on the same claims (McNemar's
 * exact test, Holm's step-down correction across the sweep). The table and the words are libs/report's.
 */
import { evaluator, trainer } from '@memorize/contracts';
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
