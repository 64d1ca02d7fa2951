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

/** A port p with p + 1 free as well (for two model-hosts on consecutive ports). */
async function twoFreePorts(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p >= 65535) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(p + 1, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (ok) return p;
  }
}

interface Status {
  name: string;
  instance?: number;
  pid: number;
  port: number;
  address: string;
  health: string;
}

test('stack up --model-hosts 2: five healthy processes, status --json reports them, up again starts only what is missing, down stops them all', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'memorize-stack-'));
  const [data, trainer, evaluator] = await Promise.all([freePort(), freePort(), freePort()]);
  const hosts = await twoFreePorts();
  const portArgs = ['--data-port', data, '--model-host-port', hosts, '--trainer-port', trainer, '--evaluator-port', evaluator].map(String);
  try {
    const up = memorize(['stack', 'up', '--dir', dir, '--model-hosts', '2', ...portArgs]);
    assert.equal(up.code, 0, up.stderr);
    const logDir = up.stdout.trim();
    assert.equal(up.stdout.split('\n').filter(Boolean).length, 1, 'stdout carries only the log folder');
    for (const log of ['data', 'model-host-1', 'model-host-2', 'trainer', 'evaluator'])
      assert.ok(existsSync(join(logDir, `${log}.log`)), `${log}.log in the printed folder`);
    const state = JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as { services: Array<{ name: string; pid: number; port: number }> };
    assert.deepEqual(
      state.services.map((s) => [s.name, s.port]),
      [
        ['data', data],
        ['model-host', hosts],
        ['model-host', hosts + 1],
        ['trainer', trainer],
        ['evaluator', evaluator],
      ],
    );
    for (const s of state.services) assert.ok(alive(s.pid), `${s.name} runs`);

    const status = memorize(['stack', 'status', '--dir', dir, '--json']);
    assert.equal(status.code, 0, status.stderr);
    const statuses = JSON.parse(status.stdout) as Status[];
    assert.deepEqual(
      statuses.map((s) => [s.name, s.instance, s.port, s.address, s.health]),
      [
        ['data', undefined, data, `127.0.0.1:${data}`, 'SERVING'],
        ['model-host', 0, hosts, `127.0.0.1:${hosts}`, 'SERVING'],
        ['model-host', 1, hosts + 1, `127.0.0.1:${hosts + 1}`, 'SERVING'],
        ['trainer', undefined, trainer, `127.0.0.1:${trainer}`, 'SERVING'],
        ['evaluator', undefined, evaluator, `127.0.0.1:${evaluator}`, 'SERVING'],
      ],
    );
    assert.deepEqual(
      statuses.map((s) => s.pid),
      state.services.map((s) => s.pid),
    );
    // The orchestrators were told every model-host, the data service and their store folder under the stack's dir.
    const argv = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const trainerArgv = argv(statuses[3].pid);
    const flag = (args: string[], name: string) => args[args.indexOf(name) + 1];
    assert.equal(flag(trainerArgv, '--model-hosts'), `127.0.0.1:${hosts},127.0.0.1:${hosts + 1}`);
    assert.equal(flag(trainerArgv, '--data-address'), `127.0.0.1:${data}`);
    assert.equal(flag(trainerArgv, '--data-dir'), join(dir, 'trainer'));
    assert.equal(flag(argv(statuses[4].pid), '--trainer-address'), `127.0.0.1:${trainer}`);

    // Up again on the running stack: nothing new is started.
    const again = memorize(['stack', 'up', '--dir', dir, '--json']);
    assert.equal(again.code, 0, again.stderr);
    const same = JSON.parse(again.stdout) as { started: string[]; kept: string[]; services: Array<{ pid: number }> };
    assert.deepEqual(same.started, []);
    assert.deepEqual(same.kept, ['data', 'model-host#1', 'model-host#2', 'trainer', 'evaluator']);
    assert.deepEqual(
      same.services.map((s) => s.pid),
      state.services.map((s) => s.pid),
    );
    assert.match(again.stderr, /trainer +127\.0\.0\.1:\d+ pid \d+ SERVING \(already running\)/);

    // A different layout on a running stack is refused.
    const resize = memorize(['stack', 'up', '--dir', dir, '--model-hosts', '3']);
    assert.equal(resize.code, 2);
    assert.match(resize.stderr, /already running .* with 2 model-hosts \(asked for 3\); run `memorize stack down` first/);

    // Partly running (one model-host and the evaluator died): only those two are started, on their ports.
    process.kill(statuses[2].pid, 'SIGKILL');
    process.kill(statuses[4].pid, 'SIGKILL');
    while (alive(statuses[2].pid) || alive(statuses[4].pid)) await new Promise((r) => setTimeout(r, 20));
    const down2 = JSON.parse(memorize(['stack', 'status', '--dir', dir, '--json']).stdout) as Status[];
    assert.deepEqual(
      down2.map((s) => s.health),
      ['SERVING', 'SERVING', 'DOWN', 'SERVING', 'DOWN'],
    );
    const partial = memorize(['stack', 'up', '--dir', dir, '--json']);
    assert.equal(partial.code, 0, partial.stderr);
    const restarted = JSON.parse(partial.stdout) as { started: string[]; services: Array<{ pid: number; port: number }> };
    assert.deepEqual(restarted.started, ['model-host#2', 'evaluator']);
    const after = JSON.parse(memorize(['stack', 'status', '--dir', dir, '--json']).stdout) as Status[];
    assert.deepEqual(
      after.map((s) => [s.port, s.health]),
      statuses.map((s) => [s.port, 'SERVING']),
    );
    for (const i of [0, 1, 3]) assert.equal(after[i].pid, statuses[i].pid, `${after[i].name} kept its process`);
    for (const i of [2, 4]) assert.notEqual(after[i].pid, statuses[i].pid, `${after[i].name} is a new process`);

    // Each is listed and described through reflection by an independent client.
    const names = ['memorize.v1.DataService', 'memorize.v1.ModelHost', 'memorize.v1.ModelHost', 'memorize.v1.Trainer', 'memorize.v1.Evaluator'];
    after.forEach((s, i) => assert.ok(pythonReflect(s.address).services.includes(names[i]), s.name));

    const down = memorize(['stack', 'down', '--dir', dir, '--json']);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(
      (JSON.parse(down.stdout) as Array<{ how: string }>).map((r) => r.how),
      ['stopped', 'stopped', 'stopped', 'stopped', 'stopped'],
    );
    for (const s of after) assert.equal(alive(s.pid), false, `${s.name} is gone`);
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
  const badHosts = memorize(['stack', 'up', '--dir', tmpdir(), '--model-hosts', '0']);
  assert.equal(badHosts.code, 2);
  assert.match(badHosts.stderr, /--model-hosts must be an integer in 1\.\.64, got 0/);
  // Several model-hosts from a base that runs into another service's port are refused before anything starts.
  const collide = memorize(['stack', 'up', '--dir', tmpdir(), '--model-hosts', '3', '--model-host-port', '50052']);
  assert.equal(collide.code, 2);
  assert.match(collide.stderr, /--model-host-port: port 50053 is given to both model-host#2 and trainer \(the model-hosts take 50052\.\.50054/);
});
