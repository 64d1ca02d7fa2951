import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sampler, Xorshift64, argmax, sampleMult, sampleTopP, softmaxF32 } from '@memorize/lm';

test('Xorshift64 reproduces llama2.c run.c random_u32 / random_f32', () => {
  // Values printed by run.c's random_u32/random_f32 compiled with gcc (x86-64) for these seeds.
  const a = new Xorshift64(42);
  assert.deepEqual([a.nextU32(), a.nextU32(), a.nextU32(), a.nextU32()], [1456360119, 3359763283, 3393612768, 4054632243]);
  const b = new Xorshift64(1234567890123);
  assert.deepEqual(
    [b.nextF32(), b.nextF32(), b.nextF32()].map((x) => x.toPrecision(9)),
    ['0.936711371', '0.709576666', '0.291406035'],
  );
  assert.throws(() => new Xorshift64(0), /seed/);
});

test('samplers follow run.c: argmax, cdf walk, nucleus cut', () => {
  assert.equal(argmax([0.1, 3, 3, -1]), 1);
  const probs = softmaxF32(Float32Array.from([0, Math.log(2), Math.log(3), Math.log(4)]));
  assert.ok(Math.abs(probs[3] - 0.4) < 1e-6);
  assert.equal(sampleMult(probs, 0.05), 0);
  assert.equal(sampleMult(probs, 0.25), 1);
  assert.equal(sampleMult(probs, 0.99), 3);
  // top-p 0.6 keeps {3 (0.4), 2 (0.3)}: the coin scales over their 0.7 mass.
  assert.equal(sampleTopP(probs, 0.6, 0.5), 3);
  assert.equal(sampleTopP(probs, 0.6, 0.6), 2);
  assert.equal(sampleTopP(probs, 0.6, 0.999), 2);
  const greedy = new Sampler({ temperature: 0, topP: 0.9, seed: 1 });
  assert.equal(greedy.sample(Float32Array.from([1, 5, 2])), 1);
  assert.throws(() => new Sampler({ temperature: -1, topP: 1 }), /temperature/);
});
