import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { modelHost } from '@memorize/contracts';
import { NotFoundError, ResourceExhaustedError } from '@memorize/errors';
import type { Implementation } from '@memorize/service-kit';
import { initBackend, tf } from '@memorize/tensor';
import { storiesDir } from '@memorize/testing';
import { ModelRegistry, withModelPins } from '../src/models.js';

const backend = await initBackend({ logger: () => {} });
const root = dirname(storiesDir);
const request = (modelId: string): modelHost.LoadModelRequest =>
  modelHost.LoadModelRequest.fromPartial({ path: `${storiesDir}/stories260K.bin`, tokenizerPath: `${storiesDir}/tok512.bin`, modelId });

/** Bytes one stories260K takes, from a registry with room to spare. */
async function storiesBytes(): Promise<number> {
  const registry = new ModelRegistry(backend, root);
  const { held } = await registry.load(request('probe'));
  await registry.unload(registry.peek('probe'));
  return held.bytes;
}
const bytes = await storiesBytes();

test('UnloadModel disposes every tensor of the model: the tensor count returns to its baseline', async () => {
  const registry = new ModelRegistry(backend, root);
  const baseline = tf.memory().numTensors;
  for (let round = 0; round < 5; round++) {
    await registry.load(request('a'));
    await registry.load(request('b'));
    assert.ok(tf.memory().numTensors > baseline);
    await registry.unload(registry.peek('a'));
    await registry.unload(registry.peek('b'));
    assert.equal(tf.memory().numTensors, baseline, `round ${round}`);
  }
  assert.equal(registry.usage.usedBytes, 0);
});

test('loading past the budget evicts the least recently used model and disposes its tensors; evicted ids say so', async () => {
  assert.ok(bytes > 1_000_000 && bytes < 1_200_000, `stories260K: ${bytes} bytes (weights + RoPE tables)`);
  const registry = new ModelRegistry(backend, root, Math.floor(bytes * 2.5));
  const baseline = tf.memory().numTensors;
  await registry.load(request('a'));
  const perModel = tf.memory().numTensors - baseline;
  await registry.load(request('b'));
  registry.get('a'); // a used again: b is now the least recently used
  await registry.load(request('c'));
  assert.deepEqual(
    registry.list().map((m) => m.id),
    ['a', 'c'],
  );
  assert.equal(tf.memory().numTensors, baseline + 2 * perModel, "b's tensors were disposed");
  assert.ok(registry.usage.usedBytes <= registry.usage.budgetBytes);
  assert.throws(
    () => registry.get('b'),
    (e: unknown) => e instanceof NotFoundError && /model "b" was evicted .*--model-cache-bytes .*LoadModel it again/.test(e.message),
  );
  assert.throws(() => registry.get('never'), /no model "never" is loaded/);
  for (const m of registry.list()) await registry.unload(m);
  assert.equal(tf.memory().numTensors, baseline);
});

test('a model a call is using is never evicted; RESOURCE_EXHAUSTED when no room can be made', async () => {
  const registry = new ModelRegistry(backend, root, Math.floor(bytes * 1.5));
  await registry.load(request('a'));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  // A handler that looks the model up, then works for a while (as Generate or Score would).
  const impl = withModelPins({
    async getModelInfo(req: { modelId: string }) {
      const held = registry.get(req.modelId);
      started();
      await gate;
      return { model: registry.info(held) };
    },
  } as unknown as Implementation<unknown>) as unknown as { getModelInfo(req: { modelId: string }): Promise<unknown> };
  const call = impl.getModelInfo({ modelId: 'a' });
  await running;
  assert.deepEqual(registry.peek('a').uses.labels, ['GetModelInfo']);
  await assert.rejects(
    registry.load(request('b')),
    (e: unknown) => e instanceof ResourceExhaustedError && /model needs .* but only .* of the --model-cache-bytes .* can be freed/.test(e.message),
  );
  assert.deepEqual(
    registry.list().map((m) => m.id),
    ['a'],
  );
  assert.equal(registry.usage.usedBytes, bytes, 'the refused load left no reservation behind');
  // A protected model (e.g. memories bound to it) is not evicted either.
  registry.protect((id) => id === 'a');
  release();
  await call;
  assert.equal(registry.peek('a').uses.count, 0);
  await assert.rejects(registry.load(request('b')), ResourceExhaustedError);
  const unprotected = new ModelRegistry(backend, root, Math.floor(bytes * 1.5));
  await unprotected.load(request('a'));
  await unprotected.load(request('b'));
  assert.deepEqual(
    unprotected.list().map((m) => m.id),
    ['b'],
  );
  for (const r of [registry, unprotected]) for (const m of r.list()) await r.unload(m);
});

test('UnloadModel of a model in use waits for its calls, then disposes; new calls answer NOT_FOUND at once', async () => {
  const registry = new ModelRegistry(backend, root);
  const baseline = tf.memory().numTensors;
  await registry.load(request('a'));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  let logitsDuringUnload = NaN;
  const impl = withModelPins({
    async score(req: { modelId: string }) {
      const held = registry.get(req.modelId);
      started();
      await gate;
      // Still usable: its weights were not disposed under the call.
      const logits = held.model.forward([[1, 2, 3]]);
      logitsDuringUnload = (await logits.data())[0];
      logits.dispose();
      return {};
    },
  } as unknown as Implementation<unknown>) as unknown as { score(req: { modelId: string }): Promise<unknown> };
  const call = impl.score({ modelId: 'a' });
  await running;
  let unloaded = false;
  const unloading = registry.unload(registry.peek('a')).then(() => (unloaded = true));
  assert.throws(() => registry.get('a'), NotFoundError);
  await new Promise((r) => setImmediate(r));
  assert.equal(unloaded, false, 'the unload waits for the call using the model');
  release();
  await call;
  await unloading;
  assert.ok(Number.isFinite(logitsDuringUnload));
  assert.equal(tf.memory().numTensors, baseline);
});
