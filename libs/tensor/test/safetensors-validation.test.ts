import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsReader, writeSafetensors } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';

function rawFile(dir: string, header: object, dataBytes: number): string {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const path = join(dir, `f${Math.random().toString(16).slice(2)}.safetensors`);
  writeFileSync(path, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
  return path;
}

test('overlapping tensors and non-string metadata are refused, naming the tensor or field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  try {
    const overlap = rawFile(
      dir,
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
      12,
    );
    assert.throws(
      () => new SafetensorsReader(overlap),
      (e: unknown) => e instanceof InvalidArgumentError && /"a" and "b" overlap/.test(e.message),
    );
    const meta = rawFile(dir, { __metadata__: { layer: 3 }, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 4);
    assert.throws(
      () => new SafetensorsReader(meta),
      (e: unknown) => e instanceof InvalidArgumentError && e.field === '__metadata__',
    );
    const ok = rawFile(
      dir,
      { __metadata__: { layer: '3' }, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } },
      8,
    );
    const reader = new SafetensorsReader(ok);
    assert.deepEqual(reader.header.metadata, { layer: '3' });
    reader.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the writer refuses a dtype that does not match the data array', () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  try {
    assert.throws(
      () => writeSafetensors(join(dir, 'x.safetensors'), { a: { dtype: 'I32', shape: [2], data: new Float32Array(2) } }),
      (e: unknown) => e instanceof InvalidArgumentError && e.field === 'a' && /I32 does not match its Float32Array/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
