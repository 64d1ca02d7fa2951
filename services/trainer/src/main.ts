import { runServiceMain, type ConfigOverrides, type RunningService } from '@memorize/service-kit';
import { trainerService } from './service.js';

/** Starts the trainer service process (see `memorize serve trainer`). */
export function main(overrides: ConfigOverrides = {}): Promise<RunningService> {
  return runServiceMain('trainer', overrides, ({ logger }) => [trainerService(logger)]);
}
