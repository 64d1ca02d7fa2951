import {
  loadOrchestratorSettings,
  loadServiceConfig,
  runServiceMain,
  settingOrExit,
  type ConfigOverrides,
  type RunningService,
} from '@memorize/service-kit';
import { evaluatorService } from './service.js';

/** Starts the evaluator service process (see `memorize serve evaluator`). */
export function main(overrides: ConfigOverrides = {}): Promise<RunningService> {
  const settings = settingOrExit('evaluator', () => loadOrchestratorSettings('evaluator', overrides));
  const { maxMessageBytes } = settingOrExit('evaluator', () => loadServiceConfig('evaluator', overrides));
  return runServiceMain('evaluator', overrides, ({ logger }) => [evaluatorService(logger, settings, maxMessageBytes)]);
}
