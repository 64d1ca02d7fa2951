import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BACKEND_ORDER, initBackend, parseBackendName, tf } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';

const repo = fileURLToPath(new URL('../../..', import.meta.url));

/** Runs a snippet in a fresh process (tfjs's engine is process-global). */
function run(code: string, env: Record<string, string> = {}): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: repo,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

const probe = `import { initBackend, tf } from '@memorize/tensor';
const lines = [];
const c = await initBackend({ logger: (l) => lines.push(l), gradients: false });
console.log(JSON.stringify({ c, lines, active: tf.getBackend() }));`;

test('default choice walks gpu -> node -> wasm -> cpu and says why earlier ones were skipped', () => {
  const r = run(probe, { MEMORIZE_BACKEND: '' });
  assert.equal(r.status, 0, r.stderr);
  const { c, lines, active } = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(active, c.tfBackend);
  const idx = BACKEND_ORDER.indexOf(c.name);
  for (const earlier of BACKEND_ORDER.slice(0, idx)) assert.ok(c.rejected[earlier], `reason for skipping ${earlier}`);
  assert.equal(c.forced, false);
  assert.equal(lines.length, 1);
  assert.match(lines[0], new RegExp(`backend ${c.name}`));
});

test('MEMORIZE_BACKEND forces a backend', () => {
  const r = run(probe, { MEMORIZE_BACKEND: 'cpu' });
  assert.equal(r.status, 0, r.stderr);
  const { c, active } = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(c.name, 'cpu');
  assert.equal(active, 'cpu');
  assert.equal(c.forced, true);
});

test('an unknown MEMORIZE_BACKEND is an InvalidArgumentError naming the variable', () => {
  assert.throws(
    () => parseBackendName('tpu'),
    (e: Error) => e instanceof InvalidArgumentError && (e as InvalidArgumentError).field === 'MEMORIZE_BACKEND',
  );
  assert.equal(parseBackendName('WASM'), 'wasm');
  assert.equal(parseBackendName(undefined), undefined);
});

test('gather gradients (UnsortedSegmentSum) work on wasm and match cpu', async () => {
  const results: Record<string, number[]> = {};
  for (const prefer of ['wasm', 'cpu'] as const) {
    await initBackend({ prefer, logger: () => {} });
    const table = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const ids = tf.tensor1d([2, 0, 2, 1, 2], 'int32');
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [5, 2]))));
    results[prefer] = [...g(table).dataSync()];
  }
  assert.deepEqual(results.wasm, [3, 4, 7, 8, 1 + 5 + 9, 2 + 6 + 10]);
  assert.deepEqual(results.wasm, results.cpu);
});
