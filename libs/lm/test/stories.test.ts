import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { loadModel } from '@memorize/lm';
import { runGenerate } from '../../../cli/src/commands/generate.js';
import { backend, golden, maxAbsDiff, storiesBin, storiesHf, storiesTok, values } from './helpers.js';

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

const g = golden();

test('runGenerate on stories260K.bin + tok512.bin prints llama2.c run.c greedy output', async () => {
  const out = sink();
  await runGenerate({ model: storiesBin, tokenizer: storiesTok, prompt: g.prompt, maxNewTokens: 60, temperature: 0, topP: 0.9 }, out.stream);
  assert.equal(out.text(), g.stdout);
  assert.equal(out.text(), `${g.text}\n`);
});

test('runGenerate on the HF folder prints the same text', async () => {
  const out = sink();
  await runGenerate({ model: storiesHf, prompt: g.prompt, maxNewTokens: 60, temperature: 0, topP: 0.9 }, out.stream);
  assert.equal(out.text(), g.stdout);
});

test('fewer new tokens print a prefix of the golden text', async () => {
  const out = sink();
  await runGenerate({ model: storiesBin, tokenizer: storiesTok, prompt: g.prompt, maxNewTokens: 5, temperature: 0, topP: 0.9 }, out.stream);
  const text = out.text();
  assert.ok(text.endsWith('\n'));
  assert.ok(g.text.startsWith(text.slice(0, -1)), text);
  assert.ok(text.length > g.prompt.length + 1);
});

test('llama2.c (interleaved RoPE) and HF (permuted q/k, rotate-half) logits agree within 1e-4', async () => {
  await backend();
  const bin = loadModel(storiesBin);
  const hf = loadModel(storiesHf);
  assert.equal(bin.config.ropeStyle, 'interleaved');
  assert.equal(hf.config.ropeStyle, 'half');
  const tokens = [g.token_ids];
  const a = values(bin.forward(tokens));
  const b = values(hf.forward(tokens));
  assert.equal(a.length, g.token_ids.length * 512);
  assert.ok(maxAbsDiff(a, b) < 1e-4, `max diff ${maxAbsDiff(a, b)}`);
  // Greedy choices along the golden sequence are the golden tokens themselves.
  for (let t = 4; t < g.token_ids.length - 1; t++) {
    const row = a.subarray(t * 512, (t + 1) * 512);
    assert.equal(row.indexOf(Math.max(...row)), g.token_ids[t + 1], `position ${t}`);
  }
  assert.notEqual(bin.fingerprint, hf.fingerprint);
  assert.equal(loadModel(storiesBin).fingerprint, bin.fingerprint);
  bin.dispose();
  hf.dispose();
});
