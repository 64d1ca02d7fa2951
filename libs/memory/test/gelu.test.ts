/**
 * Exact GELU uses tf.erf. Checks that erf runs on the cpu and wasm backends with float32-level accuracy
 * (against a double-precision series/continued-fraction erf) and that its gradient is 2/sqrt(pi) exp(-x^2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '@memorize/tensor';
import { activation } from '@memorize/memory';
import { erf as erf64 } from '@memorize/testing';

const xs = Array.from({ length: 401 }, (_, i) => -6 + (12 * i) / 400);

for (const backend of ['cpu', 'wasm'] as const) {
  test(`erf and exact GELU on the ${backend} backend: float32 accuracy and gradient`, async () => {
    await initBackend({ prefer: backend, logger: () => {} });
    const x = tf.tensor1d(xs);
    const erf = tf.erf(x).dataSync();
    let maxErr = 0;
    xs.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(erf[i] - erf64(v)))));
    assert.ok(maxErr < 3e-7, `max |erf error| ${maxErr}`);
    const gelu = activation(x, 'erf').dataSync();
    xs.forEach((v, i) => assert.ok(Math.abs(gelu[i] - 0.5 * v * (1 + erf64(v / Math.SQRT2))) < 2e-6, `gelu(${v})`));
    const grad = tf
      .grad((t: tf.Tensor) => tf.sum(activation(t, 'erf')))(x)
      .dataSync();
    xs.forEach((v, i) => {
      const exact = 0.5 * (1 + erf64(v / Math.SQRT2)) + (v * Math.exp((-v * v) / 2)) / Math.sqrt(2 * Math.PI);
      assert.ok(Math.abs(grad[i] - exact) < 2e-6, `gelu'(${v}): ${grad[i]} vs ${exact}`);
    });
    x.dispose();
  });
}
