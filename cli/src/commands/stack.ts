import { checkHealth, defaultPorts, waitHealthy } from '@memorize/service-kit';
import { FailedPreconditionError, InvalidArgumentError } from '@memorize/errors';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '@memorize/files';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceNames, type ServiceName } from '../services.js';

/** What `stack up` records so that `status` and `down` find the processes again. */
export interface StackState {
  startedAt: string;
  host: string;
  logDir: string;
  /** The roots given to model-host and data. */
  roots?: StackRoots;
  services: Array<{ name: ServiceName; pid: number; port: number; address: string; log: string }>;
}

export interface StackOptions {
  /** Folder for stack.json and logs; default $MEMORIZE_HOME or ./.memorize. */
  dir?: string;
  host?: string;
  /** Per-service port overrides. */
  ports?: Partial<Record<ServiceName, number>>;
  timeoutMs?: number;
  err?: NodeJS.WritableStream;
  /** Roots passed to the services (see stackRoots for the defaults). */
  roots?: Partial<StackRoots>;
}

/** The roots the local stack gives model-host (model, memory) and data (data). */
export interface StackRoots {
  model: string;
  memory: string;
  data: string;
}

const cliEntry = fileURLToPath(new URL('../../bin/memorize.mjs', import.meta.url));

/**
 * The local stack's roots, so that the README's commands keep working: the repository's ../shared (models and
 * FEVER data) as model and data root, the working directory as memory root. Given roots win.
 */
export function stackRoots(given: Partial<StackRoots> = {}): StackRoots {
  const shared = resolve(dirname(cliEntry), '..', '..', '..', 'shared');
  return {
    model: resolve(given.model ?? shared),
    memory: resolve(given.memory ?? process.cwd()),
    data: resolve(given.data ?? shared),
  };
}

/** The root flags of one service. */
function rootFlags(name: ServiceName, roots: StackRoots): string[] {
  if (name === 'model-host') return ['--model-root', roots.model, '--memory-root', roots.memory];
  if (name === 'data') return ['--data-root', roots.data];
  return [];
}

export function stackDir(dir?: string): string {
  return resolve(dir ?? process.env.MEMORIZE_HOME ?? '.memorize');
}

function stateFile(dir: string): string {
  return join(dir, 'stack.json');
}

export function readStack(dir: string): StackState | undefined {
  const file = stateFile(dir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as StackState;
}

function writeStack(dir: string, state: StackState): void {
  writeFileAtomic(stateFile(dir), Buffer.from(JSON.stringify(state, null, 2) + '\n'), 'dir');
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when `pid` is still our service: alive and running `memorize ... serve <name>`. A pid recorded in
 * stack.json may have been reused by an unrelated process after the service died; that one is never signalled.
 */
export function isOurService(pid: number, name: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const serve = argv.indexOf('serve');
    return serve > 0 && argv[serve + 1] === name && argv.some((a) => a.endsWith('memorize.mjs'));
  } catch {
    // No /proc (not Linux): fall back to liveness.
    return true;
  }
}

function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false; // exited in between
  }
}

/** `memorize stack up`: starts the four services as background processes and waits until each is healthy. */
export async function stackUp(options: StackOptions = {}): Promise<StackState> {
  const dir = stackDir(options.dir);
  const existing = readStack(dir);
  if (existing && existing.services.some((s) => isOurService(s.pid, s.name))) {
    throw new FailedPreconditionError(`a stack is already running from ${dir} (run \`memorize stack down\` first)`, 'dir');
  }
  const host = options.host ?? '127.0.0.1';
  const logDir = join(dir, 'logs', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(logDir, { recursive: true });
  const roots = stackRoots(options.roots);
  const state: StackState = { startedAt: new Date().toISOString(), host, logDir, roots, services: [] };
  const exits: Array<Promise<never>> = [];
  for (const name of serviceNames) {
    const port = options.ports?.[name] ?? defaultPorts[name];
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`port of ${name} must be in 1..65535`, `--${name}-port`);
    const log = join(logDir, `${name}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(process.execPath, [cliEntry, 'serve', name, '--port', String(port), '--host', host, ...rootFlags(name, roots)], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, MEMORIZE_LOG_FORMAT: 'json' },
    });
    closeSync(fd);
    // A service that exits while we wait for it (port taken, bad flag) fails `up` at once, naming its log.
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} before it was healthy (see ${log})`))),
    );
    exited.catch(() => undefined); // only the race below cares; a later exit must not be an unhandled rejection
    exits.push(exited);
    child.unref();
    const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    state.services.push({ name, pid: child.pid!, port, address, log });
  }
  writeStack(dir, state);
  try {
    const healthy = Promise.all(
      state.services.map(async (s) => {
        await waitHealthy(s.address, options.timeoutMs ?? 60_000);
        options.err?.write(`${s.name.padEnd(10)} ${s.address} pid ${s.pid} SERVING\n`);
      }),
    );
    await Promise.race([healthy, ...exits]);
  } catch (error) {
    await stackDown({ dir });
    const logs = state.services.map((s) => s.log).join(', ');
    throw new FailedPreconditionError(`stack did not come up: ${(error as Error).message}; logs: ${logs}`);
  }
  return state;
}

export interface ServiceStatus {
  name: string;
  pid: number;
  address: string;
  alive: boolean;
  health: string;
}

/** `memorize stack status`: each service's process and health. */
export async function stackStatus(options: StackOptions = {}): Promise<ServiceStatus[]> {
  const state = readStack(stackDir(options.dir));
  if (!state) return [];
  return Promise.all(
    state.services.map(async (s) => {
      const alive = isOurService(s.pid, s.name);
      let health = 'DOWN';
      if (alive) {
        try {
          health = await checkHealth(s.address, '', 2_000);
        } catch (error) {
          health = `UNREACHABLE (${(error as Error).message.split('\n')[0]})`;
        }
      }
      return { name: s.name, pid: s.pid, address: s.address, alive, health };
    }),
  );
}

/** `memorize stack down`: SIGTERM every service, wait for them to drain, SIGKILL stragglers. */
export async function stackDown(options: StackOptions = {}): Promise<Array<{ name: string; pid: number; how: string }>> {
  const dir = stackDir(options.dir);
  const state = readStack(dir);
  if (!state) return [];
  const results = await Promise.all(
    state.services.map(async (s) => {
      if (!isOurService(s.pid, s.name) || !signal(s.pid, 'SIGTERM')) return { name: s.name, pid: s.pid, how: 'not running' };
      const until = Date.now() + (options.timeoutMs ?? 20_000);
      while (Date.now() < until && isAlive(s.pid)) await new Promise((r) => setTimeout(r, 50));
      if (!isAlive(s.pid)) return { name: s.name, pid: s.pid, how: 'stopped' };
      signal(s.pid, 'SIGKILL');
      return { name: s.name, pid: s.pid, how: 'killed after timeout' };
    }),
  );
  rmSync(stateFile(dir), { force: true });
  return results;
}
