export {
  RunStore,
  SCHEMA_VERSION,
  TERMINAL_STATES,
  measureToProto,
  stepToProto,
  type Measure,
  type StepRow,
  type TransitionFields,
} from './store.js';
export { RunManager, type RunManagerOptions } from './manager.js';
export type { DataPort, ModelHostPort, RunLogger } from './ports.js';
export {
  baseModelId,
  DEFAULT_LOCALITY_PAGES,
  isDue,
  learningRateAt,
  memoryIdFor,
  modelIdFor,
  planRun,
  runPaths,
  tokenWeightedLoss,
  type RunPlan,
} from './run-plan.js';
export { openDatabase, updateColumns } from './sqlite.js';
