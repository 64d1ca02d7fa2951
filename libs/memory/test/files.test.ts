/** Memory files: round trips for every kind, atomic writes, fingerprint refusal (the CLI functions: cli/test). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsReader, tf } from '@memorize/tensor';
import { FailedPreconditionError } from '@memorize/errors';
import { baseInfo, createMemoryFor, loadMemory, saveMemory, type MemoryConfig } from '@memorize/memory';
import { backend, tempDir, tokenRows } from '@memorize/testing';
import { tinyModel } from './helpers.js';

const KINDS: MemoryConfig[] = [
  { kind: 'memory', layer: 1 },
  { kind: 'dlp', layer: 1 },
  { kind: 'simset', shingleK: 2, layer: 1 },
  { kind: 'simset', shingleK: 1, mode: 'token', layer: 1, setProbability: 0.3 },
  { kind: 'random', layer: 2, alpha: 0.5 },
  { kind: 'doc-key', layer: 0, keyGenerator: 'nonlinear', keyActivation: 'relu', keyDim: 8 },
];

for (const config of KINDS) {
  test(`save/load round trip reproduces outputs: ${config.kind} ${config.mode ?? 'dim'}`, async () => {
    await backend();
    const model = tinyModel();
    const docs = tokenRows(5, 12, model.config.vocabSize);
    const memory = createMemoryFor(
      model,
      { entries: 24, ...config },
      docs.map((tokens, i) => ({ id: `doc${i}`, tokens })),
    );
    const dir = tempDir();
    const path = join(dir, 'm.safetensors');
    saveMemory(path, memory);
    assert.deepEqual(readdirSync(dir), ['m.safetensors'], 'no temp file left behind');
    const md = new SafetensorsReader(path).header.metadata;
    for (const key of ['kind', 'layer', 'd', 'm', 'mode', 'k', 'seeds', 'alpha', 'base_fingerprint']) assert.ok(key in md, key);
    assert.equal(md.base_fingerprint, model.fingerprint);
    const loaded = loadMemory(path, baseInfo(model));
    assert.deepEqual(loaded.config, memory.config);
    assert.deepEqual(loaded.entrySets(), memory.entrySets());
    const docIds = ['doc1', 'doc3'];
    const a = model.forward(docs.slice(0, 2), { hooks: memory.hooks(), docIds });
    const b = model.forward(docs.slice(0, 2), { hooks: loaded.hooks(), docIds });
    assert.deepEqual(b.dataSync(), a.dataSync());
    tf.dispose([a, b]);
    memory.dispose();
    loaded.dispose();
    model.dispose();
  });
}

test('loading into a different base model is refused, naming both fingerprints', async () => {
  await backend();
  const m1 = tinyModel(3);
  const m2 = tinyModel(4);
  const path = join(tempDir(), 'm.safetensors');
  const memory = createMemoryFor(m1, { kind: 'memory', layer: 1 });
  saveMemory(path, memory);
  assert.throws(
    () => loadMemory(path, baseInfo(m2)),
    (err: Error) => err instanceof FailedPreconditionError && err.message.includes(m1.fingerprint) && err.message.includes(m2.fingerprint),
  );
  memory.dispose();
  m1.dispose();
  m2.dispose();
});
