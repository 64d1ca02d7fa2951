import { loadRoot, runServiceMain, type ConfigOverrides, type RunningService } from '@memorize/service-kit';
import { dataService } from './service.js';

/** Starts the data service process (see `memorize serve data`). */
export function main(overrides: ConfigOverrides = {}): Promise<RunningService> {
  return runServiceMain('data', overrides, ({ logger }) => [dataService(logger, loadRoot('data', 'data', overrides))]);
}
