import { InvalidArgumentError } from '@memorize/errors';
import { isServiceName, serviceMain, serviceNames } from '../services.js';

export interface ServeOptions {
  port?: string;
  host?: string;
  logLevel?: string;
  modelRoot?: string;
  memoryRoot?: string;
  dataRoot?: string;
  corpusCacheBytes?: string;
  modelCacheBytes?: string;
  queueDepth?: string;
  dataDir?: string;
  dataAddress?: string;
  modelHosts?: string;
  trainerAddress?: string;
}

/** `memorize serve <service>`: runs one service in this process until SIGTERM/SIGINT. */
export async function runServe(name: string, options: ServeOptions): Promise<void> {
  if (!isServiceName(name)) throw new InvalidArgumentError(`unknown service "${name}"; expected one of ${serviceNames.join(', ')}`, 'service');
  const main = await serviceMain(name);
  await main({
    port: options.port,
    host: options.host,
    logLevel: options.logLevel,
    modelRoot: options.modelRoot,
    memoryRoot: options.memoryRoot,
    dataRoot: options.dataRoot,
    corpusCacheBytes: options.corpusCacheBytes,
    modelCacheBytes: options.modelCacheBytes,
    queueDepth: options.queueDepth,
    dataDir: options.dataDir,
    dataAddress: options.dataAddress,
    modelHosts: options.modelHosts,
    trainerAddress: options.trainerAddress,
  });
}
