import { runServiceMain, type ConfigOverrides, type RunningService } from '@memorize/service-kit';
import { evaluatorService } from './service.js';

/** Starts the evaluator service process (see `memorize serve evaluator`). */
export function main(overrides: ConfigOverrides = {}): Promise<RunningService> {
  return runServiceMain('evaluator', overrides, ({ logger }) => [evaluatorService(logger)]);
}
