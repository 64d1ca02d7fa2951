/**
 * `memorize demo --quick` as a real process on the embedded model (models/demo) and its synthetic world: it starts
 * its own stack, prints the sweep's table, the reference evaluations and where report.html is, writes the report,
 * and leaves no service process behind — when it ends, on SIGINT in the middle of the sweep, on SIGTERM while the
 * services are still coming up, and when the process that started it dies. Bad flags exit 2 before anything starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEntry, repoRoot, runCli as memorize } from '@memorize/testing';

interface Demo {
  /** Resolves with the exit code (or the signal's name when it was killed by one). */
  exited: Promise<number | string>;
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr matches `pattern` (rejects after `timeoutMs` or when the demo exits first). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  signal(sig: NodeJS.Signals): void;
}

function startDemo(args: string[]): Demo {
  const child = spawn(process.execPath, [cliEntry, 'demo', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return {
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    waitFor: (pattern, timeoutMs = 90_000) =>
      new Promise<void>((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
        };
        const check = (): void => {
          if (!pattern.test(stderr)) return;
          done();
          resolve();
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${pattern} on the demo's stderr within ${timeoutMs} ms:\n${stderr}`));
        }, timeoutMs);
        waiters.push(check);
        void exited.then((code) => {
          if (!waiters.includes(check)) return;
          done();
          reject(new Error(`the demo exited (${code}) before ${pattern}:\n${stderr}`));
        });
        check();
      }),
    signal: (sig) => child.kill(sig),
  };
}

/** The service pids `stack up` printed ("data  127.0.0.1:P pid N SERVING (started)"). */
function servicePids(stderr: string): Map<string, number> {
  const pids = new Map<string, number>();
  for (const m of stderr.matchAll(/^(data|model-host#\d+|trainer|evaluator)\s+\S+ pid (\d+) SERVING/gm)) pids.set(m[1], Number(m[2]));
  return pids;
}

/** Whether `pid` is still one of our services (alive and running `memorize ... serve`). */
function serviceAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('serve');
  } catch {
    return true;
  }
}

function assertNoServiceLeft(stderr: string): void {
  const pids = servicePids(stderr);
  assert.deepEqual([...pids.keys()].sort(), ['data', 'evaluator', 'model-host#1', 'trainer'], `four services started:\n${stderr}`);
  for (const [name, pid] of pids) assert.ok(!serviceAlive(pid), `${name} (pid ${pid}) is gone`);
}

const tempDir = (name: string): string => mkdtempSync(join(tmpdir(), `memorize-demo-${name}-`));

test('demo --quick: world, stack, the table with CIs and significance, the references, report.html; no service left', async () => {
  const dir = tempDir('quick');
  try {
    const demo = startDemo(['--quick', '--dir', dir]);
    const code = await demo.exited;
    const stdout = demo.stdout();
    const stderr = demo.stderr();
    assert.equal(code, 0, stderr);
    assert.match(stderr, /demo: world (generated|up to date)/);
    assert.match(stderr, /sweep \S+: cell pretrained succeeded: accuracy/, 'the sweep progress is shown');
    assert.match(stdout, /^sweep \S+ succeeded: 2 cells$/m);
    assert.match(stdout, /^\| model \| metric \| pretrained \| memory stable L\d \|$/m, 'the table');
    assert.match(stdout, /^\| \S+ \| accuracy \[95% CI\] \| 0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] \| 0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] \|$/m);
    assert.match(stdout, /McNemar's exact test, Holm's correction/);
    assert.match(stdout, /^ {2}0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] \(n = 30\) {2}C claims/m, 'the C reference');
    assert.match(stdout, /^ {2}0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] \(n = 30\) {2}A-held-out claims/m, 'the A-held-out reference');
    const html = join(dir, 'report', 'report.html');
    assert.match(stdout, new RegExp(`^report\\.html: ${html.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.ok(existsSync(html), 'report.html written');
    assert.match(readFileSync(html, 'utf8'), /<svg/, 'with its plots');
    const references = JSON.parse(readFileSync(join(dir, 'report', 'references.json'), 'utf8')) as Array<{ summary: { n: number } }>;
    assert.deepEqual(
      references.map((r) => r.summary.n),
      [30, 30],
    );
    assert.match(stderr, /demo: services stopped \(data stopped, model-host stopped, trainer stopped, evaluator stopped\)/);
    assertNoServiceLeft(stderr);
    assert.ok(!existsSync(join(dir, 'stack', 'stack.json')), 'no stack recorded');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGINT in the middle of the sweep stops every service and exits 130', async () => {
  const dir = tempDir('sigint');
  try {
    const demo = startDemo(['--quick', '--dir', dir]);
    await demo.waitFor(/sweep \S+: running/);
    demo.signal('SIGINT');
    assert.equal(await demo.exited, 130, demo.stderr());
    assert.match(demo.stderr(), /demo: SIGINT: stopping the services\ndemo: services stopped/);
    assert.doesNotMatch(demo.stdout(), /report\.html/, 'no report for an interrupted sweep');
    assertNoServiceLeft(demo.stderr());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM while the services come up stops them and exits 143', async () => {
  const dir = tempDir('sigterm');
  try {
    const demo = startDemo(['--quick', '--dir', dir]);
    await demo.waitFor(/^(data|model-host#1|trainer|evaluator) .* SERVING \(started\)$/m);
    // Every service was started before the first said SERVING: stack.json lists them all, healthy or not yet.
    const state = JSON.parse(readFileSync(join(dir, 'stack', 'stack.json'), 'utf8')) as { services: Array<{ name: string; pid: number }> };
    assert.equal(state.services.length, 4);
    demo.signal('SIGTERM');
    assert.equal(await demo.exited, 143, demo.stderr());
    assert.match(demo.stderr(), /demo: SIGTERM: stopping the services/);
    assert.ok(!existsSync(join(dir, 'stack', 'stack.json')), 'no stack recorded');
    for (const s of state.services) assert.ok(!serviceAlive(s.pid), `${s.name} (pid ${s.pid}) is gone`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Pids of the processes whose command line mentions `text`. */
function processesWith(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

test('the process that started the demo gone (npm does not pass its SIGTERM on): the demo stops the services and exits', async () => {
  const dir = tempDir('orphan');
  try {
    // A shell that waits for the demo (and so is not replaced by it), as npm run does.
    const shell = spawn('/bin/sh', ['-c', '"$0" "$@"; :', process.execPath, cliEntry, 'demo', '--quick', '--dir', dir], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    shell.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const stackFile = join(dir, 'stack', 'stack.json');
    for (let i = 0; i < 600 && !/sweep \S+: running/.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(stderr, /sweep \S+: running/);
    const state = JSON.parse(readFileSync(stackFile, 'utf8')) as { services: Array<{ name: string; pid: number }> };
    shell.kill('SIGKILL');
    for (let i = 0; i < 300 && processesWith(dir).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(processesWith(dir), [], 'the demo has exited');
    for (const s of state.services) assert.ok(!serviceAlive(s.pid), `${s.name} (pid ${s.pid}) is gone`);
    assert.ok(!existsSync(stackFile), 'no stack recorded');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad flags exit 2 naming the flag, before anything starts', () => {
  const fever = memorize(['demo', '--fever', join(repoRoot, 'no-such-folder'), '--model', join(repoRoot, 'models', 'demo')]);
  assert.equal(fever.code, 2, fever.stderr);
  assert.match(fever.stderr, /^memorize: --fever: .*no-such-folder\/paper_test\.jsonl: no such file\n$/);
  const noModel = memorize(['demo', '--fever', join(repoRoot, 'no-such-folder')]);
  assert.equal(noModel.code, 2, noModel.stderr);
  assert.match(noModel.stderr, /^memorize: --fever needs --model/);
  const config = memorize(['demo', '--config', join(repoRoot, 'no-such.yaml')]);
  assert.equal(config.code, 2, config.stderr);
  assert.match(config.stderr, /^memorize: --config: .*no-such\.yaml: no such file\n$/);
  assert.equal(fever.stdout + noModel.stdout + config.stdout, '');
});
