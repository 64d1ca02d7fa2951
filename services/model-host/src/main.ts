import { loadRoot, runServiceMain, type ConfigOverrides, type RunningService } from '@memorize/service-kit';
import { initBackend } from '@memorize/tensor';
import { modelHostService } from './service.js';

/** Starts the model-host service process (see `memorize serve model-host`). */
export function main(overrides: ConfigOverrides = {}): Promise<RunningService> {
  return runServiceMain('model-host', overrides, async ({ logger }) => {
    const roots = { model: loadRoot('model-host', 'model', overrides), memory: loadRoot('model-host', 'memory', overrides) };
    const backend = await initBackend({ logger: (line) => logger.info(line) });
    return [modelHostService(logger, backend, roots)];
  });
}
