/** `memorize memory import|loss|inspect` as functions: PyTorch import, loss with gradients, inspection. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { writeSafetensors } from '@memorize/tensor';
import { loadModel } from '@memorize/lm';
import { createMemoryFor, loadMemory, saveMemory } from '@memorize/memory';
import { runMemoryImport, runMemoryInspect, runMemoryLoss } from '../src/commands/memory.js';
import { backend, storiesBin, tempDir, tokenRows } from '@memorize/testing';

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({ write: (c, _e, cb) => (chunks.push(Buffer.from(c)), cb()) });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

test('memory import: bare PyTorch weights (scalar gate) -> memory file usable by loss and inspect', async () => {
  await backend();
  const dir = tempDir();
  const d = 64;
  const m = 16;
  const rnd = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 0.1);
  const weights = join(dir, 'w.safetensors');
  writeSafetensors(weights, {
    'up.weight': { shape: [m, d], data: rnd(m * d, 1) },
    'up.bias': { shape: [m], data: rnd(m, 2) },
    'down.weight': { shape: [d, m], data: rnd(d * m, 3) },
    'down.bias': { shape: [d], data: rnd(d, 4) },
    'ln.weight': { shape: [d], data: rnd(d, 5).map((x) => 1 + x) },
    'ln.bias': { shape: [d], data: rnd(d, 6) },
    gate: { shape: [], data: Float32Array.of(0.7) },
  });
  const out = join(dir, 'm.safetensors');
  const imp = sink();
  await runMemoryImport({ kind: 'memory', layer: 3, weights, out, gelu: 'tanh', json: true }, imp.stream);
  const summary = JSON.parse(imp.text()) as { m: number; d: number; base_fingerprint: string | null; gelu: string };
  assert.deepEqual([summary.m, summary.d, summary.base_fingerprint, summary.gelu], [m, d, null, 'tanh']);
  const loaded = loadMemory(out);
  const up = loaded.parameters().get('up.weight')!;
  // Stored transposed at runtime; the PyTorch row-major [m, d] element (i, j) is runtime (j, i).
  assert.equal(up.variable.dataSync()[5 * m + 2], rnd(m * d, 1)[2 * d + 5]);
  assert.equal(loaded.parameters().get('gate')!.variable.dataSync()[0], Float32Array.of(0.7)[0]);
  loaded.dispose();

  const loss = sink();
  await runMemoryLoss({ model: storiesBin, memory: out, tokens: '1,403,407,261,378,429', grad: true, json: true }, loss.stream);
  const r = JSON.parse(loss.text()) as { loss: number; grad_norms: Record<string, number>; total_grad_norm: number };
  assert.ok(Number.isFinite(r.loss) && r.loss > 0);
  assert.deepEqual(Object.keys(r.grad_norms).sort(), ['down.bias', 'down.weight', 'gate', 'ln.bias', 'ln.weight', 'up.bias', 'up.weight']);
  const sumSq = Object.values(r.grad_norms).reduce((a, n) => a + n * n, 0);
  assert.ok(Math.abs(Math.sqrt(sumSq) - r.total_grad_norm) < 1e-5 * r.total_grad_norm);

  const inspect = sink();
  await runMemoryInspect(out, inspect.stream, { json: true });
  const info = JSON.parse(inspect.text()) as { metadata: Record<string, string>; tensors: Record<string, number[]> };
  assert.equal(info.metadata.kind, 'memory');
  assert.deepEqual(info.tensors['up.weight'], [m, d]);
});

test('memory import with --model records the fingerprint; inspect reports entry-set statistics', async () => {
  await backend();
  const model = loadModel(storiesBin);
  const dir = tempDir();
  const docs = tokenRows(6, 30, model.config.vocabSize);
  const memory = createMemoryFor(
    model,
    { kind: 'simset', layer: 2, setProbability: 0.2, entries: 32 },
    docs.map((tokens) => ({ tokens })),
  );
  const path = join(dir, 's.safetensors');
  saveMemory(path, memory);
  const out = sink();
  await runMemoryInspect(path, out.stream);
  const sizes = memory.entrySets()!.map((s) => s.length);
  const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  assert.match(
    out.text(),
    new RegExp(`entry sets \\(entry sets\\): 6 documents, size mean ${mean.toFixed(2)} min ${Math.min(...sizes)} max ${Math.max(...sizes)}`),
  );
  assert.match(out.text(), /overlap: 15 pairs/);
  memory.dispose();

  const w = join(dir, 'w.safetensors');
  writeSafetensors(w, {
    'up.weight': { shape: [4, 64], data: new Float32Array(256) },
    'up.bias': { shape: [4], data: new Float32Array(4) },
    'down.weight': { shape: [64, 4], data: new Float32Array(256) },
    'down.bias': { shape: [64], data: new Float32Array(64) },
  });
  const imp = sink();
  await runMemoryImport({ kind: 'memory', layer: 1, weights: w, out: join(dir, 'i.safetensors'), model: storiesBin, json: true }, imp.stream);
  assert.equal((JSON.parse(imp.text()) as { base_fingerprint: string }).base_fingerprint, model.fingerprint);
  model.dispose();
});
