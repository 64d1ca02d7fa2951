import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelHost } from '@memorize/contracts';
import { PrefixCache } from '@memorize/lm';
import { initBackend } from '@memorize/tensor';
import { feverPrompts, python3, storiesHf, tempDir, testingPython } from '@memorize/testing';
import { callContext, host, scoreItems } from './fever-items.js';

const CLAIMS = 60;
const script = join(dirname(fileURLToPath(import.meta.url)), 'torch_score.py');

test(`${CLAIMS} FEVER 1-shot prompts: Score's option log-probs (shared passes, prefix cache) agree with an independent PyTorch scoring of each option, and so does every prediction`, async () => {
  const backend = await initBackend({ logger: () => {} });
  const {
    models,
    handlers: [h],
  } = host(backend, dirname(dirname(storiesHf)), tempDir('memorize-torch-score-'), [new PrefixCache({ budgetBytes: 64 * 2 ** 20 })]);
  const ctx = callContext();
  await h.loadModel(modelHost.LoadModelRequest.fromPartial({ modelId: 'hf', path: storiesHf }), ctx);
  const prompts = await feverPrompts(models.get('hf').tokenizer, { claims: CLAIMS });
  const items = scoreItems(prompts);
  // Two calls of half the claims each, so the second one starts from the first one's cached prefixes.
  const half = items.length / 2;
  const scores: number[] = [];
  for (const part of [items.slice(0, half), items.slice(half)]) {
    const r = await h.score(modelHost.ScoreRequest.fromPartial({ modelId: 'hf', items: part, batchSize: 8 }), ctx);
    scores.push(...r.scores.map((s) => s.logprob));
  }
  const input = JSON.stringify({ prompts: prompts.map((p) => ({ context: p.context, options: p.options })) });
  const torch = (
    JSON.parse(
      execFileSync(python3, [script, storiesHf], {
        input,
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: testingPython },
        timeout: 600_000,
        maxBuffer: 64 << 20,
      }),
    ) as { logprobs: number[][] }
  ).logprobs;
  let maxDiff = 0;
  let agree = 0;
  prompts.forEach((_, p) => {
    const ours = scores.slice(3 * p, 3 * p + 3);
    const theirs = torch[p];
    ours.forEach((lp, o) => (maxDiff = Math.max(maxDiff, Math.abs(lp - theirs[o]))));
    const pick = (xs: number[]) => [0, 1, 2].reduce((b, o) => (xs[o] > xs[b] ? o : b), 0);
    if (pick(ours) === pick(theirs)) agree++;
  });
  process.stderr.write(`score-torch: ${CLAIMS} claims, max |logprob - torch| ${maxDiff.toExponential(2)}, predictions agree on ${agree}/${CLAIMS}\n`);
  assert.ok(maxDiff < 1e-4, `max |logprob - torch| = ${maxDiff}`);
  assert.equal(agree, CLAIMS, 'the argmax option agrees on every claim');
});
