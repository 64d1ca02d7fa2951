import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModelInSlices } from '@memorize/lm';
import { tf } from '@memorize/tensor';
import { backend, storiesBin, storiesHf } from '@memorize/testing';

await backend();

test('loadModelInSlices with an already-aborted signal rejects with its reason before allocating anything', async () => {
  const controller = new AbortController();
  controller.abort(new Error('cancelled before the load'));
  for (const path of [storiesBin, storiesHf]) {
    const before = tf.memory().numTensors;
    let pauses = 0;
    await assert.rejects(
      loadModelInSlices(path, { signal: controller.signal, nextSlice: async () => void pauses++ }),
      (e) => e === controller.signal.reason,
    );
    assert.equal(pauses, 0);
    assert.equal(tf.memory().numTensors, before);
  }
});

test('loadModelInSlices keeps checkConfig: a refused config rejects before any tensor', async () => {
  const before = tf.memory().numTensors;
  await assert.rejects(
    loadModelInSlices(storiesBin, {
      checkConfig: () => {
        throw new Error('too large');
      },
    }),
    /too large/,
  );
  assert.equal(tf.memory().numTensors, before);
});
