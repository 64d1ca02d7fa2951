import {
  cacheBudgetOrExit,
  loadQueueDepth,
  loadRoot,
  parseBytes,
  runServiceMain,
  settingOrExit,
  type CacheOverrides,
  type ConfigOverrides,
  type RunningService,
} from '@memorize/service-kit';
import { InvalidArgumentError } from '@memorize/errors';
import { initBackend } from '@memorize/tensor';
import { ModelRegistry, withModelPins } from './models.js';
import { DEFAULT_PREFIX_CACHE_BYTES, modelHostService } from './service.js';

/** Score's prefix-cache budget from MEMORIZE_MODEL_HOST_PREFIX_CACHE_BYTES (a byte count or a size; 0 = off). */
function prefixCacheBytes(env: NodeJS.ProcessEnv = process.env): number {
  const name = 'MEMORIZE_MODEL_HOST_PREFIX_CACHE_BYTES';
  const value = env[name];
  if (value === undefined || value === '') return DEFAULT_PREFIX_CACHE_BYTES;
  const bytes = parseBytes(value);
  if (bytes === undefined)
    throw new InvalidArgumentError(`${name} must be a byte count (e.g. 268435456, 256MiB, or 0 for off), got ${JSON.stringify(value)}`, name);
  return bytes;
}

/** Starts the model-host service process (see `memorize serve model-host`). */
export function main(overrides: ConfigOverrides & CacheOverrides = {}): Promise<RunningService> {
  ModelRegistry.defaultBudgetBytes = cacheBudgetOrExit('model-host', 'modelCacheBytes', overrides);
  const queueDepth = settingOrExit('model-host', () => loadQueueDepth('model-host', overrides));
  const prefixBytes = settingOrExit('model-host', () => prefixCacheBytes());
  return runServiceMain('model-host', overrides, async ({ logger }) => {
    const roots = { model: loadRoot('model-host', 'model', overrides), memory: loadRoot('model-host', 'memory', overrides) };
    logger.info({ modelCacheBytes: ModelRegistry.defaultBudgetBytes }, 'model cache');
    const backend = await initBackend({ logger: (line) => logger.info(line) });
    const service = modelHostService(logger, backend, roots, { queueDepth, prefixCacheBytes: prefixBytes });
    // Every model a call looks up stays pinned (never evicted) until the call ends.
    return [{ ...service, implementation: withModelPins(service.implementation) }];
  });
}
