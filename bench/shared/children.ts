/**
 * Child processes of a benchmark and the guarantee that none outlives it: every child is registered, and exit,
 * SIGINT/SIGTERM/SIGHUP, an uncaught error or the benchmark's watchdog kill the registered ones that still run
 * (SIGKILL, by pid).
 */
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Registers a child (until it exits) so that every way out of the benchmark kills it. */
export function trackChild(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/**
 * Installs the handlers once; `label` prefixes their messages (e.g. "bench:host"); `watchdogMs` ends the whole run
 * (children killed, exit 1) if it takes longer.
 */
export function guardChildren(label: string, watchdogMs: number): void {
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`${label}: ${signal}, stopping\n`);
      killAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`${label}: ${error.stack ?? String(error)}\n`);
    killAll();
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    process.stderr.write(`${label}: unhandled rejection: ${(error as Error)?.stack ?? String(error)}\n`);
    killAll();
    process.exit(1);
  });
  setTimeout(() => {
    process.stderr.write(`${label}: watchdog: the run took longer than ${watchdogMs / 1000} s, stopping\n`);
    killAll();
    process.exit(1);
  }, watchdogMs).unref();
}
