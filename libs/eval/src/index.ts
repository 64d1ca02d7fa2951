export { runEvaluation, metricsOf, labelsOf, OPTION_TEXTS, type EvaluateOptions, type EvaluationProgress } from './evaluate.js';
export { EvaluationManager, type EvaluationManagerOptions } from './manager.js';
export { EvalStore, EVAL_SCHEMA_VERSION } from './store.js';
export {
  cellKey,
  cellRunSpec,
  compareWithPretrained,
  isPretrainedCell,
  isPretrainedVariant,
  isTrainedVariant,
  planCells,
  PRETRAINED_LAYER,
  slug,
  ALPHA,
} from './sweep.js';
export { labelFromProto, labelToProto } from './labels.js';
export type { EvalDataPort, EvalHostPort, TrainerPort } from './ports.js';
