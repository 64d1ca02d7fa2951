import { protoRoot } from '@memorize/contracts';
import { loadServiceConfig, type ConfigOverrides } from './config.js';
import { createLogger } from './logger.js';
import { startService, type HostedService, type RunningService } from './server.js';

/**
 * The one way every service process starts: resolve configuration (flags over env over defaults),
 * build the service's handlers, bind, and serve until SIGTERM/SIGINT. Bad configuration exits 2
 * with a message naming the setting.
 */
export async function runServiceMain(
  name: string,
  overrides: ConfigOverrides,
  build: (ctx: { logger: ReturnType<typeof createLogger> }) => Promise<HostedService[]> | HostedService[],
): Promise<RunningService> {
  let config;
  try {
    config = loadServiceConfig(name, overrides);
  } catch (error) {
    process.stderr.write(`memorize ${name}: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger(name, config.logLevel);
  // A stray rejection must not take the whole service down with the calls in flight: log it and serve on.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  // Until the server installs its draining handlers, a SIGTERM (e.g. `stack down` during startup) just ends
  // the process cleanly: nothing is in flight yet.
  const duringStartup = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'stopped during startup');
    process.exit(0);
  };
  process.once('SIGTERM', duringStartup);
  process.once('SIGINT', duringStartup);
  try {
    const services = await build({ logger });
    process.removeListener('SIGTERM', duringStartup);
    process.removeListener('SIGINT', duringStartup);
    return await startService({ config, services, protoRoot, logger });
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  }
}
