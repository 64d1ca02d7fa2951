import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { adaptService, CallTracker, type Implementation, type ServiceDefinitionLike } from './handlers.js';
import type { ServiceConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { addReflection } from './reflection.js';

/** One gRPC service hosted by a process. */
export interface HostedService<D extends ServiceDefinitionLike = ServiceDefinitionLike> {
  /** Fully-qualified name, e.g. "memorize.v1.DataService" (health and reflection use it). */
  serviceName: string;
  /** The ts-proto definition (e.g. DataServiceService). */
  definition: D;
  implementation: Implementation<D>;
  /** Its .proto file relative to protoRoot, for reflection. */
  protoFile: string;
  /** Called when shutdown starts, before the in-flight calls drain (e.g. to pause background work). */
  onShutdown?: () => Promise<void>;
}

export interface StartOptions {
  config: ServiceConfig;
  services: HostedService[];
  /** Folder the proto files are relative to. */
  protoRoot: string;
  logger?: Logger;
  /** Install SIGTERM/SIGINT handlers that drain and exit (default true). */
  handleSignals?: boolean;
}

export interface RunningService {
  server: Server;
  port: number;
  address: string;
  logger: Logger;
  setServing(status: ServingStatus): void;
  /** Stops accepting calls, lets in-flight calls finish within the grace period, then cancels the rest. */
  shutdown(reason?: string): Promise<void>;
  inFlight(): number;
}

/**
 * Starts a gRPC server with the standard health service, server reflection (the hosted services and
 * grpc.health.v1.Health), per-RPC logging and graceful shutdown. Health reports SERVING for "" and every
 * hosted service once bound.
 */
export async function startService(options: StartOptions): Promise<RunningService> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.name, config.logLevel);
  const server = new Server({
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.max_send_message_length': config.maxMessageBytes,
  });
  const tracker = new CallTracker(config.maxConcurrentCalls);

  const names = options.services.map((s) => s.serviceName);
  const health = new HealthImplementation(Object.fromEntries(['', ...names].map((n) => [n, 'NOT_SERVING' as ServingStatus])));
  health.addToServer(server);

  addReflection(server, options.services, options.protoRoot);

  for (const service of options.services) {
    server.addService(
      service.definition as never,
      adaptService(service.definition, service.implementation, logger.child({ grpcService: service.serviceName }), tracker),
    );
  }

  const setServing = (s: ServingStatus): void => {
    for (const n of ['', ...names]) health.setStatus(n, s);
  };
  let stopping: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown'): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      logger.info({ reason, inFlight: tracker.size, graceMs: config.shutdownGraceMs }, 'draining');
      setServing('NOT_SERVING');
      const hooks = Promise.all(
        options.services.map(async (service) => {
          try {
            await service.onShutdown?.();
          } catch (error) {
            logger.error({ err: error, service: service.serviceName }, 'shutdown hook failed');
          }
        }),
      );
      const timer = setTimeout(() => {
        logger.warn({ inFlight: tracker.size }, 'grace period over: cancelling remaining calls');
        tracker.abortAll('server shutting down');
        server.forceShutdown();
        resolve();
      }, config.shutdownGraceMs);
      timer.unref();
      server.tryShutdown(() => {
        void hooks.then(() => {
          clearTimeout(timer);
          logger.info('stopped');
          resolve();
        });
      });
    });
    return stopping;
  };

  // Signals are handled before the port is bound, so a SIGTERM that arrives during startup still drains and
  // exits 0 instead of killing the process.
  if (options.handleSignals !== false) {
    const onSignal = (signal: NodeJS.Signals): void => {
      void shutdown(signal).then(() => {
        logger.flush?.();
        process.exit(0);
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${config.host}:${config.port}`, ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(new Error(`cannot listen on ${config.host}:${config.port}: ${error.message}`));
      else resolve(bound);
    });
  });
  setServing('SERVING');
  const address = `${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ address, services: names }, 'listening');

  return { server, port, address, logger, setServing, shutdown, inFlight: () => tracker.size };
}
