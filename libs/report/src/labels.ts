/** Names of the contract's enums and the cells of a sweep as reports show them. */
import { common, evaluator } from '@memorize/contracts';
import { basename } from 'node:path';

/** FEVER's spelling of a label; null for an invalid (unparsed) answer. */
export function labelName(label: common.Label): string | null {
  switch (label) {
    case common.Label.LABEL_SUPPORTS:
      return 'SUPPORTS';
    case common.Label.LABEL_REFUTES:
      return 'REFUTES';
    case common.Label.LABEL_NOT_ENOUGH_INFO:
      return 'NOT ENOUGH INFO';
    default:
      return null;
  }
}

export type ScoringName = 'loglik' | 'generate';

/** The scoring mode's name; unspecified means generate, as the contract says. */
export function scoringName(mode: evaluator.ScoringMode): ScoringName {
  return mode === evaluator.ScoringMode.SCORING_MODE_LOGLIK ? 'loglik' : 'generate';
}

/** "memory L3", or the bare variant name for a cell without a layer (layer -1: the pretrained cell, the full cell). */
export function cellLabel(variant: string, layer: number): string {
  return layer < 0 ? variant : `${variant} L${layer}`;
}

/**
 * Whether a cell is the sweep's pretrained cell (the model as it is): its variant has neither a memory nor the
 * `full` flag in the spec, or, when the spec does not name the variant, its layer is negative (the contract's -1).
 * The `full` control's cell has no layer either but is a trained variant, compared with the pretrained cell.
 */
export function isPretrainedCell(sweep: evaluator.Sweep, cell: evaluator.SweepCell): boolean {
  const variant = sweep.spec?.variants.find((v) => v.name === cell.variant);
  return variant ? variant.memory === undefined && !variant.full : cell.layer < 0;
}

/** The model's name for the table's row: the model path's last component without a .bin extension. */
export function modelName(sweep: evaluator.Sweep): string {
  const path = (sweep.spec?.evaluation?.modelPath ?? '').replace(/[/\\]+$/, '');
  const name = basename(path).replace(/\.bin$/i, '');
  return name === '' ? 'model' : name;
}

/**
 * The cells in table order: the pretrained cell(s) first, then the other cells without a layer (the full
 * control), then the memory cells; within each, the variants in the spec's order (cells of variants the spec does
 * not list after them, in the order they appear), each variant's layers ascending.
 */
export function orderedCells(sweep: evaluator.Sweep): evaluator.SweepCell[] {
  const rank = new Map<string, number>();
  for (const v of sweep.spec?.variants ?? []) if (!rank.has(v.name)) rank.set(v.name, rank.size);
  for (const c of sweep.cells) if (!rank.has(c.variant)) rank.set(c.variant, rank.size);
  return sweep.cells
    .map((cell, index) => ({ cell, index }))
    .sort((a, b) => {
      const group = (cell: evaluator.SweepCell): number => (isPretrainedCell(sweep, cell) ? 0 : cell.layer < 0 ? 1 : 2);
      const pa = group(a.cell);
      const pb = group(b.cell);
      return pa - pb || rank.get(a.cell.variant)! - rank.get(b.cell.variant)! || a.cell.layer - b.cell.layer || a.index - b.index;
    })
    .map(({ cell }) => cell);
}
