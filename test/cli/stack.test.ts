import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, pythonReflect, runCli as memorize } from '@memorize/testing';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('stack up starts four healthy processes, status reports them, down stops them all', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'memorize-stack-'));
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const portArgs = ['--data-port', '--model-host-port', '--trainer-port', '--evaluator-port'].flatMap((flag, i) => [flag, String(ports[i])]);
  try {
    const up = memorize(['stack', 'up', '--dir', dir, ...portArgs]);
    assert.equal(up.code, 0, up.stderr);
    const logDir = up.stdout.trim();
    assert.equal(up.stdout.split('\n').filter(Boolean).length, 1, 'stdout carries only the log folder');
    assert.ok(existsSync(join(logDir, 'data.log')), 'logs are written to the printed folder');
    const state = JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as { services: Array<{ name: string; pid: number; port: number }> };
    assert.deepEqual(
      state.services.map((s) => s.port),
      ports,
    );
    for (const s of state.services) assert.ok(alive(s.pid), `${s.name} runs`);

    const again = memorize(['stack', 'up', '--dir', dir, ...portArgs]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already running/);

    const status = memorize(['stack', 'status', '--dir', dir, '--json']);
    assert.equal(status.code, 0, status.stderr);
    const statuses = JSON.parse(status.stdout) as Array<{ name: string; health: string }>;
    assert.deepEqual(
      statuses.map((s) => [s.name, s.health]),
      [
        ['data', 'SERVING'],
        ['model-host', 'SERVING'],
        ['trainer', 'SERVING'],
        ['evaluator', 'SERVING'],
      ],
    );

    // Each is listed and described through reflection by an independent client.
    const names = ['memorize.v1.DataService', 'memorize.v1.ModelHost', 'memorize.v1.Trainer', 'memorize.v1.Evaluator'];
    state.services.forEach((s, i) => assert.ok(pythonReflect(`127.0.0.1:${s.port}`).services.includes(names[i]), s.name));

    const down = memorize(['stack', 'down', '--dir', dir, '--json']);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(
      (JSON.parse(down.stdout) as Array<{ how: string }>).map((r) => r.how),
      ['stopped', 'stopped', 'stopped', 'stopped'],
    );
    for (const s of state.services) assert.equal(alive(s.pid), false, `${s.name} is gone`);
    assert.equal(memorize(['stack', 'status', '--dir', dir]).stdout.trim(), 'no stack');
  } finally {
    memorize(['stack', 'down', '--dir', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stack up fails fast when a service cannot start (its port is taken), leaving nothing behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'memorize-stack-'));
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const takenPort = (taken.address() as { port: number }).port;
  const others = await Promise.all([freePort(), freePort(), freePort()]);
  try {
    const up = memorize([
      'stack',
      'up',
      '--dir',
      dir,
      '--data-port',
      String(takenPort),
      '--model-host-port',
      String(others[0]),
      '--trainer-port',
      String(others[1]),
      '--evaluator-port',
      String(others[2]),
    ]);
    assert.equal(up.code, 2);
    assert.match(up.stderr, /data exited with code 1 before it was healthy \(see .*data\.log\)/);
    assert.equal(existsSync(join(dir, 'stack.json')), false, 'the partial stack was taken down');
  } finally {
    taken.close();
    memorize(['stack', 'down', '--dir', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad arguments are clear errors with exit code 2', () => {
  const unknown = memorize(['serve', 'nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown service "nope"/);
  const badPort = memorize(['serve', 'data', '--port', '99999']);
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /--port must be an integer/);
  const badStackPort = memorize(['stack', 'up', '--dir', tmpdir(), '--data-port', 'x']);
  assert.notEqual(badStackPort.code, 0);
  assert.match(badStackPort.stderr, /port must be an integer/);
});
