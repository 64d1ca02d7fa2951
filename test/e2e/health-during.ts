import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Health checks every ~10 ms from a separate process while `work` runs: the slowest answer among the checks that
 * started during the work, and how many those were.
 */
export async function healthDuring<T>(address: string, work: () => Promise<T>): Promise<{ result: T; worstMs: number; answered: number }> {
  const probe = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./health-probe.ts', import.meta.url)), address], {
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
  async function stopProbe(): Promise<{ worstMs: number; answered: number }> {
    probe.stdin.end();
    await exited;
    const during = (JSON.parse(out.slice(out.indexOf('samples ') + 8)) as Array<[number, number]>).filter(([t]) => t >= start && t <= end);
    return { worstMs: Math.max(0, ...during.map(([, ms]) => ms)), answered: during.length };
  }
}
