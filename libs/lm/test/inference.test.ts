import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '@memorize/tensor';
import { configFromHf, generate, loadModel, randomModel, scoreContinuations, documentLoss, type TransformerModel } from '@memorize/lm';
import { backend, maxAbsDiff, storiesBin, storiesHf, values } from '@memorize/testing';
import { golden, tinyNeoxHf } from './helpers.js';

const g = golden();

function argmaxRow(v: Float32Array, row: number, vocab: number): number {
  let best = row * vocab;
  for (let i = row * vocab; i < (row + 1) * vocab; i++) if (v[i] > v[best]) best = i;
  return best - row * vocab;
}

async function models(): Promise<[string, TransformerModel][]> {
  await backend();
  return [
    ['stories260K.bin (interleaved RoPE, GQA)', loadModel(storiesBin)],
    ['stories260K hf (rotate-half RoPE)', loadModel(storiesHf)],
    ['random GPT-NeoX', randomModel(configFromHf(tinyNeoxHf), { seed: 3, std: 0.2, normNoise: 0.1 })],
  ];
}

test('KV-cache decoding gives the logits of a full recompute (within 1e-4)', async () => {
  for (const [name, model] of await models()) {
    const seq = g.token_ids.slice(0, 24).map((id) => id % model.config.vocabSize);
    const full = values(model.forward([seq]));
    const v = model.config.vocabSize;
    const cache = model.newCache();
    // Prefill a prompt chunk, then a 3-token chunk, then single tokens.
    const parts = [seq.slice(0, 9), seq.slice(9, 12), ...seq.slice(12).map((id) => [id])];
    let at = 0;
    for (const part of parts) {
      const got = values(model.forward([part], { cache }));
      const want = full.subarray(at * v, (at + part.length) * v);
      assert.ok(maxAbsDiff(got, want) < 1e-4, `${name}: chunk at ${at}: max diff ${maxAbsDiff(got, want)}`);
      at += part.length;
    }
    assert.equal(cache.length, seq.length);
    cache.dispose();
  }
});

test('generate (KV cache) equals greedy decoding by full recompute', async () => {
  for (const [name, model] of await models()) {
    const prompt = [1, 403, 407].map((id) => id % model.config.vocabSize);
    const res = await generate(model, prompt, { maxNewTokens: 12, temperature: 0, stopTokens: [] });
    const seq = [...prompt];
    for (let i = 0; i < 12; i++) {
      const logits = values(model.forward([seq]));
      seq.push(argmaxRow(logits, seq.length - 1, model.config.vocabSize));
    }
    assert.deepEqual(res.tokens, seq.slice(prompt.length), name);
    assert.equal(res.stopReason, 'max_new_tokens');
  }
});

test('seeded sampling is reproducible and top-p stays inside the nucleus', async () => {
  await backend();
  const model = loadModel(storiesBin);
  const opts = { maxNewTokens: 20, temperature: 1, topP: 0.9, seed: 42, stopTokens: [] };
  const a = await generate(model, [1], opts);
  const b = await generate(model, [1], opts);
  assert.deepEqual(a.tokens, b.tokens);
  // A flat distribution (high temperature, no nucleus) makes different seeds diverge.
  const hot = { ...opts, temperature: 2, topP: 0 };
  const h1 = await generate(model, [1], hot);
  const h2 = await generate(model, [1], { ...hot, seed: 43 });
  assert.deepEqual(h1.tokens, (await generate(model, [1], hot)).tokens);
  assert.notDeepEqual(h1.tokens, h2.tokens);
  // A very small nucleus degenerates to greedy decoding.
  const nucleus = await generate(model, [1], { ...opts, topP: 1e-6 });
  const greedy = await generate(model, [1], { maxNewTokens: 20, temperature: 0, stopTokens: [] });
  assert.deepEqual(nucleus.tokens, greedy.tokens);
});

test('generation stops on a stop token or at the model length', async () => {
  await backend();
  const model = loadModel(storiesBin);
  const greedy = await generate(model, [1], { maxNewTokens: 10, temperature: 0, stopTokens: [] });
  const stopAt = greedy.tokens[4];
  const stopped = await generate(model, [1], { maxNewTokens: 10, temperature: 0, stopTokens: [stopAt] });
  assert.equal(stopped.stopReason, 'stop_token');
  assert.deepEqual(stopped.tokens, greedy.tokens.slice(0, greedy.tokens.indexOf(stopAt)));
  const long = await generate(model, new Array(model.config.maxSeqLen - 3).fill(300), { maxNewTokens: 10, temperature: 0, stopTokens: [] });
  assert.equal(long.stopReason, 'max_seq_len');
  assert.equal(long.tokens.length, 4);
});

test('batched scoring does not depend on batch size or padding (within 1e-4)', async () => {
  await backend();
  const model = loadModel(storiesBin);
  const ids = g.token_ids;
  const requests = [
    { context: ids.slice(0, 5), continuation: ids.slice(5, 9) },
    { context: ids.slice(0, 30), continuation: ids.slice(30, 31) },
    { context: [1], continuation: ids.slice(1, 3) },
    { context: ids.slice(0, 12), continuation: [300, 301, 302] },
    { context: ids.slice(0, 50), continuation: ids.slice(50, 60) },
    { context: [1, 403], continuation: [407] },
  ];
  const one = await scoreContinuations(model, requests, { batchSize: 1 });
  for (const bs of [2, 4, 6]) {
    const batched = await scoreContinuations(model, requests, { batchSize: bs });
    batched.forEach((r, i) => {
      assert.ok(Math.abs(r.logprob - one[i].logprob) < 1e-4, `batch ${bs} request ${i}: ${r.logprob} vs ${one[i].logprob}`);
      assert.equal(r.greedy, one[i].greedy);
    });
  }
  // Against a direct unpadded forward pass.
  const r0 = requests[4];
  const seq = [...r0.context, ...r0.continuation];
  const logits = model.forward([seq.slice(0, -1)]);
  const lp = values(tf.logSoftmax(logits));
  logits.dispose();
  let want = 0;
  for (let j = 0; j < r0.continuation.length; j++) want += lp[(r0.context.length - 1 + j) * 512 + r0.continuation[j]];
  assert.ok(Math.abs(one[4].logprob - want) < 1e-4);
  // The golden continuation is greedy; a random one is not.
  assert.equal(one[4].greedy, true);
  assert.equal(one[3].greedy, false);
});

test('left padding with an attention mask leaves real positions unchanged', async () => {
  await backend();
  const model = loadModel(storiesBin);
  const seq = g.token_ids.slice(0, 10);
  const plain = values(model.forward([seq]));
  const padded = values(model.forward([[0, 0, 0, ...seq]], { attentionMask: [[0, 0, 0, ...seq.map(() => 1)]] }));
  assert.ok(maxAbsDiff(plain, padded.subarray(3 * 512)) < 1e-4);
});

test('document loss excludes padding and returns per-row means', async () => {
  await backend();
  const model = loadModel(storiesBin);
  const a = g.token_ids.slice(0, 20);
  const b = g.token_ids.slice(20, 31);
  const single = (row: number[]) => {
    const l = documentLoss(model, [row]);
    const v = l.loss.dataSync()[0];
    tf.dispose([l.loss, l.perRow]);
    return v;
  };
  const la = single(a);
  const lb = single(b);
  const pad = (row: number[]) => [...row, ...new Array(20 - row.length).fill(0)];
  const both = documentLoss(model, [a, pad(b)], { attentionMask: [a.map(() => 1), pad(b.map(() => 1))] });
  const perRow = values(both.perRow);
  assert.deepEqual(both.tokenCounts, [19, 10]);
  assert.ok(Math.abs(perRow[0] - la) < 1e-4 && Math.abs(perRow[1] - lb) < 1e-4, `${perRow} vs ${la}, ${lb}`);
  const mean = values(both.loss)[0];
  assert.ok(Math.abs(mean - (la * 19 + lb * 10) / 29) < 1e-4);
  assert.ok(la > 0 && la < 3, `stories260K should predict its own greedy text well, loss ${la}`);
});
