/**
 * Child processes of bench:host — the model-host under test and the health probe — each registered with
 * ../shared/children.ts, so that none outlives the benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { repoRoot, startServiceProcess } from '@memorize/testing';
import { trackChild as track } from '../shared/children.js';

export interface HostProcess {
  address: string;
  pid: number;
  child: ChildProcess;
  logs: string[];
  /** How the queue depth was passed. */
  queueDepthVia: string;
  /** The queue depth the host logged it uses (its "engine" line), if it logged one. */
  reportedQueueDepth: number | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
}

function loggedQueueDepth(logs: readonly string[]): number | undefined {
  for (const line of logs) {
    try {
      const entry = JSON.parse(line) as { queueDepth?: unknown };
      if (typeof entry.queueDepth === 'number') return entry.queueDepth;
    } catch {
      // not JSON
    }
  }
  return undefined;
}

/** Starts `memorize serve model-host` on a free port with `--queue-depth` (@memorize/testing's startServiceProcess). */
export async function startModelHost(queueDepth: number, env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<HostProcess> {
  const host = await startServiceProcess('model-host', { MEMORIZE_LOG_LEVEL: 'info', ...env }, timeoutMs, [
    '--host',
    '127.0.0.1',
    '--queue-depth',
    String(queueDepth),
  ]);
  track(host.child);
  return {
    address: host.address,
    pid: host.child.pid!,
    child: host.child,
    logs: host.logs,
    queueDepthVia: `--queue-depth ${queueDepth}`,
    reportedQueueDepth: loggedQueueDepth(host.logs),
    stop: (graceMs = 15_000) => host.stop(graceMs),
  };
}

export interface HealthSample {
  /** Epoch ms the check started. */
  at: number;
  /** Latency, ms; null when it did not answer SERVING (error, timeout, other status). */
  ms: number | null;
}

export interface HealthProbe {
  /** Stops the probe and returns every check it made. */
  stop(): Promise<HealthSample[]>;
}

const probeScript = fileURLToPath(new URL('./health-probe.ts', import.meta.url));

/**
 * grpc.health.v1 Check every `intervalMs` from a separate process over one channel of its own (so this process's
 * event loop, busy decoding Score answers, is not in the measurement). Resolves once the probe has answers.
 */
export async function startHealthProbe(address: string, intervalMs: number, timeoutMs = 60_000): Promise<HealthProbe> {
  const probe = track(
    spawn(process.execPath, ['--import', 'tsx', probeScript, address, String(intervalMs)], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  let out = '';
  const exited = new Promise<void>((resolve) => probe.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      probe.kill('SIGKILL');
      reject(new Error(`health probe not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    probe.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    probe.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`health probe exited (${code}) before it was ready`));
    });
  });
  return {
    async stop() {
      probe.stdin!.end();
      const timer = setTimeout(() => probe.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      const at = out.indexOf('samples ');
      if (at < 0) throw new Error('health probe ended without its samples');
      return (JSON.parse(out.slice(at + 'samples '.length)) as Array<[number, number | null]>).map(([t, ms]) => ({ at: t, ms }));
    },
  };
}
