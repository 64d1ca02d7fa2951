import { runServiceMain, type ConfigOverrides, type RunningService } from '@memorize/service-kit';
import { modelHostService } from './service.js';

/** Starts the model-host service process (see `memorize serve model-host`). */
export function main(overrides: ConfigOverrides = {}): Promise<RunningService> {
  return runServiceMain('model-host', overrides, ({ logger }) => [modelHostService(logger)]);
}
