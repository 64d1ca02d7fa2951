import { checkHealth, defaultPorts, waitHealthy } from '@memorize/service-kit';
import { FailedPreconditionError, InvalidArgumentError } from '@memorize/errors';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '@memorize/files';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServiceName } from '../services.js';

/** One recorded service process. model-hosts carry their index (0-based) among the stack's model-hosts. */
export interface StackService {
  name: ServiceName;
  instance?: number;
  pid: number;
  port: number;
  address: string;
  log: string;
}

/** What `stack up` records so that `status` and `down` find the processes again. */
export interface StackState {
  startedAt: string;
  host: string;
  /** The log folder of the latest `stack up` that started something. */
  logDir: string;
  /** The roots given to model-host and data. */
  roots?: StackRoots;
  services: StackService[];
}

export interface StackOptions {
  /** Folder for stack.json and logs; default $MEMORIZE_HOME or ./.memorize. */
  dir?: string;
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** Per-service port overrides; for model-host, the first model-host's port. */
  ports?: Partial<Record<ServiceName, number>>;
  /** model-host processes (default 1). */
  modelHosts?: number;
  timeoutMs?: number;
  err?: NodeJS.WritableStream;
  /** Roots passed to the services (see stackRoots for the defaults). */
  roots?: Partial<StackRoots>;
}

/** What `stack up` did: the stack, and which services it started or found running. */
export interface StackUpResult extends StackState {
  started: string[];
  kept: string[];
}

/** The roots the local stack gives model-host (model, memory) and data (data). */
export interface StackRoots {
  model: string;
  memory: string;
  data: string;
}

/** At most this many model-hosts in a local stack. */
export const MAX_MODEL_HOSTS = 64;
/**
 * First port of the model-hosts when there are several (`--model-hosts N`, N > 1, no --model-host-port): they take
 * 50060..50060+N-1, clear of the default ports 50051-50054. One model-host keeps model-host's default port 50052.
 */
export const MODEL_HOSTS_BASE_PORT = 50060;

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

/** A service of the planned stack: its name, model-host index and port. */
interface Planned {
  name: ServiceName;
  instance?: number;
  port: number;
}

const addressOf = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;
const label = (s: { name: string; instance?: number }): string => (s.instance === undefined ? s.name : `${s.name}#${s.instance + 1}`);

/** The stack's processes and ports: data, N model-hosts on consecutive ports, trainer, evaluator. */
function planStack(ports: Partial<Record<ServiceName, number>>, modelHosts: number): Planned[] {
  if (!Number.isInteger(modelHosts) || modelHosts < 1 || modelHosts > MAX_MODEL_HOSTS)
    throw new InvalidArgumentError(`--model-hosts must be an integer in 1..${MAX_MODEL_HOSTS}, got ${modelHosts}`, '--model-hosts');
  const port = (name: ServiceName): number => {
    const p = ports[name] ?? defaultPorts[name];
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new InvalidArgumentError(`--${name}-port must be in 1..65535, got ${p}`, `--${name}-port`);
    return p;
  };
  const first = ports['model-host'] ?? (modelHosts > 1 ? MODEL_HOSTS_BASE_PORT : defaultPorts['model-host']);
  if (!Number.isInteger(first) || first < 1)
    throw new InvalidArgumentError(`--model-host-port must be in 1..65535, got ${first}`, '--model-host-port');
  if (first + modelHosts - 1 > 65535)
    throw new InvalidArgumentError(`--model-host-port ${first} leaves no room for ${modelHosts} model-hosts`, '--model-host-port');
  const plan: Planned[] = [
    { name: 'data', port: port('data') },
    ...Array.from({ length: modelHosts }, (_, i) => ({ name: 'model-host' as const, instance: i, port: first + i })),
    { name: 'trainer', port: port('trainer') },
    { name: 'evaluator', port: port('evaluator') },
  ];
  const seen = new Map<number, Planned>();
  for (const p of plan) {
    const other = seen.get(p.port);
    if (other)
      throw new InvalidArgumentError(
        `port ${p.port} is given to both ${label(other)} and ${label(p)} (the model-hosts take ${first}..${first + modelHosts - 1}; see --model-host-port)`,
        '--model-host-port',
      );
    seen.set(p.port, p);
  }
  return plan;
}

/** The flags of one planned service: roots, and the orchestrators' addresses of the others and their store folders. */
function serviceFlags(p: Planned, plan: Planned[], host: string, roots: StackRoots, dir: string): string[] {
  const at = (name: ServiceName): string[] => plan.filter((q) => q.name === name).map((q) => addressOf(host, q.port));
  const flags = rootFlags(p.name, roots);
  if (p.name === 'trainer' || p.name === 'evaluator') {
    flags.push('--data-dir', join(dir, p.name), '--data-address', at('data')[0], '--model-hosts', at('model-host').join(','));
    if (p.name === 'evaluator') flags.push('--trainer-address', at('trainer')[0]);
  }
  return flags;
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

/** SIGTERM one process, wait for it to drain, SIGKILL it after `timeoutMs`. */
async function stopProcess(s: StackService, timeoutMs: number): Promise<string> {
  if (!isOurService(s.pid, s.name) || !signal(s.pid, 'SIGTERM')) return 'not running';
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && isAlive(s.pid)) await new Promise((r) => setTimeout(r, 50));
  if (!isAlive(s.pid)) return 'stopped';
  signal(s.pid, 'SIGKILL');
  return 'killed after timeout';
}

/**
 * `memorize stack up`: starts data, `modelHosts` model-hosts, the trainer and the evaluator as background processes
 * and waits until each is healthy. On a stack that is partly running (stack.json lists live processes) only the
 * missing services are started, with the recorded ports, host and roots; the running ones are kept (and
 * health-checked). Changing the layout of a running stack (--model-hosts, a port, the host) needs `stack down` first.
 */
export async function stackUp(options: StackOptions = {}): Promise<StackUpResult> {
  const dir = stackDir(options.dir);
  const existing = readStack(dir);
  const live = new Set(existing?.services.filter((s) => isOurService(s.pid, s.name)) ?? []);
  let host: string;
  let roots: StackRoots;
  let plan: Planned[];
  if (existing && live.size > 0) {
    const recordedHosts = existing.services.filter((s) => s.name === 'model-host');
    const change = (what: string): never => {
      throw new FailedPreconditionError(`a stack is already running from ${dir} with ${what}; run \`memorize stack down\` first to change it`, 'dir');
    };
    if (options.modelHosts !== undefined && options.modelHosts !== recordedHosts.length)
      change(`${recordedHosts.length} model-host${recordedHosts.length === 1 ? '' : 's'} (asked for ${options.modelHosts})`);
    if (options.host !== undefined && options.host !== existing.host) change(`host ${existing.host}`);
    for (const [name, port] of Object.entries(options.ports ?? {})) {
      const recorded = existing.services.find((s) => s.name === name);
      if (port !== undefined && recorded && recorded.port !== port) change(`${name} on port ${recorded.port}`);
    }
    for (const [kind, given] of Object.entries(options.roots ?? {}) as Array<[keyof StackRoots, string | undefined]>)
      if (given !== undefined && existing.roots && resolve(given) !== existing.roots[kind]) change(`${String(kind)} root ${existing.roots[kind]}`);
    host = existing.host;
    roots = existing.roots ?? stackRoots(options.roots);
    plan = existing.services.map((s) => ({ name: s.name, instance: s.instance ?? (s.name === 'model-host' ? 0 : undefined), port: s.port }));
  } else {
    host = options.host ?? '127.0.0.1';
    roots = stackRoots(options.roots);
    plan = planStack(options.ports ?? {}, options.modelHosts ?? 1);
  }

  const kept = new Map<Planned, StackService>();
  for (const p of plan) {
    const running = [...live].find((s) => s.name === p.name && s.port === p.port);
    if (running) kept.set(p, running);
  }
  const toStart = plan.filter((p) => !kept.has(p));
  const logDir = toStart.length > 0 ? join(dir, 'logs', new Date().toISOString().replace(/[:.]/g, '-')) : existing!.logDir;
  if (toStart.length > 0) mkdirSync(logDir, { recursive: true });
  const state: StackState = {
    startedAt: existing && live.size > 0 ? existing.startedAt : new Date().toISOString(),
    host,
    logDir,
    roots,
    services: [],
  };
  const started: StackService[] = [];
  const exits: Array<Promise<never>> = [];
  for (const p of plan) {
    const keep = kept.get(p);
    if (keep) {
      state.services.push(keep);
      continue;
    }
    const log = join(
      logDir,
      `${p.instance === undefined || plan.filter((q) => q.name === p.name).length === 1 ? p.name : `${p.name}-${p.instance + 1}`}.log`,
    );
    const fd = openSync(log, 'a');
    const args = [cliEntry, 'serve', p.name, '--port', String(p.port), '--host', host, ...serviceFlags(p, plan, host, roots, dir)];
    const child = spawn(process.execPath, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, MEMORIZE_LOG_FORMAT: 'json' },
    });
    closeSync(fd);
    // A service that exits while we wait for it (port taken, bad flag) fails `up` at once, naming its log.
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`${p.name} exited with code ${code} before it was healthy (see ${log})`))),
    );
    exited.catch(() => undefined); // only the race below cares; a later exit must not be an unhandled rejection
    exits.push(exited);
    child.unref();
    const service: StackService = {
      name: p.name,
      ...(p.name === 'model-host' ? { instance: p.instance } : {}),
      pid: child.pid!,
      port: p.port,
      address: addressOf(host, p.port),
      log,
    };
    state.services.push(service);
    started.push(service);
  }
  writeStack(dir, state);
  try {
    const healthy = Promise.all(
      state.services.map(async (s) => {
        await waitHealthy(s.address, options.timeoutMs ?? 60_000);
        const how = started.includes(s) ? 'started' : 'already running';
        options.err?.write(`${label(s).padEnd(13)} ${s.address} pid ${s.pid} SERVING (${how})\n`);
      }),
    );
    await Promise.race([healthy, ...exits]);
  } catch (error) {
    // Take down what this call started; the processes that were already running stay.
    await Promise.all(started.map((s) => stopProcess(s, 20_000)));
    const keptServices = state.services.filter((s) => !started.includes(s));
    if (keptServices.length === 0) rmSync(stateFile(dir), { force: true });
    else writeStack(dir, { ...state, services: keptServices });
    const logs = started.map((s) => s.log).join(', ');
    throw new FailedPreconditionError(`stack did not come up: ${(error as Error).message}${logs ? `; logs: ${logs}` : ''}`);
  }
  return { ...state, started: started.map(label), kept: state.services.filter((s) => !started.includes(s)).map(label) };
}

export interface ServiceStatus {
  name: string;
  /** model-hosts: 0-based index among the stack's model-hosts. */
  instance?: number;
  pid: number;
  port: number;
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
      return {
        name: s.name,
        ...(s.instance !== undefined ? { instance: s.instance } : {}),
        pid: s.pid,
        port: s.port,
        address: s.address,
        alive,
        health,
      };
    }),
  );
}

/** `memorize stack down`: SIGTERM every service, wait for them to drain, SIGKILL stragglers. */
export async function stackDown(options: StackOptions = {}): Promise<Array<{ name: string; pid: number; how: string }>> {
  const dir = stackDir(options.dir);
  const state = readStack(dir);
  if (!state) return [];
  const results = await Promise.all(
    state.services.map(async (s) => ({ name: s.name, pid: s.pid, how: await stopProcess(s, options.timeoutMs ?? 20_000) })),
  );
  rmSync(stateFile(dir), { force: true });
  return results;
}
