import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsReader, writeSafetensors } from '@memorize/tensor';
import { InvalidArgumentError, NotFoundError } from '@memorize/errors';
import { configFromHf, loadModel, llama2cLayout, type TensorMap } from '@memorize/lm';
import { backend, maxAbsDiff, storiesBin, storiesHf, tempDir, values } from '@memorize/testing';
import { golden } from './helpers.js';

const tokens = [golden().token_ids.slice(0, 16)];

function storiesHfTensors(): TensorMap {
  const r = new SafetensorsReader(join(storiesHf, 'model.safetensors'));
  const m: TensorMap = new Map();
  for (const name of r.names) {
    const t = r.readFloat32(name);
    m.set(name, { data: t.data, shape: t.shape });
  }
  r.close();
  return m;
}

test('a truncated llama2.c file is rejected naming the tensor and offset', async () => {
  await backend();
  const bytes = readFileSync(storiesBin);
  const header = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 28));
  const layout = llama2cLayout(header, 'x');
  const w2 = layout.segments.get('model.layers.2.mlp.down_proj.weight')!;
  const path = join(tempDir(), 'cut.bin');
  writeFileSync(path, bytes.subarray(0, w2.offset + 100));
  assert.throws(
    () => loadModel(path),
    (err: Error) =>
      err instanceof InvalidArgumentError &&
      err.message.includes('w2[layer 2]') &&
      err.message.includes(`[${w2.offset}, `) &&
      err.message.includes(`ends at offset ${w2.offset + 100}`) &&
      err.field === 'model.layers.2.mlp.down_proj.weight',
  );
  const extra = join(tempDir(), 'extra.bin');
  writeFileSync(extra, Buffer.concat([bytes, Buffer.alloc(12)]));
  assert.throws(() => loadModel(extra), /expected 1056540 bytes, found 1056552/);
  const tiny = join(tempDir(), 'tiny.bin');
  writeFileSync(tiny, bytes.subarray(0, 10));
  assert.throws(() => loadModel(tiny), /truncated header/);
  assert.throws(() => loadModel(join(tempDir(), 'missing.bin')), NotFoundError);
});

test('llama2.c file with a separate classifier (negative vocab_size) loads', async () => {
  await backend();
  const bytes = readFileSync(storiesBin);
  const header = Buffer.from(bytes.subarray(0, 28));
  header.writeInt32LE(-512, 20);
  const embedding = bytes.subarray(28, 28 + 512 * 64 * 4);
  const path = join(tempDir(), 'untied.bin');
  writeFileSync(path, Buffer.concat([header, bytes.subarray(28), embedding]));
  const untied = loadModel(path);
  assert.equal(untied.config.tieEmbeddings, false);
  const shared = loadModel(storiesBin);
  assert.equal(maxAbsDiff(values(untied.forward(tokens)), values(shared.forward(tokens))), 0);
  assert.notEqual(untied.fingerprint, shared.fingerprint);
});

test('a truncated safetensors file is rejected naming the tensor', async () => {
  await backend();
  const dir = tempDir();
  copyFileSync(join(storiesHf, 'config.json'), join(dir, 'config.json'));
  const bytes = readFileSync(join(storiesHf, 'model.safetensors'));
  writeFileSync(join(dir, 'model.safetensors'), bytes.subarray(0, bytes.length - 1000));
  assert.throws(
    () => loadModel(dir),
    (err: Error) => err instanceof InvalidArgumentError && /tensor "[^"]+" ends at offset \d+ but the file has only/.test(err.message),
  );
});

test('sharded HF checkpoints (index.json) load to the same model and fingerprint', async () => {
  await backend();
  const all = storiesHfTensors();
  const dir = tempDir();
  copyFileSync(join(storiesHf, 'config.json'), join(dir, 'config.json'));
  const names = [...all.keys()];
  const shards = [names.filter((_, i) => i % 2 === 0), names.filter((_, i) => i % 2 === 1)];
  const weightMap: Record<string, string> = {};
  shards.forEach((list, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    writeSafetensors(join(dir, file), new Map(list.map((n) => [n, all.get(n)!])));
    for (const n of list) weightMap[n] = file;
  });
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  const sharded = loadModel(dir);
  const single = loadModel(storiesHf);
  assert.equal(sharded.fingerprint, single.fingerprint);
  assert.equal(maxAbsDiff(values(sharded.forward(tokens)), values(single.forward(tokens))), 0);
  // A shard missing a listed tensor is an error naming it.
  writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), new Map(shards[1].slice(1).map((n) => [n, all.get(n)!])));
  assert.throws(() => loadModel(dir), new RegExp(`lacks it|${shards[1][0].replace(/\./g, '\\.')}`));
});

function toHalf(x: number): number {
  // Round-to-nearest float32 -> float16 for normal-range values (enough for these weights).
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  if (exp <= 0) return sign;
  const mant = u & 0x7fffff;
  let h = sign | (exp << 10) | (mant >>> 13);
  if (mant & 0x1000) h += 1;
  return h;
}

test('F16 and BF16 checkpoints are widened to float32 on load', async () => {
  await backend();
  const all = storiesHfTensors();
  const ref = loadModel(storiesHf);
  const want = values(ref.forward(tokens));
  for (const dtype of ['F16', 'BF16'] as const) {
    const dir = tempDir();
    copyFileSync(join(storiesHf, 'config.json'), join(dir, 'config.json'));
    // Write the file by hand (the library writer only emits F32/I32/U8).
    const header: Record<string, unknown> = {};
    const blobs: Buffer[] = [];
    let offset = 0;
    for (const [name, t] of all) {
      const h = new Uint16Array(t.data.length);
      t.data.forEach((x, i) => (h[i] = dtype === 'F16' ? toHalf(x) : new Uint32Array(new Float32Array([x]).buffer)[0] >>> 16));
      header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + h.byteLength] };
      offset += h.byteLength;
      blobs.push(Buffer.from(h.buffer));
    }
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([len, json, ...blobs]));
    const m = loadModel(dir);
    const got = values(m.forward(tokens));
    const tol = dtype === 'F16' ? 0.05 : 0.5;
    assert.ok(maxAbsDiff(got, want) < tol, `${dtype}: max diff ${maxAbsDiff(got, want)}`);
    assert.notEqual(m.fingerprint, ref.fingerprint);
  }
});

test('config.json special token ids: a number, a list (first is primary), or null (default)', () => {
  const base = JSON.parse(readFileSync(join(storiesHf, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(configFromHf({ ...base, eos_token_id: [7, 9] }).eosId, 7);
  assert.equal(configFromHf({ ...base, bos_token_id: null }).bosId, 1);
  assert.equal(configFromHf({ ...base, eos_token_id: 5 }).eosId, 5);
  assert.throws(
    () => configFromHf({ ...base, eos_token_id: 'x' }),
    (e: unknown) => e instanceof InvalidArgumentError && e.field === 'eos_token_id',
  );
});

test('checkConfig sees the parsed configuration and its file before any weight is read, and can refuse it', async () => {
  await backend();
  const dir = tempDir();
  const base = JSON.parse(readFileSync(join(storiesHf, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...base, max_position_embeddings: 1e9 }));
  // No weights at all: a hook that throws must run before the loader looks for them.
  const seen: string[] = [];
  const refuse = (config: { maxSeqLen: number }, source: { path: string; format: string }): void => {
    seen.push(`${source.format} ${source.path} ${config.maxSeqLen}`);
    throw new InvalidArgumentError(`${source.path}: max_position_embeddings too large`, 'max_position_embeddings');
  };
  assert.throws(() => loadModel(dir, { checkConfig: refuse }), /max_position_embeddings too large/);
  assert.deepEqual(seen, [`hf ${join(dir, 'config.json')} 1000000000`]);
  assert.throws(() => loadModel(storiesBin, { checkConfig: refuse }), /too large/);
  assert.match(seen[1], new RegExp(`^llama2c ${storiesBin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\d+$`));
  // A hook that returns lets the load go on.
  assert.equal(loadModel(storiesHf, { checkConfig: () => {} }).fingerprint, loadModel(storiesHf).fingerprint);
});
