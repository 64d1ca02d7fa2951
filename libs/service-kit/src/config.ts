import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '@memorize/errors';

/** Settings every service shares. Flags win over environment, environment over defaults. */
export interface ServiceConfig {
  /** Short service name ("data", "model-host", ...): used in logs and env prefixes. */
  name: string;
  host: string;
  /** 0 asks the OS for a free port. */
  port: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest message accepted or sent, bytes. */
  maxMessageBytes: number;
  /** How long SIGTERM waits for in-flight calls before cancelling them, milliseconds. */
  shutdownGraceMs: number;
  /** Calls handled at once before RESOURCE_EXHAUSTED; 0 = unlimited. */
  maxConcurrentCalls: number;
}

/** Default ports from DESIGN.md. */
export const defaultPorts: Record<string, number> = {
  data: 50051,
  'model-host': 50052,
  trainer: 50053,
  evaluator: 50054,
};

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface ConfigOverrides {
  host?: string;
  port?: number | string;
  logLevel?: string;
  maxMessageBytes?: number | string;
  shutdownGraceMs?: number | string;
  maxConcurrentCalls?: number | string;
  /** Folder client model paths resolve in (model-host). */
  modelRoot?: string;
  /** Folder client memory paths resolve in (model-host). */
  memoryRoot?: string;
  /** Folder client data paths resolve in (data). */
  dataRoot?: string;
  /** model-host: calls a model's queue holds (waiting or running) before RESOURCE_EXHAUSTED. */
  queueDepth?: number | string;
  /** trainer / evaluator: folder of the run store (SQLite database); default .memorize/<service>. */
  dataDir?: string;
  /** trainer / evaluator: DataService address (host:port); default 127.0.0.1:50051. */
  dataAddress?: string;
  /** trainer / evaluator: model-host addresses, comma-separated; default 127.0.0.1:50052. */
  modelHosts?: string;
  /** evaluator: Trainer address; default 127.0.0.1:50053. */
  trainerAddress?: string;
}

function envKey(name: string, key: string): string {
  return `MEMORIZE_${name.toUpperCase().replace(/-/g, '_')}_${key}`;
}

function integer(value: number | string, field: string, min: number, max: number): number {
  const n = typeof value === 'number' ? value : Number(value.trim());
  if (!Number.isInteger(n) || n < min || n > max || (typeof value === 'string' && value.trim() === '')) {
    throw new InvalidArgumentError(`${field} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`, field);
  }
  return n;
}

/**
 * Resolves a service's configuration. Environment: MEMORIZE_<NAME>_PORT, MEMORIZE_<NAME>_HOST, then the
 * generic MEMORIZE_HOST, MEMORIZE_LOG_LEVEL, MEMORIZE_MAX_MESSAGE_BYTES, MEMORIZE_SHUTDOWN_GRACE_MS,
 * MEMORIZE_MAX_CONCURRENT_CALLS. Throws InvalidArgumentError naming the bad setting.
 */
export function loadServiceConfig(name: string, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const pick = (key: string, flag: keyof ConfigOverrides): { value: string | number | undefined; field: string } => {
    if (overrides[flag] !== undefined) return { value: overrides[flag], field: `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` };
    const specific = envKey(name, key);
    if (env[specific] !== undefined) return { value: env[specific], field: specific };
    if (env[`MEMORIZE_${key}`] !== undefined) return { value: env[`MEMORIZE_${key}`], field: `MEMORIZE_${key}` };
    return { value: undefined, field: `--${flag}` };
  };
  const port = pick('PORT', 'port');
  const host = pick('HOST', 'host');
  const level = pick('LOG_LEVEL', 'logLevel');
  const maxBytes = pick('MAX_MESSAGE_BYTES', 'maxMessageBytes');
  const grace = pick('SHUTDOWN_GRACE_MS', 'shutdownGraceMs');
  const concurrent = pick('MAX_CONCURRENT_CALLS', 'maxConcurrentCalls');

  const hostValue = host.value === undefined ? '127.0.0.1' : String(host.value).trim();
  if (hostValue === '' || /\s/.test(hostValue)) throw new InvalidArgumentError(`${host.field} must be a host name or address`, host.field);
  const levelValue = level.value === undefined ? 'info' : String(level.value);
  if (!(logLevels as readonly string[]).includes(levelValue)) {
    throw new InvalidArgumentError(`${level.field} must be one of ${logLevels.join(', ')}, got ${JSON.stringify(levelValue)}`, level.field);
  }
  return {
    name,
    host: hostValue,
    port: port.value === undefined ? (defaultPorts[name] ?? 0) : integer(port.value, port.field, 0, 65535),
    logLevel: levelValue as ServiceConfig['logLevel'],
    maxMessageBytes: maxBytes.value === undefined ? 64 * 1024 * 1024 : integer(maxBytes.value, maxBytes.field, 1024, 2 ** 31 - 1),
    shutdownGraceMs: grace.value === undefined ? 10_000 : integer(grace.value, grace.field, 0, 3_600_000),
    maxConcurrentCalls: concurrent.value === undefined ? 0 : integer(concurrent.value, concurrent.field, 0, 1_000_000),
  };
}

/** The kinds of client paths, each confined to its root. */
export type RootKind = 'model' | 'memory' | 'data';

/** MEMORIZE_HOME, default ~/.memorize: where the default roots live. */
export function memorizeHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.MEMORIZE_HOME || join(homedir(), '.memorize'));
}

/**
 * The root a service resolves client paths of one kind in: the flag (--model-root, --memory-root, --data-root),
 * else MEMORIZE_<SERVICE>_<KIND>_ROOT, else the generic MEMORIZE_<KIND>_ROOT, else $MEMORIZE_HOME/<kind>s
 * (models, memories, data). Returned absolute. An empty value is InvalidArgumentError naming the setting.
 */
export function loadRoot(name: string, kind: RootKind, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): string {
  const flag = `${kind}Root` as 'modelRoot' | 'memoryRoot' | 'dataRoot';
  const key = `${kind.toUpperCase()}_ROOT`;
  const candidates: Array<[string | undefined, string]> = [
    [overrides[flag], `--${kind}-root`],
    [env[envKey(name, key)], envKey(name, key)],
    [env[`MEMORIZE_${key}`], `MEMORIZE_${key}`],
  ];
  for (const [value, field] of candidates) {
    if (value === undefined) continue;
    if (value.trim() === '' || value.includes('\u0000')) throw new InvalidArgumentError(`${field} must be a folder path`, field);
    return resolve(value);
  }
  return join(memorizeHome(env), { model: 'models', memory: 'memories', data: 'data' }[kind]);
}

/** The default depth of a model's job queue in model-host (--queue-depth). */
export const DEFAULT_QUEUE_DEPTH = 64;

/**
 * The depth of a model's job queue: the flag (--queue-depth), else MEMORIZE_<SERVICE>_QUEUE_DEPTH, else
 * MEMORIZE_QUEUE_DEPTH, else 64. An integer in [1, 100000]; anything else is InvalidArgumentError naming the setting.
 */
export function loadQueueDepth(name: string, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): number {
  const candidates: Array<[number | string | undefined, string]> = [
    [overrides.queueDepth, '--queue-depth'],
    [env[envKey(name, 'QUEUE_DEPTH')], envKey(name, 'QUEUE_DEPTH')],
    [env.MEMORIZE_QUEUE_DEPTH, 'MEMORIZE_QUEUE_DEPTH'],
  ];
  for (const [value, field] of candidates) if (value !== undefined) return integer(value, field, 1, 100_000);
  return DEFAULT_QUEUE_DEPTH;
}
