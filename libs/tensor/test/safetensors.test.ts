import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsReader, bytesToFloat32, writeSafetensors } from '@memorize/tensor';
import { InvalidArgumentError, NotFoundError } from '@memorize/errors';

const dir = () => mkdtempSync(join(tmpdir(), 'memorize-st-'));

test('round trip: tensors, dtypes, shapes and __metadata__', () => {
  const d = dir();
  const path = join(d, 'm.safetensors');
  const w = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 3);
  const ids = Int32Array.from([7, -1, 3]);
  writeSafetensors(path, { 'layer.w': { shape: [3, 4], data: w }, ids: { shape: [3], data: ids } }, { kind: 'memory', layer: '3' });
  const r = new SafetensorsReader(path);
  assert.deepEqual(r.names, ['layer.w', 'ids']);
  assert.deepEqual(r.header.metadata, { kind: 'memory', layer: '3' });
  const got = r.readFloat32('layer.w');
  assert.deepEqual(got.shape, [3, 4]);
  assert.deepEqual([...got.data], [...w]);
  assert.equal(r.entry('ids').dtype, 'I32');
  const raw = r.readBytes('ids');
  assert.deepEqual([...new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))], [...ids]);
  assert.equal(r.header.dataStart % 8, 0, 'header padded to 8 bytes');
  r.close();
  // No temp file left behind.
  assert.deepEqual(readdirSync(d), ['m.safetensors']);
});

test('the writer replaces an existing file atomically and rejects bad input without touching it', () => {
  const d = dir();
  const path = join(d, 'm.safetensors');
  writeSafetensors(path, { a: { shape: [2], data: Float32Array.from([1, 2]) } });
  const before = readFileSync(path);
  assert.throws(() => writeSafetensors(path, { a: { shape: [3], data: Float32Array.from([1, 2]) } }), InvalidArgumentError);
  assert.deepEqual(readFileSync(path), before);
  writeSafetensors(path, { b: { shape: [1], data: Float32Array.from([5]) } });
  const r = new SafetensorsReader(path);
  assert.deepEqual(r.names, ['b']);
  r.close();
  assert.deepEqual(readdirSync(d), ['m.safetensors']);
});

test('F16 and BF16 are widened exactly', () => {
  // 1.0, -2.0, 0.5, 65504 (max half), 2^-24 (smallest subnormal half)
  const half = Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001]);
  assert.deepEqual([...bytesToFloat32(Buffer.from(half.buffer), 'F16')], [1, -2, 0.5, 65504, 2 ** -24]);
  const bf = Uint16Array.from([0x3f80, 0xc040, 0x4049]); // 1, -3, 3.140625
  assert.deepEqual([...bytesToFloat32(Buffer.from(bf.buffer), 'BF16')], [1, -3, 3.140625]);
});

test('truncated and malformed files are InvalidArgumentErrors naming the tensor or offset', () => {
  const d = dir();
  const path = join(d, 'm.safetensors');
  writeSafetensors(path, {
    first: { shape: [4], data: new Float32Array(4) },
    second: { shape: [8], data: new Float32Array(8) },
  });
  const bytes = readFileSync(path);
  const cut = join(d, 'cut.safetensors');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 4));
  assert.throws(
    () => new SafetensorsReader(cut),
    (e: Error) =>
      e instanceof InvalidArgumentError &&
      e.message.includes('"second"') &&
      /ends at offset \d+/.test(e.message) &&
      (e as InvalidArgumentError).field === 'second',
  );
  writeFileSync(cut, bytes.subarray(0, 20));
  assert.throws(() => new SafetensorsReader(cut), /header length \d+ at offset 0 exceeds/);
  writeFileSync(cut, bytes.subarray(0, 4));
  assert.throws(() => new SafetensorsReader(cut), /too short/);
  const bad = Buffer.from(bytes);
  bad.write('!', 8);
  writeFileSync(cut, bad);
  assert.throws(() => new SafetensorsReader(cut), /not valid JSON/);
  assert.throws(() => new SafetensorsReader(join(d, 'nope.safetensors')), NotFoundError);
});
