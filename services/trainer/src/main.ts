import {
  loadOrchestratorSettings,
  loadServiceConfig,
  runServiceMain,
  settingOrExit,
  type ConfigOverrides,
  type RunningService,
} from '@memorize/service-kit';
import { trainerService } from './service.js';

/** Starts the trainer service process (see `memorize serve trainer`). */
export function main(overrides: ConfigOverrides = {}): Promise<RunningService> {
  const settings = settingOrExit('trainer', () => loadOrchestratorSettings('trainer', overrides));
  const { maxMessageBytes } = settingOrExit('trainer', () => loadServiceConfig('trainer', overrides));
  return runServiceMain('trainer', overrides, ({ logger }) => [trainerService(logger, settings, maxMessageBytes)]);
}
