/**
 * One k-shot FEVER evaluation: the claims of a corpus built on DataService, each prompt scored on a model-host
 * (the pretrained model, or with a memory file attached), the answer read as the reference does, and the
 * report: accuracy, F1-micro/macro, per-label precision/recall, confusion, invalid-answer rate, a bootstrap 95%
 * CI, and every claim's prediction (so two evaluations over the same claims compare pairwise).
 *
 * - loglik: the three options " (a)", " (b)", " (c)" are continuations of the same context; one Score call
 *   carries a batch of claims (model-host shares the prompt's forward between a claim's options and caches the
 *   common prefix); the option with the highest log-probability is the answer.
 * - generate: greedy decoding (the reference); the first of a/b/c in the text is the answer, none = invalid.
 */
import { common, evaluator, modelHost, type data } from '@memorize/contracts';
import { bootstrapCI, computeMetrics, LABELS, LETTER_TO_LABEL, parseAnswer, type Label, type Prediction } from '@memorize/fever';
import { baseModelId } from '@memorize/runs';
import { labelFromProto, labelToProto } from './labels.js';
import type { EvalDataPort, EvalHostPort } from './ports.js';

/** The answer options in loglik mode, in label order (a) supports, (b) refutes, (c) not enough info. */
export const OPTION_TEXTS = [' (a)', ' (b)', ' (c)'] as const;
const OPTION_LABELS: readonly Label[] = [LETTER_TO_LABEL.a, LETTER_TO_LABEL.b, LETTER_TO_LABEL.c];

export interface EvaluationProgress {
  done: number;
  total: number;
  claimsPerSecond: number;
}

export interface EvaluateOptions {
  /** Evaluation id: names the memory on the host. */
  id: string;
  signal: AbortSignal;
  onProgress?: (p: EvaluationProgress) => void;
  /** Measures of the memory's training run, copied into the report. */
  memorizationError?: number;
  locality?: number;
}

/** Metrics of predictions against gold labels, as the contracts report them (bootstrap CI seeded). */
export function metricsOf(gold: readonly Label[], predicted: readonly Prediction[], seed: number): common.Metrics {
  const m = computeMetrics(gold, predicted);
  const ci = bootstrapCI(gold, predicted, { seed });
  return {
    count: m.n,
    accuracy: m.accuracy,
    accuracyCiLow: ci.low,
    accuracyCiHigh: ci.high,
    f1Micro: m.f1Micro,
    f1Macro: m.f1Macro,
    invalidRate: m.invalidRate,
    confusion: m.confusion.flat(),
    perLabel: LABELS.map((l) => ({ label: labelToProto(l), ...m.perLabel[l] })),
  };
}

/** Gold and predicted labels of a report's predictions, in order. */
export function labelsOf(predictions: readonly evaluator.Prediction[]): { gold: Label[]; predicted: Prediction[] } {
  return { gold: predictions.map((p) => labelFromProto(p.gold)!), predicted: predictions.map((p) => labelFromProto(p.predicted)) };
}

/** The option continuations of a prompt: its tokenization with each option appended, minus the prompt's own tokens. */
function continuations(promptIds: readonly number[], withOption: readonly (readonly number[])[], bare: readonly (readonly number[])[]): number[][] {
  return withOption.map((ids, o) => {
    const isPrefix = ids.length > promptIds.length && promptIds.every((t, i) => ids[i] === t);
    // When the tokenizer merges across the boundary, the option is scored as tokenized on its own.
    return isPrefix ? ids.slice(promptIds.length) : [...bare[o]];
  });
}

export async function runEvaluation(
  spec: evaluator.EvaluationSpec,
  data: EvalDataPort,
  host: EvalHostPort,
  options: EvaluateOptions,
): Promise<evaluator.EvaluationReport> {
  const { signal } = options;
  const modelId = baseModelId(spec.modelPath, spec.tokenizerPath);
  const model = (await host.loadModel({ path: spec.modelPath, tokenizerPath: spec.tokenizerPath, modelId, skipOptimizer: true })).model!;
  const memoryId = spec.memoryPath ? `eval.${options.id}` : '';
  if (spec.memoryPath) await host.loadMemory({ modelId, path: spec.memoryPath, memoryId, replace: true, skipOptimizer: true });
  try {
    const corpus = (
      await data.loadCorpus({
        claimsPath: spec.claimsPath,
        pagesPath: spec.pagesPath,
        assignmentPath: spec.assignmentPath,
        topN: spec.topN,
        seed: spec.splitSeed,
        poolPerPage: spec.poolPerPage,
        tokenizerPath: spec.tokenizerPath || spec.modelPath,
        maxLength: model.maxLength,
        strict: false,
        allPages: false,
        claimRows: undefined,
      })
    ).corpus!;
    const items: data.EvaluationItem[] = [];
    for await (const r of data.streamEvaluationItems(
      { corpusId: corpus.corpusId, shots: spec.shots, split: 0, limit: spec.limit, tokenize: true },
      signal,
    )) {
      items.push(r.item!);
    }
    const memory = memoryId ? { memoryId, maskSource: spec.maskSource } : undefined;
    const scoring = spec.scoring === evaluator.ScoringMode.SCORING_MODE_LOGLIK ? 'loglik' : 'generate';
    const claimsPerCall = spec.batchSize || 8;
    const began = performance.now();
    const predictions: evaluator.Prediction[] = [];
    const progress = (): void =>
      options.onProgress?.({
        done: predictions.length,
        total: items.length,
        claimsPerSecond: predictions.length / ((performance.now() - began) / 1000),
      });
    const bare = scoring === 'loglik' ? (await host.tokenize({ modelId, texts: [...OPTION_TEXTS], addBos: false })).rows.map((r) => r.ids) : [];
    for (let start = 0; start < items.length; start += claimsPerCall) {
      signal.throwIfAborted();
      const batch = items.slice(start, start + claimsPerCall);
      if (scoring === 'loglik') {
        const texts = batch.flatMap((item) => OPTION_TEXTS.map((o) => item.prompt + o));
        const tokenized = (await host.tokenize({ modelId, texts, addBos: true })).rows.map((r) => r.ids);
        const scoreItems = batch.flatMap((item, b) =>
          continuations(item.promptIds, tokenized.slice(b * 3, b * 3 + 3), bare).map((continuation) =>
            modelHost.ScoreItem.fromPartial({ context: item.promptIds, continuation, documentIndex: item.claim!.documentIndex }),
          ),
        );
        const scores = (await host.score({ modelId, memory, items: scoreItems, batchSize: spec.batchSize || 8 })).scores;
        batch.forEach((item, b) => {
          const logprobs = scores.slice(b * 3, b * 3 + 3).map((s) => s.logprob);
          const best = logprobs.indexOf(Math.max(...logprobs));
          predictions.push({ claimId: item.claim!.id, gold: item.claim!.label, predicted: labelToProto(OPTION_LABELS[best]), answer: '', logprobs });
        });
      } else {
        for (const item of batch) {
          let text = '';
          for await (const piece of host.generate(
            modelHost.GenerateRequest.fromPartial({
              modelId,
              memory,
              promptIds: item.promptIds,
              maxNewTokens: spec.maxNewTokens || 8,
              temperature: 0,
              documentIndex: item.claim!.documentIndex,
              stop: ['\n'],
            }),
            signal,
          )) {
            text += piece.text;
          }
          predictions.push({
            claimId: item.claim!.id,
            gold: item.claim!.label,
            predicted: labelToProto(parseAnswer(text)),
            answer: text,
            logprobs: [],
          });
        }
      }
      progress();
    }
    const seconds = (performance.now() - began) / 1000;
    const { gold, predicted } = labelsOf(predictions);
    return {
      name: spec.name || (spec.memoryPath ? spec.memoryPath : 'pretrained'),
      metrics: metricsOf(gold, predicted, Number(spec.seed % 2n ** 32n)),
      predictions,
      memorizationError: options.memorizationError ?? 0,
      locality: options.locality ?? 0,
      claimsPerSecond: seconds > 0 ? predictions.length / seconds : 0,
      scoring: scoring === 'loglik' ? evaluator.ScoringMode.SCORING_MODE_LOGLIK : evaluator.ScoringMode.SCORING_MODE_GENERATE,
    };
  } finally {
    if (memoryId) await host.deleteMemory({ memoryId }).catch(() => undefined);
  }
}
