/**
 * tfjs-core's CommonJS bundle (what Node loads for '@tensorflow/tfjs-core') registers kernels' forward
 * functions only; the gradient functions live in its ESM files (dist/register_all_gradients.js) and are
 * normally pulled in by the @tensorflow/tfjs union package, which we do not depend on. We import them
 * directly. They register into tfjs's process-global gradient registry and run their ops through the
 * process-global engine, so they serve tensors created through the CommonJS entry point as well.
 * Costs about a second once per process; inference-only processes can skip it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { register } from 'node:module';

let loading: Promise<void> | undefined;

export function gradientsRegistered(): boolean {
  return tf.getGradient(tf.RealDiv) !== undefined && tf.getGradient(tf.BatchMatMul) !== undefined;
}

/** Registers tfjs-core's gradient functions (idempotent). Needed before tf.grads / optimizers. */
export function enableGradients(): Promise<void> {
  if (gradientsRegistered()) return Promise.resolve();
  loading ??= (async () => {
    register('./tfjs-core-resolve-hook.mjs', import.meta.url);
    const specifier: string = '@tensorflow/tfjs-core/dist/register_all_gradients.js';
    await import(specifier);
    if (!gradientsRegistered()) throw new Error('tfjs-core gradients did not register');
  })();
  return loading;
}
