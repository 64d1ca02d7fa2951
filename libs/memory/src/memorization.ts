/**
 * One memorization trial: a memory of one kind, built under a preset, trained by a TrainingRun on document
 * rows, with the documents' NLL before and after and the NLL of text outside the corpus without the memory,
 * with the untrained memory and with the trained one. Outside text meets the memory the way the kind meets
 * text that is no corpus document (its default mask source: dlp / random / doc-key 'none', simset
 * 'context'; the unstructured memory is always on); document-wise kinds are also measured with every entry on.
 * The acceptance criterion: documents' NLL at most half, outside NLL within 10%.
 */
import type { TransformerModel } from '@memorize/lm';
import { InvalidArgumentError } from '@memorize/errors';
import { kindLabel, type MaskSource } from './config.js';
import { createMemoryFor } from './create.js';
import type { TrainingRow } from './losses.js';
import { presetAnchor, presetMemoryConfig, type MemoryPreset, type PresetMemoryOptions } from './presets.js';
import { meanRowNll, TrainingRun, type RunMeasures, type RunStepResult, type TrainingSchedule } from './run.js';

/** What encodes text (libs/lm's tokenizers do). */
export interface RowEncoder {
  encode(text: string, opts?: { bos?: boolean }): number[];
}

/** Texts as corpus documents: BOS + tokens, document index = position. */
export function documentRows(tokenizer: RowEncoder, texts: readonly string[]): TrainingRow[] {
  return texts.map((text, i) => ({ ids: tokenizer.encode(text, { bos: true }), documentIndex: i }));
}

/** Texts that are no corpus document: BOS + tokens, no document index. */
export function outsideRows(tokenizer: RowEncoder, texts: readonly string[]): TrainingRow[] {
  return texts.map((text) => ({ ids: tokenizer.encode(text, { bos: true }) }));
}

export interface MemorizationTrial extends PresetMemoryOptions {
  /** Kind name: "memory", "dlp", "simset-2", ... */
  kind: string;
  preset: MemoryPreset;
  /** The run's schedule; its anchor term defaults to the preset's (presetAnchor). */
  schedule: TrainingSchedule;
  /** Progress: called after the steps the run measures (every evalEvery steps and the last), with the baseline. */
  evalEvery?: number;
  onEvaluation?: (r: RunStepResult, baseline: RunMeasures) => void;
  signal?: AbortSignal;
}

export interface MemorizationOutcome {
  /** kindLabel of the memory ("simset-2"). */
  kind: string;
  seed: number;
  /** Steps taken (fewer than scheduled when aborted). */
  steps: number;
  docNllBase: number;
  /** With the untrained memory. */
  docNllInit: number;
  docNllAfter: number;
  outsideNllBase: number;
  /** With the untrained memory (source as outsideSource). */
  outsideNllInit: number;
  outsideNllAfter: number;
  /** How outside text was scored: 'always on' for the unstructured memory. */
  outsideSource: MaskSource | 'always on';
  /** Document-wise kinds: outside NLL with every entry on, for comparison. */
  outsideNllAllAfter?: number;
  /** Training time (measurement excluded). */
  seconds: number;
}

export const docRatio = (r: MemorizationOutcome): number => r.docNllAfter / r.docNllBase;
export const outsideChange = (r: MemorizationOutcome, after = r.outsideNllAfter): number => (after - r.outsideNllBase) / r.outsideNllBase;

/** The acceptance criterion: documents' NLL at most half, outside NLL within 10%. */
export function meetsMemorizationCriterion(r: MemorizationOutcome): boolean {
  return docRatio(r) <= 0.5 && Math.abs(outsideChange(r)) < 0.1;
}

/** Builds the memory, trains it and measures it; the memory is disposed afterwards (the model is not). */
export async function runMemorizationTrial(
  model: TransformerModel,
  documents: readonly TrainingRow[],
  outside: readonly TrainingRow[],
  trial: MemorizationTrial,
): Promise<MemorizationOutcome> {
  if (outside.length === 0) throw new InvalidArgumentError('outside: a trial measures outside text; give at least one row', 'outside');
  const memory = createMemoryFor(
    model,
    presetMemoryConfig(trial.kind, trial.preset, trial),
    documents.map((d) => ({ tokens: d.ids })),
  );
  try {
    const run = await TrainingRun.create(model, memory, documents, {
      schedule: { ...trial.schedule, anchor: trial.schedule.anchor ?? presetAnchor(trial.kind, trial.preset) },
      outside,
      evalEvery: trial.evalEvery,
      onStep: (r) => {
        if (r.evaluation) trial.onEvaluation?.(r, run.baseline());
      },
    });
    try {
      const base = run.baseline();
      const init = run.evaluate();
      const t0 = performance.now();
      await run.run({ signal: trial.signal });
      const seconds = (performance.now() - t0) / 1000;
      const after = run.evaluate();
      return {
        kind: kindLabel(memory.config),
        seed: trial.seed,
        steps: run.steps,
        docNllBase: base.memorizationError,
        docNllInit: init.memorizationError,
        docNllAfter: after.memorizationError,
        outsideNllBase: base.outsideNll!,
        outsideNllInit: init.outsideNll!,
        outsideNllAfter: after.outsideNll!,
        outsideSource: run.outsideMaskSource ?? 'always on',
        outsideNllAllAfter: memory.masker ? meanRowNll(model, outside, memory, 'all') : undefined,
        seconds,
      };
    } finally {
      run.dispose();
    }
  } finally {
    memory.dispose();
  }
}
