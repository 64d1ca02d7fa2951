import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { tempDir } from './files.js';
import { cliEntry, repoRoot } from './paths.js';

/** A service running as its own process, started through `memorize serve`. */
export interface ServiceProcess {
  name: string;
  address: string;
  child: ChildProcess;
  logs: string[];
  /** SIGTERM and wait for the exit code; with `graceMs`, SIGKILL if it has not exited by then. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Log lines kept per process: one line per RPC adds up over a long run (the oldest are dropped past it). */
const MAX_LOG_LINES = 5_000;

/**
 * Starts `memorize serve <name> --port 0 [...args]` and waits for its "listening" log line (JSON on stderr).
 * `args` are further flags (e.g. `--queue-depth 8`).
 */
export function startServiceProcess(
  name: string,
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
  args: readonly string[] = [],
): Promise<ServiceProcess> {
  // The trainer's and evaluator's stores default to .memorize/<service> under the working directory: a test's go to
  // a temp folder unless the test names one, so no test resumes another's runs.
  const storeKey = `MEMORIZE_${name.toUpperCase()}_DATA_DIR`;
  const store = (name === 'trainer' || name === 'evaluator') && env[storeKey] === undefined ? { [storeKey]: tempDir(`memorize-${name}-store-`) } : {};
  const child = spawn(process.execPath, [cliEntry, 'serve', name, '--port', '0', ...args], {
    cwd: repoRoot,
    env: { ...process.env, MEMORIZE_LOG_FORMAT: 'json', ...store, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${logs.join('\n')}`));
    }, timeoutMs);
    let buffered = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        logs.push(line);
        if (logs.length > MAX_LOG_LINES) logs.splice(100, logs.length - MAX_LOG_LINES + 1_000);
        try {
          const entry = JSON.parse(line) as { msg?: string; address?: string };
          if (entry.msg === 'listening' && entry.address) {
            clearTimeout(timer);
            resolve({
              name,
              address: entry.address,
              child,
              logs,
              stop: async (graceMs?: number) => {
                if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
                child.kill('SIGTERM');
                const timer = graceMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), graceMs);
                const code = await exited;
                clearTimeout(timer);
                return code;
              },
            });
          }
        } catch {
          // not a JSON line (e.g. a warning from node itself)
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${logs.join('\n')}`));
    });
  });
}

/** A port that was free a moment ago (for tests that need a fixed port up front). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

/** Runs the `memorize` command line to completion: exit code, stdout and stderr. */
export function runCli(args: string[], timeoutMs = 120_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliEntry, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
