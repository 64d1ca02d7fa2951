/**
 * Initialisation options (gateInit, zeroInitDown, upBiasInit) and the 'none' mask source: defaults are the
 * reference, the options do what they say to the untrained memory, and files round-trip them. Also the
 * trainer's anchor term (KL to the base model on anchor rows) and base-model anchor samples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SafetensorsReader, tf } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';
import type { HookContext } from '@memorize/lm';
import {
  MEMORY_DEFAULTS,
  MemoryTrainer,
  baseInfo,
  createMemoryFor,
  loadMemory,
  resolveMemoryConfig,
  sampleAnchorRows,
  saveMemory,
  type MemoryConfig,
  type MemoryModule,
} from '@memorize/memory';
import { backend, tempDir, tokenRows } from '@memorize/testing';
import { tinyModel } from './helpers.js';

test('gateInit defaults to 1 and zeroInitDown to false (the reference); 0 is a real gateInit; non-finite is refused', () => {
  assert.equal(MEMORY_DEFAULTS.gateInit, 1);
  assert.equal(MEMORY_DEFAULTS.zeroInitDown, false);
  const c = resolveMemoryConfig({ kind: 'memory', layer: 0 });
  assert.equal(c.gateInit, 1);
  assert.equal(c.zeroInitDown, false);
  assert.equal(resolveMemoryConfig({ kind: 'memory', layer: 0, gateInit: 0 }).gateInit, 0);
  assert.equal(resolveMemoryConfig({ kind: 'memory', layer: 0, gateInit: 0.1 }).gateInit, 0.1);
  assert.throws(
    () => resolveMemoryConfig({ kind: 'memory', layer: 0, gateInit: Number.NaN }),
    (e: Error) => e instanceof InvalidArgumentError && e.message.includes('gateInit'),
  );
});

function values(memory: MemoryModule, name: string): Float32Array {
  return Float32Array.from(memory.parameters().get(name)!.variable.dataSync() as Float32Array);
}

test('gateInit sets the gate; zeroInitDown zeroes W_down and b_down and leaves the up projection as the reference draws it', async () => {
  await backend();
  const model = tinyModel();
  const ref = createMemoryFor(model, { kind: 'memory', layer: 1, seed: 5 });
  const opt = createMemoryFor(model, { kind: 'memory', layer: 1, seed: 5, gateInit: 0.25, zeroInitDown: true });
  assert.deepEqual(values(ref, 'gate'), Float32Array.of(1));
  assert.deepEqual(values(opt, 'gate'), Float32Array.of(0.25));
  assert.deepEqual(values(opt, 'up.weight'), values(ref, 'up.weight'));
  assert.deepEqual(values(opt, 'up.bias'), values(ref, 'up.bias'));
  assert.ok(values(ref, 'down.weight').some((x) => x !== 0));
  assert.ok(values(opt, 'down.weight').every((x) => x === 0));
  assert.ok(values(opt, 'down.bias').every((x) => x === 0));
  ref.dispose();
  opt.dispose();
  model.dispose();
});

for (const config of [
  { kind: 'memory', layer: 1, layerNorm: false, gateInit: 0 },
  { kind: 'memory', layer: 1, layerNorm: false, zeroInitDown: true },
  { kind: 'memory', layer: 1, layerNorm: true, gateInit: 0 },
  { kind: 'dlp', layer: 1, layerNorm: false, zeroInitDown: true },
] as MemoryConfig[]) {
  test(`untrained ${config.kind} with ${JSON.stringify(config)} leaves the logits exactly unchanged; the gradient still reaches it`, async () => {
    await backend();
    const model = tinyModel();
    const rows = tokenRows(2, 10, model.config.vocabSize);
    const memory = createMemoryFor(
      model,
      config,
      rows.map((tokens) => ({ tokens })),
    );
    const a = model.forward(rows);
    const b = model.forward(rows, { hooks: memory.hooks(), docIds: [0, 1] });
    assert.deepEqual(b.dataSync(), a.dataSync());
    // A memory that adds nothing must still be trainable: some parameter has a non-zero gradient.
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.square(model.forward(rows, { hooks: memory.hooks(), docIds: [0, 1] }))) as tf.Scalar,
      memory.variables(),
    );
    const norms = Object.values(grads).map((g) => tf.tidy(() => tf.norm(g).dataSync()[0]));
    assert.ok(
      norms.some((n) => n > 0),
      `gradient norms ${norms}`,
    );
    tf.dispose([a, b, value, ...Object.values(grads)]);
    memory.dispose();
    model.dispose();
  });
}

test('files round-trip gateInit and zeroInitDown (metadata and config); old files without them load as the reference', async () => {
  await backend();
  const model = tinyModel();
  const docs = tokenRows(3, 12, model.config.vocabSize);
  const memory = createMemoryFor(
    model,
    { kind: 'simset', layer: 1, entries: 24, gateInit: 0.5, zeroInitDown: true, layerNorm: false },
    docs.map((tokens) => ({ tokens })),
  );
  const path = join(tempDir(), 'm.safetensors');
  saveMemory(path, memory);
  const md = new SafetensorsReader(path).header.metadata;
  assert.equal(md.gate_init, '0.5');
  assert.equal(md.zero_init_down, 'true');
  const loaded = loadMemory(path, baseInfo(model));
  assert.equal(loaded.config.gateInit, 0.5);
  assert.equal(loaded.config.zeroInitDown, true);
  assert.deepEqual(loaded.config, memory.config);
  loaded.dispose();
  memory.dispose();
  // A config written before the options existed resolves to the reference values.
  const legacy = resolveMemoryConfig(JSON.parse('{"kind":"memory","layer":1,"layerNorm":true,"gate":true}') as MemoryConfig);
  assert.equal(legacy.gateInit, 1);
  assert.equal(legacy.zeroInitDown, false);
  model.dispose();
});

/** h + M(h) for random h under one mask source, for rows without document ids. */
function applyWith(memory: MemoryModule, h: tf.Tensor3D, rows: number[][], maskSource: 'none' | 'all'): Float32Array {
  const [b, t] = h.shape;
  const ctx: HookContext = {
    layer: memory.layer,
    batchSize: b,
    seqLen: t,
    tokens: rows,
    pastTokens: rows.map(() => []),
    pastAttentionMask: rows.map(() => []),
    positions: rows.map((r) => r.map((_, i) => i)),
    attentionMask: rows.map((r) => r.map(() => 1)),
  };
  return tf.tidy(() => Float32Array.from(memory.apply(h, ctx, { maskSource }).dataSync() as Float32Array));
}

for (const config of [
  { kind: 'dlp', layer: 1 },
  { kind: 'simset', layer: 1, shingleK: 2, setProbability: 0.4 },
  { kind: 'simset', layer: 1, shingleK: 1, mode: 'token', setProbability: 0.4 },
  { kind: 'random', layer: 1 },
  { kind: 'doc-key', layer: 1, keyDim: 8 },
] as MemoryConfig[]) {
  test(`mask source none switches every entry off: ${config.kind} ${config.mode ?? 'dim'} adds only gate * b_down`, async () => {
    await backend();
    const model = tinyModel();
    const rows = tokenRows(2, 6, model.config.vocabSize);
    const memory = createMemoryFor(
      model,
      { ...config, layerNorm: false, gateInit: 0.7, entries: 16 },
      rows.map((tokens) => ({ tokens })),
    );
    const d = model.config.dim;
    const h = tf.randomNormal([2, 6, d], 0, 1, 'float32', 3) as tf.Tensor3D;
    const hv = h.dataSync() as Float32Array;
    const bias = values(memory, 'down.bias');
    const gate = values(memory, 'gate')[0];
    const out = applyWith(memory, h, rows, 'none');
    for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i] - (hv[i] + Math.fround(gate * bias[i % d]))) < 1e-6, `element ${i}`);
    // 'all' does use the entries.
    const all = applyWith(memory, h, rows, 'all');
    assert.ok(all.some((x, i) => Math.abs(x - out[i]) > 1e-4));
    h.dispose();
    memory.dispose();
    model.dispose();
  });
}

test('upBiasInit defaults to null (reference draw); a value fills b_up and changes nothing else; files round-trip it', async () => {
  await backend();
  assert.equal(MEMORY_DEFAULTS.upBiasInit, null);
  assert.equal(resolveMemoryConfig({ kind: 'memory', layer: 0 }).upBiasInit, null);
  assert.equal(resolveMemoryConfig({ kind: 'memory', layer: 0, upBiasInit: 0 }).upBiasInit, 0);
  assert.throws(
    () => resolveMemoryConfig({ kind: 'memory', layer: 0, upBiasInit: Number.POSITIVE_INFINITY }),
    (e: Error) => e instanceof InvalidArgumentError && e.message.includes('upBiasInit'),
  );
  const model = tinyModel();
  const ref = createMemoryFor(model, { kind: 'memory', layer: 1, seed: 5 });
  const opt = createMemoryFor(model, { kind: 'memory', layer: 1, seed: 5, upBiasInit: -1.5 });
  assert.ok(values(opt, 'up.bias').every((x) => x === -1.5));
  assert.ok(values(ref, 'up.bias').some((x) => x !== -1.5));
  for (const name of ['up.weight', 'down.weight', 'down.bias', 'gate']) assert.deepEqual(values(opt, name), values(ref, name), name);
  const path = join(tempDir(), 'm.safetensors');
  saveMemory(path, opt);
  assert.equal(new SafetensorsReader(path).header.metadata.up_bias_init, '-1.5');
  const loaded = loadMemory(path, baseInfo(model));
  assert.equal(loaded.config.upBiasInit, -1.5);
  assert.deepEqual(values(loaded, 'up.bias'), values(opt, 'up.bias'));
  saveMemory(path, ref);
  assert.equal(new SafetensorsReader(path).header.metadata.up_bias_init, '');
  assert.equal(loadMemory(path, baseInfo(model)).config.upBiasInit, null);
  for (const m of [ref, opt, loaded]) m.dispose();
  model.dispose();
});

/** Mean per-position KL(base || base + memory) over rows, computed independently of the trainer. */
function anchorKl(model: ReturnType<typeof tinyModel>, memory: MemoryModule, rows: number[][]): number {
  return tf.tidy(() => {
    const inputs = rows.map((r) => r.slice(0, -1));
    const base = tf.logSoftmax(model.forward(inputs));
    const withMemory = tf.logSoftmax(model.forward(inputs, { hooks: memory.hooks() }));
    return tf.mean(tf.sum(tf.mul(tf.exp(base), tf.sub(base, withMemory)), -1)).dataSync()[0];
  });
}

test('trainer anchor term: loss = LM loss + w * KL on the anchors; it keeps the anchors closer to the base model', async () => {
  await backend();
  const model = tinyModel();
  const docs = tokenRows(3, 12, model.config.vocabSize, 11).map((ids, i) => ({ ids, documentIndex: i }));
  const anchors = tokenRows(4, 12, model.config.vocabSize, 23);
  const config: MemoryConfig = { kind: 'memory', layer: 1, layerNorm: false, gateInit: 0, upBiasInit: -1, seed: 2 };
  assert.throws(
    () => new MemoryTrainer(model, createMemoryFor(model, config), { anchorWeight: 1 }),
    (e: Error) => e instanceof InvalidArgumentError,
  );
  const kl: number[] = [];
  for (const anchorWeight of [0, 4]) {
    const memory = createMemoryFor(model, config);
    const trainer = new MemoryTrainer(model, memory, { anchors, anchorWeight });
    for (let s = 0; s < 40; s++) {
      const before = anchorKl(model, memory, anchors);
      const r = trainer.step(docs, 3e-2);
      // The reported loss is the objective before the update: LM loss plus the weighted KL at that point.
      assert.ok(
        Math.abs(r.loss - (r.lmLoss + anchorWeight * before)) < 1e-4 * Math.max(1, r.loss),
        `step ${s}: ${r.loss} vs ${r.lmLoss} + ${anchorWeight} * ${before}`,
      );
    }
    kl.push(anchorKl(model, memory, anchors));
    trainer.dispose();
    memory.dispose();
  }
  assert.ok(kl[0] > 0 && kl[1] < kl[0] / 2, `anchor KL without / with the term: ${kl}`);
  model.dispose();
});

test('sampleAnchorRows: BOS-led rows of the base model, deterministic in the seed', async () => {
  await backend();
  const model = tinyModel();
  const a = await sampleAnchorRows(model, { count: 3, tokens: 8, seed: 4 });
  const b = await sampleAnchorRows(model, { count: 3, tokens: 8, seed: 4 });
  const c = await sampleAnchorRows(model, { count: 3, tokens: 8, seed: 5 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  for (const row of a) {
    assert.equal(row[0], model.config.bosId);
    assert.ok(row.length >= 2 && row.length <= 9);
  }
  await assert.rejects(() => sampleAnchorRows(model, { count: 0, tokens: 8, seed: 4 }), InvalidArgumentError);
  model.dispose();
});
