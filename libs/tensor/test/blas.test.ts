import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { buildBlas, initBackend, mulberry32, tf } from '@memorize/tensor';

/**
 * The wasm-blas backend (issue 11): matrix products in OpenBLAS over the wasm heap. Every product agrees with the
 * wasm backend's own kernels (the reference here: computed by plain wasm in the same process) within 1e-4.
 */

const hasBlas = (() => {
  try {
    execFileSync('sh', ['-c', 'test -e /usr/include/x86_64-linux-gnu/cblas.h || test -e /usr/include/cblas.h']);
    return true;
  } catch {
    return false;
  }
})();

function random(shape: number[], seed: number): tf.Tensor {
  const rand = mulberry32(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rand() * 2 - 1),
    shape,
  );
}

interface Case {
  name: string;
  run: () => tf.Tensor;
}
const cases: Case[] = [
  { name: 'matMul 2-d', run: () => tf.matMul(random([37, 64], 1), random([64, 29], 2)) },
  { name: 'matMul transposeA', run: () => tf.matMul(random([64, 37], 3), random([64, 29], 4), true, false) },
  { name: 'matMul transposeB', run: () => tf.matMul(random([37, 64], 5), random([29, 64], 6), false, true) },
  { name: 'matMul both transposed', run: () => tf.matMul(random([64, 37], 7), random([29, 64], 8), true, true) },
  { name: 'batched 3-d', run: () => tf.matMul(random([6, 17, 32], 9), random([6, 32, 11], 10)) },
  { name: 'batched 4-d (attention scores)', run: () => tf.matMul(random([2, 4, 16, 8], 11), random([2, 4, 16, 8], 12), false, true) },
  { name: 'batch broadcast (one operand unbatched)', run: () => tf.matMul(random([5, 9, 12], 13), random([1, 12, 7], 14)) },
  { name: 'fused with bias', run: () => tf.fused.matMul({ a: random([33, 48], 15), b: random([48, 70], 16), bias: random([70], 17) }) },
  {
    name: 'fused with relu (delegated to wasm)',
    run: () => tf.fused.matMul({ a: random([8, 16], 18), b: random([16, 4], 19), bias: random([4], 20), activation: 'relu' }),
  },
  {
    name: 'gradient of a product',
    run: () => tf.grad((x: tf.Tensor) => tf.sum(tf.matMul(x as tf.Tensor2D, random([20, 9], 21) as tf.Tensor2D)))(random([13, 20], 22)),
  },
];

async function outputs(backend: 'wasm' | 'wasm-blas'): Promise<Float32Array[]> {
  await initBackend({ prefer: backend, logger: () => {} });
  return cases.map((c) => tf.tidy(() => c.run().dataSync() as Float32Array));
}

test('wasm-blas products equal the wasm kernels within 1e-4 (plain, transposed, batched, broadcast, fused, gradients)', async () => {
  if (!hasBlas) {
    // Without libopenblas-dev the backend cannot start, and says why (the automatic choice then takes wasm).
    await assert.rejects(initBackend({ prefer: 'wasm-blas', logger: () => {} }), /wasm-blas: libopenblas-dev is not installed/);
    return;
  }
  const reference = await outputs('wasm');
  const before = tf.memory().numTensors;
  const blas = await outputs('wasm-blas');
  assert.equal(tf.memory().numTensors, before, 'the BLAS kernels leak no tensor');
  cases.forEach((c, i) => {
    assert.equal(blas[i].length, reference[i].length, c.name);
    let worst = 0;
    for (let j = 0; j < blas[i].length; j++) worst = Math.max(worst, Math.abs(blas[i][j] - reference[i][j]) / Math.max(1, Math.abs(reference[i][j])));
    assert.ok(worst <= 1e-4, `${c.name}: worst relative difference ${worst}`);
  });
  // Plain wasm chosen again puts wasm's own kernels back.
  assert.deepEqual(await outputs('wasm'), reference);
});

test('without a compiler the addon build fails saying so (the backend choice then falls back to wasm)', () => {
  const saved = process.env.CC;
  process.env.CC = '/nonexistent/cc';
  try {
    assert.throws(() => buildBlas(), /no C compiler \(\/nonexistent\/cc\) to build the BLAS addon/);
  } finally {
    if (saved === undefined) delete process.env.CC;
    else process.env.CC = saved;
  }
});
