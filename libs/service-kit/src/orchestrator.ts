import { resolve } from 'node:path';
import { defaultPorts, type ConfigOverrides } from './config.js';
import { InvalidArgumentError } from '@memorize/errors';

/** Where an orchestrator (trainer, evaluator) keeps its store and which services it drives. */
export interface OrchestratorSettings {
  /** Folder of the run store (runs.sqlite). */
  dataDir: string;
  /** DataService address. */
  dataAddress: string;
  /** Model-host addresses; runs are placed on the least loaded one. */
  modelHosts: string[];
  /** How long a model-host or DataService that stopped answering is waited for before a run fails, ms. */
  hostWaitMs: number;
  /** The Trainer's address (the evaluator's sweeps train through it). */
  trainerAddress: string;
}

const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

function address(value: string, field: string): string {
  const v = value.trim();
  const port = Number(v.slice(v.lastIndexOf(':') + 1));
  if (!ADDRESS.test(v) || !(port >= 1 && port <= 65535))
    throw new InvalidArgumentError(`${field} must be host:port addresses, got ${JSON.stringify(value)}`, field);
  return v;
}

/**
 * Settings of the orchestrator `name` ("trainer", "evaluator"). Flags win over MEMORIZE_<NAME>_* environment
 * variables, which win over the defaults: --data-dir (MEMORIZE_<NAME>_DATA_DIR, default .memorize/<name>),
 * --data-address (MEMORIZE_<NAME>_DATA_ADDRESS, default 127.0.0.1:50051), --model-hosts
 * (MEMORIZE_<NAME>_MODEL_HOSTS, comma-separated, default 127.0.0.1:50052), --trainer-address
 * (MEMORIZE_<NAME>_TRAINER_ADDRESS, default 127.0.0.1:50053), MEMORIZE_<NAME>_HOST_WAIT_MS (default 120000). A bad
 * value is InvalidArgumentError naming it.
 */
export function loadOrchestratorSettings(name: string, overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): OrchestratorSettings {
  const prefix = `MEMORIZE_${name.toUpperCase().replace(/-/g, '_')}_`;
  const pick = (flag: keyof ConfigOverrides, key: string): [string | undefined, string] => {
    const given = overrides[flag];
    if (given !== undefined) return [String(given), `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`];
    return [env[`${prefix}${key}`], `${prefix}${key}`];
  };
  const [dir, dirField] = pick('dataDir', 'DATA_DIR');
  if (dir !== undefined && (dir.trim() === '' || dir.includes('\u0000')))
    throw new InvalidArgumentError(`${dirField} must be a folder path`, dirField);
  const [dataAddress, dataField] = pick('dataAddress', 'DATA_ADDRESS');
  const [hosts, hostsField] = pick('modelHosts', 'MODEL_HOSTS');
  const modelHosts = (hosts ?? `127.0.0.1:${defaultPorts['model-host']}`)
    .split(',')
    .filter((h) => h.trim() !== '')
    .map((h) => address(h, hostsField));
  if (modelHosts.length === 0) throw new InvalidArgumentError(`${hostsField} must list at least one host:port`, hostsField);
  if (new Set(modelHosts).size !== modelHosts.length) throw new InvalidArgumentError(`${hostsField} lists an address twice`, hostsField);
  const [trainerAddress, trainerField] = pick('trainerAddress', 'TRAINER_ADDRESS');
  const waitKey = `${prefix}HOST_WAIT_MS`;
  const wait = env[waitKey];
  const hostWaitMs = wait === undefined ? 120_000 : Number(wait);
  if (!Number.isInteger(hostWaitMs) || hostWaitMs < 0 || hostWaitMs > 86_400_000)
    throw new InvalidArgumentError(`${waitKey} must be an integer in [0, 86400000], got ${JSON.stringify(wait)}`, waitKey);
  return {
    dataDir: resolve(dir ?? `.memorize/${name}`),
    dataAddress: address(dataAddress ?? `127.0.0.1:${defaultPorts.data}`, dataField),
    modelHosts,
    hostWaitMs,
    trainerAddress: address(trainerAddress ?? `127.0.0.1:${defaultPorts.trainer}`, trainerField),
  };
}
