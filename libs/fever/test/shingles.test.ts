import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '@memorize/errors';
import { chunkDocuments, shingleKey } from '@memorize/fever';

test('k-shingle keys of token ids', () => {
  assert.equal(shingleKey([1, 23]), '1 23');
});

test('chunks are windows of at most maxLength tokens, each with a prediction target', () => {
  const doc = (n: number, index = 0) => ({ id: `d${index}`, index, tokens: Array.from({ length: n }, (_, i) => i + 1) });
  // 9 tokens in windows of 4: [1..4] [5..8] and the lone 9 takes 8 as context.
  assert.deepEqual(
    chunkDocuments([doc(9)], 4).map((c) => c.tokens),
    [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [8, 9],
    ],
  );
  assert.deepEqual(
    chunkDocuments([doc(8)], 4).map((c) => c.tokens),
    [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ],
  );
  assert.deepEqual(
    chunkDocuments([doc(1), doc(3, 1)], 4).map((c) => [c.docIndex, c.tokens]),
    [[1, [1, 2, 3]]],
  );
  for (let n = 2; n < 40; n++) {
    const chunks = chunkDocuments([doc(n)], 5);
    assert.ok(chunks.every((c) => c.tokens.length >= 2 && c.tokens.length <= 5));
    assert.deepEqual(
      [...new Set(chunks.flatMap((c) => c.tokens))].sort((a, b) => a - b),
      doc(n).tokens,
      'every token is covered',
    );
  }
  assert.throws(() => chunkDocuments([doc(3)], 1), InvalidArgumentError);
});
