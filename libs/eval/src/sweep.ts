/**
 * The pure parts of a sweep: its cells (the variants without a memory once — the pretrained model, the `full`
 * fine-tuning control — then every memory variant at every layer), the training run of a cell, and the comparison
 * of every variant cell with the pretrained cell on the same claims (McNemar's exact test, Holm's step-down
 * correction across the sweep). The table and the words are libs/report's.
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

/** The variant is the pretrained model itself: no memory and not the `full` control (nothing is trained). */
export function isPretrainedVariant(variant: evaluator.SweepVariant): boolean {
  return !variant.memory && !variant.full;
}

/** The variant's cell has a training run: a memory variant (one run per layer) or the `full` control (one run). */
export function isTrainedVariant(variant: evaluator.SweepVariant): boolean {
  return variant.memory !== undefined || variant.full;
}

/**
 * Cells in table order (the order of StartSweepRequest.cell): each variant without a memory (pretrained, full)
 * once, without a layer, in spec order; then each memory variant at every layer, in spec order.
 */
export function planCells(spec: evaluator.SweepSpec): Array<{ variant: evaluator.SweepVariant; layer: number }> {
  return [
    ...spec.variants.filter((variant) => !variant.memory).map((variant) => ({ variant, layer: PRETRAINED_LAYER })),
    ...spec.variants.filter((variant) => variant.memory).flatMap((variant) => spec.layers.map((layer) => ({ variant, layer }))),
  ];
}

/**
 * The training run of a cell, on the corpus the sweep evaluates (its model, claims, pages, assignment and top N),
 * with the variant's training or else the sweep's. A memory cell trains the variant's memory at the layer on the
 * frozen model; the `full` cell fine-tunes every weight of the model (JOB_KIND_FULL, no memory), with the
 * variant's replay claim rows mixed in, and writes an HF folder (the run's output_path) that its evaluation loads.
 */
export function cellRunSpec(spec: evaluator.SweepSpec, variant: evaluator.SweepVariant, layer: number): trainer.RunSpec {
  const e = spec.evaluation!;
  const shared = {
    modelPath: e.modelPath,
    tokenizerPath: e.tokenizerPath,
    claimsPath: e.claimsPath,
    pagesPath: e.pagesPath,
    assignmentPath: e.assignmentPath,
    topN: e.topN,
    training: variant.training ?? spec.training,
    evalEvery: spec.evalEvery,
    localityPages: spec.localityPages,
  };
  if (variant.full) return trainer.RunSpec.fromPartial({ ...shared, claimRows: variant.replay, jobKind: trainer.JobKind.JOB_KIND_FULL });
  return trainer.RunSpec.fromPartial({ ...shared, memory: { ...variant.memory!, layer }, jobKind: trainer.JobKind.JOB_KIND_MEMORY });
}

/** Predictions by claim id. */
function byClaim(report: evaluator.EvaluationReport): Map<bigint, evaluator.Prediction> {
  return new Map(report.predictions.map((p) => [p.claimId, p]));
}

/**
 * Whether a cell is the pretrained model's: its variant in the spec is neither a memory nor the `full` control;
 * without a spec (or a variant the spec does not name), a cell without a layer.
 */
export function isPretrainedCell(cell: Pick<evaluator.SweepCell, 'variant' | 'layer'>, spec?: evaluator.SweepSpec): boolean {
  const variant = spec?.variants.find((v) => v.name === cell.variant);
  return variant ? isPretrainedVariant(variant) : cell.layer === PRETRAINED_LAYER;
}

/**
 * McNemar p-values of every finished variant cell (memory cells and the `full` cell) against the first finished
 * pretrained cell (paired on the claims both scored), Holm-adjusted across them; the pretrained cell gets p = 1.
 * `spec` tells the pretrained variant from the `full` one (both have no layer).
 */
export function compareWithPretrained(cells: evaluator.SweepCell[], spec?: evaluator.SweepSpec): void {
  const pretrained = cells.find((c) => isPretrainedCell(c, spec) && c.report);
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
