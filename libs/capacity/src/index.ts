export {
  formatPlan,
  kustomizePatch,
  GPU_HEADROOM,
  GPU_RESERVED_BYTES,
  GPU_SIZES,
  HOST_OVERHEAD_BYTES,
  PLAN_DEFAULTS,
  planCapacity,
  readModelConfig,
  type CapacityPlan,
  type PlanDtype,
  type PlanOptions,
} from './plan.js';
