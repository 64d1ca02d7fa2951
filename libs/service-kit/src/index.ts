export {
  loadServiceConfig,
  loadRoot,
  loadQueueDepth,
  DEFAULT_QUEUE_DEPTH,
  memorizeHome,
  defaultPorts,
  type ServiceConfig,
  type ConfigOverrides,
  type RootKind,
} from './config.js';
export { createLogger, type Logger } from './logger.js';
export { toStatusError, GrpcStatusError, status, type StatusError } from './status.js';
export { adaptService, validatedUnimplemented, type CallContext, type Implementation, type UnaryHandler, type StreamHandler } from './handlers.js';
export { startService, type HostedService, type RunningService, type StartOptions } from './server.js';
export { connect, callUnary, callStream, checkHealth, waitHealthy } from './client.js';
export { fromGrpc, isServing, remoteStream, remoteUnary } from './remote.js';
export { remoteDataService, remoteModelHost, remoteTrainer } from './remote-services.js';
export { loadOrchestratorSettings, type OrchestratorSettings } from './orchestrator.js';
export { runServiceMain } from './main.js';
export { addReflection, healthServiceName, reflectionDefinition } from './reflection.js';
export { healthFileDescriptor, healthProtoFile } from './health-descriptor.js';
export { ByteBudgetCache, type ByteBudgetCacheOptions } from './byte-cache.js';
export { defaultCacheBytes, loadCacheBudget, parseBytes, type CacheKind, type CacheOverrides } from './cache-config.js';
export { cacheBudgetOrExit, settingOrExit } from './cache-config-main.js';
