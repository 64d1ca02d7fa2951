import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors } from '@memorize/tensor';
import { runCli as memorize, storiesDir } from '@memorize/testing';

const stories = `${storiesDir}/`;

function randomArray(n: number, seed: number, scale: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s / 2 ** 32) * 2 - 1) * scale;
  });
}

test('memory import -> inspect -> loss through the command line, stdout holding only the result', () => {
  const dir = mkdtempSync(join(tmpdir(), 'memorize-mem-'));
  try {
    const d = 64;
    const m = 16;
    const weights = join(dir, 'weights.safetensors');
    writeSafetensors(weights, {
      'up.weight': { shape: [m, d], data: randomArray(m * d, 1, 0.2) },
      'up.bias': { shape: [m], data: randomArray(m, 2, 0.1) },
      'down.weight': { shape: [d, m], data: randomArray(d * m, 3, 0.2) },
      'down.bias': { shape: [d], data: randomArray(d, 4, 0.1) },
      'ln.weight': { shape: [d], data: new Float32Array(d).fill(1) },
      'ln.bias': { shape: [d], data: new Float32Array(d) },
      gate: { shape: [], data: Float32Array.of(0.5) },
    });
    const file = join(dir, 'm.safetensors');
    const imported = memorize([
      'memory',
      'import',
      '--kind',
      'memory',
      '--layer',
      '2',
      '--weights',
      weights,
      '--out',
      file,
      '--model',
      `${stories}stories260K.bin`,
    ]);
    assert.equal(imported.code, 0, imported.stderr);

    const inspected = memorize(['memory', 'inspect', file, '--json']);
    assert.equal(inspected.code, 0, inspected.stderr);
    const info = JSON.parse(inspected.stdout) as { metadata: Record<string, string>; tensors: Record<string, number[]> };
    assert.equal(info.metadata.kind, 'memory');
    assert.equal(info.metadata.layer, '2');
    assert.deepEqual(info.tensors['up.weight'], [m, d]);
    assert.deepEqual(info.tensors['down.weight'], [d, m]);

    const tokens = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376];
    const loss = memorize([
      'memory',
      'loss',
      '--model',
      `${stories}stories260K.bin`,
      '--memory',
      file,
      '--tokens',
      tokens.join(','),
      '--grad',
      '--json',
    ]);
    assert.equal(loss.code, 0, loss.stderr);
    const result = JSON.parse(loss.stdout) as { loss: number; grad_norms: Record<string, number>; total_grad_norm: number };
    assert.ok(Number.isFinite(result.loss) && result.loss > 0);
    for (const name of ['up.weight', 'up.bias', 'down.weight', 'down.bias', 'ln.weight', 'ln.bias', 'gate']) {
      assert.ok(result.grad_norms[name] > 0, `gradient norm of ${name}`);
    }
    const total = Math.sqrt(Object.values(result.grad_norms).reduce((a, g) => a + g * g, 0));
    assert.ok(Math.abs(total - result.total_grad_norm) < 1e-4 * total);

    const outside = memorize(['memory', 'loss', '--model', `${stories}stories260K.bin`, '--memory', file, '--tokens', '1,403,512', '--json']);
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /--tokens\[2\] = 512 is outside the vocabulary \[0, 512\)/);
    assert.equal(outside.stdout, '');

    const other = memorize(['memory', 'loss', '--model', `${stories}hf`, '--memory', file, '--tokens', tokens.join(','), '--json']);
    assert.equal(other.code, 2, 'a memory made for another base model is refused');
    assert.match(other.stderr, /trained on base model [0-9a-f]{64}, but the loaded model is [0-9a-f]{64}/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
