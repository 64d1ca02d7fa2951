/** Per-cell predictions as JSON Lines. */
import type { evaluator } from '@memorize/contracts';
import { labelName, scoringName } from './labels.js';

/** One line of a predictions file. */
export interface PredictionLine {
  /** A number, or a string when the id is beyond 2^53. */
  claim_id: number | string;
  gold: string | null;
  /** null for an invalid answer. */
  predicted: string | null;
  /** loglik mode: log-probabilities of (a), (b), (c). */
  logprobs?: number[];
  /** generate mode: the generated text. */
  answer?: string;
}

function claimId(id: bigint): number | string {
  return id <= BigInt(Number.MAX_SAFE_INTEGER) && id >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(id) : id.toString();
}

/** A prediction as its line: log-probabilities in loglik mode, the generated text in generate mode. */
export function predictionLine(prediction: evaluator.Prediction, mode: evaluator.ScoringMode): PredictionLine {
  const line: PredictionLine = {
    claim_id: claimId(prediction.claimId),
    gold: labelName(prediction.gold),
    predicted: labelName(prediction.predicted),
  };
  if (scoringName(mode) === 'loglik') line.logprobs = [...prediction.logprobs];
  else line.answer = prediction.answer;
  return line;
}

/** The report's predictions as JSON Lines (one object per line, each line ending in a newline). */
export function predictionsJsonl(report: evaluator.EvaluationReport): string {
  return report.predictions.map((p) => `${JSON.stringify(predictionLine(p, report.scoring))}\n`).join('');
}

const safe = (text: string): string => text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'cell';

/**
 * File names for the cells' predictions, in the order given: `<variant>-L<layer>.jsonl` (the variant's name
 * with every run of characters other than letters, digits, '.', '_' and '-' made one '-'), `<variant>.jsonl`
 * for a cell without a layer (the pretrained one, the full one); a name taken twice gets `-2`, `-3`, ... .
 */
export function predictionFileNames(cells: readonly Pick<evaluator.SweepCell, 'variant' | 'layer'>[]): string[] {
  const taken = new Set<string>();
  return cells.map((cell) => {
    const stem = cell.layer < 0 ? safe(cell.variant) : `${safe(cell.variant)}-L${cell.layer}`;
    let name = `${stem}.jsonl`;
    for (let k = 2; taken.has(name); k++) name = `${stem}-${k}.jsonl`;
    taken.add(name);
    return name;
  });
}
