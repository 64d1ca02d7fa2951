/**
 * The HF writer (checkpoint.ts), the inverse of the loaders: a model written with writeHfModel loads back through
 * loadModel to the same logits (to float32 rounding: taking the attention scale back out of q may move a weight by
 * one ulp, so a freshly loaded model's fingerprint is not reproduced; a trained one's is, see full-trainer.test.ts); a llama2.c model's
 * q/k are permuted to HF's rotate_half pairing and its tokenizer.bin travels with it; and the independent PyTorch
 * forward (libs/testing/python/torch_llama.py, HF modeling_llama semantics) reproduces the written folders' logits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildModel,
  checkpointTensors,
  configFromHf,
  llamaConfig,
  loadLlama2cModel,
  loadModel,
  loadTokenizer,
  memorySource,
  randomModel,
  writeHfModel,
  type TransformerModel,
} from '@memorize/lm';
import { FailedPreconditionError } from '@memorize/errors';
import { backend, maxAbsDiff, runPython, storiesBin, storiesHf, storiesTok, tempDir, testingPython, values } from '@memorize/testing';
import { tinyNeoxHf } from './helpers.js';

await backend();
const torchLlama = join(testingPython, 'torch_llama.py');
const TOKENS = [1, 17, 42, 3, 8, 49, 25, 25, 11, 30, 7, 46, 2, 19, 33, 5];

const logits = (model: TransformerModel, ids = TOKENS): Float32Array => values(model.forward([ids]));

function torchLogits(folder: string, ids = TOKENS): Float32Array {
  const out = JSON.parse(runPython(torchLlama, [folder, ids.join(',')])) as { logits: number[][] };
  return Float32Array.from(out.logits.flat());
}

const randomLlama = () =>
  randomModel(llamaConfig({ dim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, hiddenDim: 48, vocabSize: 64, maxSeqLen: 64, normEps: 1e-5 }), {
    seed: 7,
    std: 0.3,
    normNoise: 0.2,
  });

test('checkpointTensors inverts the loaders: rebuilding from them gives the same logits, and a fixed point', () => {
  const model = randomLlama();
  const tensors = checkpointTensors(model);
  const rebuilt = buildModel(model.config, memorySource(tensors));
  assert.ok(maxAbsDiff(logits(model), logits(rebuilt)) < 1e-6);
  // From checkpoint tensors on, the round trip is exact.
  const again = buildModel(model.config, memorySource(checkpointTensors(rebuilt)));
  assert.equal(again.fingerprint, rebuilt.fingerprint);
  for (const m of [model, rebuilt, again]) m.dispose();
});

test('a random Llama written as an HF folder loads back with the same logits; PyTorch agrees', () => {
  const model = randomLlama();
  const dir = tempDir('memorize-hf-write-');
  writeHfModel(model, dir);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(configFromHf(config), model.config);
  const back = loadModel(dir);
  const ours = logits(model);
  assert.ok(maxAbsDiff(ours, logits(back)) < 1e-6);
  const diff = maxAbsDiff(ours, torchLogits(dir));
  console.log(`random Llama: PyTorch max |diff| ${diff.toExponential(2)}`);
  assert.ok(diff < 1e-4, `PyTorch differs by ${diff}`);
  model.dispose();
  back.dispose();
});

test('stories260K from llama2.c (interleaved RoPE, tied) written as HF: same logits, tokenizer.bin kept, PyTorch agrees', async () => {
  const model = loadLlama2cModel(storiesBin);
  const dir = tempDir('memorize-hf-write-');
  writeHfModel(model, dir, { tokenizer: storiesTok });
  assert.ok(existsSync(join(dir, 'tokenizer.bin')));
  const back = loadModel(dir);
  assert.equal(back.config.ropeStyle, 'half');
  const ours = logits(model);
  const reloaded = maxAbsDiff(ours, logits(back));
  const torch = maxAbsDiff(ours, torchLogits(dir));
  console.log(`stories260K.bin -> HF: reloaded max |diff| ${reloaded.toExponential(2)}, PyTorch ${torch.toExponential(2)}`);
  assert.ok(reloaded < 1e-4, `reloaded differs by ${reloaded}`);
  assert.ok(torch < 1e-4, `PyTorch differs by ${torch}`);
  const [original, copied] = await Promise.all([loadTokenizer(storiesTok), loadTokenizer(dir)]);
  const text = 'Once upon a time, there was a little girl named Lily.';
  assert.deepEqual(copied.encode(text, { bos: true }), original.encode(text, { bos: true }));
  model.dispose();
  back.dispose();
});

test('stories260K from its HF folder round-trips: tokenizer.json and its configs copied, same logits', async () => {
  const model = loadModel(storiesHf);
  const dir = tempDir('memorize-hf-write-');
  writeHfModel(model, dir, { tokenizer: join(storiesHf, 'tokenizer.json') });
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) assert.ok(existsSync(join(dir, f)), f);
  const back = loadModel(dir);
  assert.ok(maxAbsDiff(logits(model), logits(back)) < 1e-6);
  const [original, copied] = await Promise.all([loadTokenizer(storiesHf), loadTokenizer(dir)]);
  assert.deepEqual([copied.bosId, copied.eosId], [original.bosId, original.eosId]);
  model.dispose();
  back.dispose();
});

test('GPT-NeoX models are refused (Llama family only)', () => {
  const model = randomModel(configFromHf(tinyNeoxHf), { seed: 1 });
  assert.throws(() => writeHfModel(model, tempDir('memorize-hf-write-')), FailedPreconditionError);
  model.dispose();
});
