import {
  cacheBudgetOrExit,
  loadQueueDepth,
  loadRoot,
  runServiceMain,
  settingOrExit,
  type CacheOverrides,
  type ConfigOverrides,
  type RunningService,
} from '@memorize/service-kit';
import { initBackend } from '@memorize/tensor';
import { ModelRegistry, withModelPins } from './models.js';
import { modelHostService } from './service.js';

/** Starts the model-host service process (see `memorize serve model-host`). */
export function main(overrides: ConfigOverrides & CacheOverrides = {}): Promise<RunningService> {
  ModelRegistry.defaultBudgetBytes = cacheBudgetOrExit('model-host', 'modelCacheBytes', overrides);
  const queueDepth = settingOrExit('model-host', () => loadQueueDepth('model-host', overrides));
  return runServiceMain('model-host', overrides, async ({ logger }) => {
    const roots = { model: loadRoot('model-host', 'model', overrides), memory: loadRoot('model-host', 'memory', overrides) };
    logger.info({ modelCacheBytes: ModelRegistry.defaultBudgetBytes }, 'model cache');
    const backend = await initBackend({ logger: (line) => logger.info(line) });
    const service = modelHostService(logger, backend, roots, { queueDepth });
    // Every model a call looks up stays pinned (never evicted) until the call ends.
    return [{ ...service, implementation: withModelPins(service.implementation) }];
  });
}
