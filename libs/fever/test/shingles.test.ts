import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '@memorize/tensor';
import { shingleHash, shingleHashes, shingleKey, shingleSet } from '@memorize/fever';

test('k-shingle sets of token ids', () => {
  assert.deepEqual([...shingleSet([5, 6, 7, 5, 6], 2)], ['5 6', '6 7', '7 5']);
  assert.deepEqual([...shingleSet([5, 6, 7], 1)], ['5', '6', '7']);
  assert.deepEqual([...shingleSet([5, 6], 3)], ['5 6']);
  assert.equal(shingleSet([], 2).size, 0);
  assert.equal(shingleKey([1, 23]), '1 23');
  assert.throws(() => shingleSet([1], 0), InvalidArgumentError);
});

test('shingle hashes: stable, sorted, unique, one per distinct shingle', () => {
  const tokens = [5, 6, 7, 5, 6, 9, 300, 70000];
  const hashes = shingleHashes(tokens, 2);
  assert.equal(hashes.length, shingleSet(tokens, 2).size);
  for (let i = 1; i < hashes.length; i++) assert.ok(hashes[i]! > hashes[i - 1]!);
  assert.equal(shingleHash([5, 6]), shingleHash([5, 6]));
  assert.notEqual(shingleHash([5, 6]), shingleHash([6, 5]));
  // FNV-1a 32 of the bytes 05 00 00 00 (independent check of the stable definition)
  let h = 0x811c9dc5;
  for (const byte of [5, 0, 0, 0]) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  assert.equal(shingleHash([5]), h);
  assert.ok(hashes.includes(shingleHash([9, 300])));
});
