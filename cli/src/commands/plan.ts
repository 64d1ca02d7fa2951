/**
 * `memorize plan --model DIR_OR_CONFIG.json [--batch N] [--seq N] [--memory-entries M] [--dtype float32|float16]
 * [--json] [--kustomize]`: the capacity plan of a model from its configuration alone (libs/capacity): weights,
 * activations of scoring and of a memory train step, KV cache, the memory's state, the GPU to ask for and a
 * model-host's Kubernetes resources. --kustomize prints the gpu overlay's model-host patch instead.
 */
import { formatPlan, kustomizePatch, planCapacity, readModelConfig, type PlanDtype } from '@memorize/capacity';
import { InvalidArgumentError, MemorizeError } from '@memorize/errors';
import type { Out } from '../client.js';
import { fromFlag } from '../flags.js';

export interface PlanCommandOptions {
  model: string;
  batch?: number;
  seq?: number;
  memoryEntries?: number;
  dtype?: PlanDtype;
  json?: boolean;
  kustomize?: boolean;
}

export async function runPlan(options: PlanCommandOptions, out: Out): Promise<void> {
  const { config, source } = await fromFlag('--model', () => readModelConfig(options.model));
  const flags: Record<string, string> = { batch: '--batch', seq: '--seq', memoryEntries: '--memory-entries', dtype: '--dtype' };
  let plan;
  try {
    plan = planCapacity(
      config,
      { batch: options.batch, seq: options.seq, memoryEntries: options.memoryEntries, dtype: options.dtype },
      options.model,
    );
  } catch (error) {
    // planCapacity names its option ("seq must be ..."); say the flag.
    const field = error instanceof MemorizeError ? error.field : undefined;
    if (field === undefined || !(field in flags)) throw error;
    throw new InvalidArgumentError((error as Error).message.replace(field, flags[field]), flags[field]);
  }
  if (options.kustomize) out.write(kustomizePatch(plan));
  else if (options.json) out.write(`${JSON.stringify(snakeKeys({ ...plan, config: source }))}\n`);
  else out.write(formatPlan(plan));
}

/** Keys in snake_case, as every --json of the CLI prints them (minGpuMemoryMib -> min_gpu_memory_mib). */
function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]+/g, (c) => `_${c.toLowerCase()}`), snakeKeys(v)]));
}
