import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/** service-kit's probe script, run by path: @memorize/testing must not import service-kit (whose tests import it). */
const healthProbeScript = join(repoRoot, 'libs', 'service-kit', 'src', 'health-probe.ts');

/** What the health probe saw while the work ran. */
export interface HealthDuring<T> {
  result: T;
  /** Slowest answer, ms (Infinity when a check did not answer SERVING). */
  worstMs: number;
  /** Checks that started during the work. */
  answered: number;
  /** Their latencies, ms, in order. */
  latenciesMs: number[];
}

/**
 * Health checks every ~10 ms from a separate process (its own event loop, so the caller's busy loop is not in the
 * way) while `work` runs: the answers of the checks that started during the work.
 */
export async function healthDuring<T>(address: string, work: () => Promise<T>): Promise<HealthDuring<T>> {
  const probe = spawn(process.execPath, ['--import', 'tsx', healthProbeScript, address], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  probe.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready\n')) ready();
  });
  const exited = new Promise((r) => probe.on('exit', r));
  await isReady;
  const start = Date.now();
  let end = Infinity;
  try {
    const result = await work().finally(() => (end = Date.now()));
    return { result, ...(await stopProbe()) };
  } catch (error) {
    await stopProbe();
    throw error;
  }
  async function stopProbe(): Promise<Omit<HealthDuring<T>, 'result'>> {
    probe.stdin.end();
    await exited;
    const during = (JSON.parse(out.slice(out.indexOf('samples ') + 8)) as Array<[number, number]>).filter(([t]) => t >= start && t <= end);
    const latenciesMs = during.map(([, ms]) => ms);
    return { worstMs: Math.max(0, ...latenciesMs), answered: during.length, latenciesMs };
  }
}
