/**
 * Test support of the CLI end-to-end tests: a local stack in a temp folder (the four services as processes, started
 * by `memorize stack up` on free ports, memories in the folder) and config files written beside it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { freePort, runCli } from '@memorize/testing';

export interface LocalStack {
  /** The stack's folder (stack.json, logs, stores), removed by down(). */
  dir: string;
  memoryRoot: string;
  trainerAddress: string;
  evaluatorAddress: string;
  /**
   * Writes a config in the folder's configs/, its text made by `text` with a function giving a path relative to
   * that folder (so that the paths reach ../shared from there); returns the file's path.
   */
  config(name: string, text: (rel: (p: string) => string) => string): string;
  down(): void;
}

/** Starts a stack on free ports in a new temp folder named after `prefix`. */
export async function startLocalStack(prefix: string): Promise<LocalStack> {
  const dir = mkdtempSync(join(tmpdir(), `memorize-${prefix}-`));
  const memoryRoot = join(dir, 'memories');
  const [data, host, trainer, evaluator] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const ports = { data, 'model-host': host, trainer, evaluator };
  const up = runCli([
    'stack',
    'up',
    '--dir',
    dir,
    '--memory-root',
    memoryRoot,
    ...Object.entries(ports).flatMap(([n, p]) => [`--${n}-port`, String(p)]),
  ]);
  assert.equal(up.code, 0, up.stderr);
  const folder = join(dir, 'configs');
  return {
    dir,
    memoryRoot,
    trainerAddress: `127.0.0.1:${trainer}`,
    evaluatorAddress: `127.0.0.1:${evaluator}`,
    config(name, text) {
      const file = join(folder, name);
      mkdirSync(folder, { recursive: true });
      writeFileSync(
        file,
        text((p) => relative(folder, p)),
      );
      return file;
    },
    down() {
      runCli(['stack', 'down', '--dir', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
