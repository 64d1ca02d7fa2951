import { resolve } from 'node:path';
import { defaultPorts, type ConfigOverrides } from '@memorize/service-kit';
import { InvalidArgumentError } from '@memorize/errors';

/** Where the trainer keeps its run store and which services it drives. */
export interface TrainerSettings {
  /** Folder of the run store (runs.sqlite). */
  dataDir: string;
  /** DataService address. */
  dataAddress: string;
  /** Model-host addresses; runs are placed on the least loaded one. */
  modelHosts: string[];
  /** How long a model-host or DataService that stopped answering is waited for before a run fails, ms. */
  hostWaitMs: number;
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
 * Flags win over MEMORIZE_TRAINER_* environment variables, which win over the defaults: --data-dir
 * (MEMORIZE_TRAINER_DATA_DIR, default .memorize/trainer), --data-address (MEMORIZE_TRAINER_DATA_ADDRESS,
 * default 127.0.0.1:50051), --model-hosts (MEMORIZE_TRAINER_MODEL_HOSTS, comma-separated, default
 * 127.0.0.1:50052), MEMORIZE_TRAINER_HOST_WAIT_MS (default 120000). A bad value is InvalidArgumentError naming it.
 */
export function loadTrainerSettings(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): TrainerSettings {
  const pick = (flag: keyof ConfigOverrides, key: string): [string | undefined, string] => {
    const given = overrides[flag];
    if (given !== undefined) return [String(given), `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`];
    return [env[`MEMORIZE_TRAINER_${key}`], `MEMORIZE_TRAINER_${key}`];
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
  const wait = env.MEMORIZE_TRAINER_HOST_WAIT_MS;
  const hostWaitMs = wait === undefined ? 120_000 : Number(wait);
  if (!Number.isInteger(hostWaitMs) || hostWaitMs < 0 || hostWaitMs > 86_400_000)
    throw new InvalidArgumentError(
      `MEMORIZE_TRAINER_HOST_WAIT_MS must be an integer in [0, 86400000], got ${JSON.stringify(wait)}`,
      'MEMORIZE_TRAINER_HOST_WAIT_MS',
    );
  return {
    dataDir: resolve(dir ?? '.memorize/trainer'),
    dataAddress: address(dataAddress ?? `127.0.0.1:${defaultPorts.data}`, dataField),
    modelHosts,
    hostWaitMs,
  };
}
