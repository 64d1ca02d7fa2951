import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFromHf, loadModel, randomWeights } from '@memorize/lm';
import { referenceForward } from './reference.js';
import { backend, maxAbsDiff, values } from '@memorize/testing';
import { tinyLlamaHf, tinyNeoxHf, writeHfFolder } from './helpers.js';

const tokens = [3, 17, 5, 39, 0, 22, 8, 8, 11, 30];

for (const [name, hf] of [
  ['GPT-NeoX (parallel residual, partial rotary, LayerNorm, biases)', tinyNeoxHf],
  ['GPT-NeoX (sequential residual)', { ...tinyNeoxHf, use_parallel_residual: false }],
  ['Llama (GQA, untied classifier, rotate-half)', tinyLlamaHf],
  ['Llama (tied classifier)', { ...tinyLlamaHf, tie_word_embeddings: true }],
] as const) {
  test(`${name}: HF folder logits match a naive reference within 1e-4`, async () => {
    await backend();
    const config = configFromHf(hf);
    const weights = randomWeights(config, { seed: 7, std: 0.2, normNoise: 0.1 });
    const model = loadModel(writeHfFolder(hf, weights));
    const got = values(model.forward([tokens]));
    const want = referenceForward(config, weights, tokens);
    const flat = Float64Array.from(want.flatMap((row) => [...row]));
    assert.ok(Math.max(...flat.map(Math.abs)) > 0.1, 'logits are not trivially small');
    assert.ok(maxAbsDiff(got, flat) < 1e-4, `max diff ${maxAbsDiff(got, flat)}`);
    model.dispose();
  });
}

test('GPT-NeoX config: rotary_pct sets rotaryDim, parallel residual defaults on', () => {
  const c = configFromHf(tinyNeoxHf);
  assert.equal(c.arch, 'gpt_neox');
  assert.equal(c.rotaryDim, 8);
  assert.equal(c.headDim, 16);
  assert.equal(c.parallelResidual, true);
});

test('the op-based path (cpu backend: reverse-based RoPE, batched attention) matches the reference too', async () => {
  const { initBackend } = await import('@memorize/tensor');
  await initBackend({ prefer: 'cpu', logger: () => {} });
  try {
    for (const hf of [tinyNeoxHf, tinyLlamaHf]) {
      const config = configFromHf(hf);
      const weights = randomWeights(config, { seed: 9, std: 0.2, normNoise: 0.1 });
      const model = loadModel(writeHfFolder(hf, weights));
      const got = values(model.forward([tokens, [...tokens].reverse()]));
      const want = [...referenceForward(config, weights, tokens), ...referenceForward(config, weights, [...tokens].reverse())];
      const flat = Float64Array.from(want.flatMap((row) => [...row]));
      assert.ok(maxAbsDiff(got, flat) < 1e-4, `${hf.model_type}: max diff ${maxAbsDiff(got, flat)}`);
      model.dispose();
    }
  } finally {
    await initBackend({ prefer: 'wasm', logger: () => {} });
  }
});
