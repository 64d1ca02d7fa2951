import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError, ResourceExhaustedError } from '@memorize/errors';
import { HF_CONFIG_FIELDS, LLAMA2C_HEADER_FIELDS } from '@memorize/lm';
import { checkEvaluationSet, checkModelConfigLimits, estimateModelBytes, MAX_CONTEXT_LENGTH, type ModelConfigShape } from '@memorize/validation';

/** stories260K as libs/lm reads it (../shared/models/stories260K). */
const stories: ModelConfigShape = {
  arch: 'llama',
  dim: 64,
  nLayers: 5,
  nHeads: 8,
  nKvHeads: 4,
  headDim: 8,
  hiddenDim: 172,
  vocabSize: 512,
  maxSeqLen: 512,
  rotaryDim: 8,
  tieEmbeddings: true,
};
const GiB = 2 ** 30;

test('stories260K passes and its size is estimated exactly (260,032 parameters)', () => {
  const bytes = checkModelConfigLimits(stories);
  assert.equal(bytes.parameters, 260_032);
  assert.equal(bytes.weightBytes, 260_032 * 4);
  assert.equal(bytes.ropeBytes, 2 * 512 * 8 * 4);
  // Llama-2-7B: 6.74e9 parameters, 27 GB of float32: fine limits-wise, refused against 16 GiB.
  const llama7b: ModelConfigShape = { dim: 4096, nLayers: 32, nHeads: 32, nKvHeads: 32, hiddenDim: 11008, vocabSize: 32000, maxSeqLen: 4096 };
  assert.equal(estimateModelBytes(llama7b).parameters, 6_738_415_616);
  assert.throws(() => checkModelConfigLimits(llama7b, { budgetBytes: 16 * GiB }), ResourceExhaustedError);
  assert.doesNotThrow(() => checkModelConfigLimits(llama7b, { budgetBytes: 32 * GiB }));
});

const bad: [Partial<ModelConfigShape>, string, string][] = [
  [{ maxSeqLen: 2e7 }, 'max_position_embeddings', `max_position_embeddings must be an integer in 1..${MAX_CONTEXT_LENGTH}, got 20000000`],
  [{ maxSeqLen: 1e9 }, 'max_position_embeddings', 'got 1000000000'],
  [{ maxSeqLen: 0 }, 'max_position_embeddings', 'got 0'],
  [{ dim: NaN }, 'hidden_size', 'got NaN'],
  [{ dim: 1 << 20 }, 'hidden_size', 'hidden_size must be an integer in 1..65536'],
  [{ nLayers: 5000 }, 'num_hidden_layers', 'got 5000'],
  [{ nHeads: 0 }, 'num_attention_heads', 'got 0'],
  [{ nKvHeads: 3 }, 'num_key_value_heads', 'num_key_value_heads must divide the 8 attention heads, got 3'],
  [{ hiddenDim: 1e7 }, 'intermediate_size', 'got 10000000'],
  [{ vocabSize: 2 ** 31 }, 'vocab_size', 'got 2147483648'],
  [{ vocabSize: 1.5 }, 'vocab_size', 'got 1.5'],
  [{ headDim: undefined, nHeads: 7, nKvHeads: 7 }, 'num_attention_heads', 'must divide the hidden size 64, got 7'],
  [{ rotaryDim: 9 }, 'rotary_dim', 'must be an even integer of at most the head dimension 8, got 9'],
];
for (const [patch, field, fragment] of bad) {
  test(`model config ${JSON.stringify(patch)} -> ${field}`, () => {
    assert.throws(
      () => checkModelConfigLimits({ ...stories, ...patch }, { source: 'hf/config.json', fields: HF_CONFIG_FIELDS }),
      (e: unknown) =>
        e instanceof InvalidArgumentError && e.field === field && e.message.startsWith('hf/config.json: ') && e.message.includes(fragment),
    );
  });
}

test('llama2.c names, and the budget: weights + RoPE tables against free memory or a given limit', () => {
  assert.throws(() => checkModelConfigLimits({ ...stories, maxSeqLen: 2e7 }, { fields: LLAMA2C_HEADER_FIELDS }), {
    name: 'InvalidArgumentError',
    message: /seq_len must be/,
  });
  // Within limits but 1<<20 positions x 4096 head dims of RoPE tables = 32 GiB.
  const longRope = { ...stories, maxSeqLen: MAX_CONTEXT_LENGTH, headDim: 4096, rotaryDim: 4096 };
  assert.throws(
    () => checkModelConfigLimits(longRope, { budgetBytes: 8 * GiB }),
    (e: unknown) => e instanceof ResourceExhaustedError && e.field === 'config' && /RoPE tables 32768\.0 MiB/.test(e.message),
  );
  assert.throws(() => checkModelConfigLimits(stories, { budgetBytes: 1000 }), /more than the 0\.0 MiB available/);
});

test('checkEvaluationSet: a pool that takes every claim leaves an empty evaluation set', () => {
  const claimsPerPage = [12, 7, 3, 30];
  assert.equal(checkEvaluationSet(claimsPerPage, 5), 7 + 2 + 0 + 25);
  assert.throws(
    () => checkEvaluationSet(claimsPerPage, 30),
    (e: unknown) =>
      e instanceof InvalidArgumentError &&
      e.field === 'pool_per_page' &&
      /leaves 0 claims to evaluate.*at most 30 claims each, so pool_per_page must be below 30/.test(e.message),
  );
  assert.throws(() => checkEvaluationSet(claimsPerPage, 1e6), /pool_per_page must be an integer in 1\.\.64, got 1000000/);
  assert.throws(() => checkEvaluationSet(claimsPerPage, 5, { minEvaluationClaims: 100 }), /leaves 34 claims/);
  assert.throws(() => checkEvaluationSet([], 5), /leaves 0 claims/);
});
