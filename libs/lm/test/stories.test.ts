import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel } from '@memorize/lm';
import { backend, maxAbsDiff, storiesBin, storiesHf, values } from '@memorize/testing';
import { golden } from './helpers.js';

const g = golden();

test('llama2.c (interleaved RoPE) and HF (permuted q/k, rotate-half) logits agree within 1e-4', async () => {
  await backend();
  const bin = loadModel(storiesBin);
  const hf = loadModel(storiesHf);
  assert.equal(bin.config.ropeStyle, 'interleaved');
  assert.equal(hf.config.ropeStyle, 'half');
  const tokens = [g.token_ids];
  const a = values(bin.forward(tokens));
  const b = values(hf.forward(tokens));
  assert.equal(a.length, g.token_ids.length * 512);
  assert.ok(maxAbsDiff(a, b) < 1e-4, `max diff ${maxAbsDiff(a, b)}`);
  // Greedy choices along the golden sequence are the golden tokens themselves.
  for (let t = 4; t < g.token_ids.length - 1; t++) {
    const row = a.subarray(t * 512, (t + 1) * 512);
    assert.equal(row.indexOf(Math.max(...row)), g.token_ids[t + 1], `position ${t}`);
  }
  assert.notEqual(bin.fingerprint, hf.fingerprint);
  assert.equal(loadModel(storiesBin).fingerprint, bin.fingerprint);
  bin.dispose();
  hf.dispose();
});
