import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '@memorize/errors';
import { buildCorpus, buildEvalPrompts, buildPrompt, LABELS, parseAnswer, selectExamples } from '@memorize/fever';
import { feverFiles as SHARED } from '@memorize/testing';

test('buildPrompt renders the reference template', () => {
  const prompt = buildPrompt(
    [
      { claim: 'Paris is in France.', label: 'SUPPORTS' },
      { claim: 'Paris is in Peru.', label: 'REFUTES' },
      { claim: 'Paris likes jazz.', label: 'NOT ENOUGH INFO' },
    ],
    'Lyon is in France.',
  );
  assert.equal(
    prompt,
    [
      'Determine the factuality of the following claims',
      'Answer candidates: (a) supports, (b) refutes, (c) not enough info',
      'Claim: Paris is in France.',
      'A: (a)',
      'Claim: Paris is in Peru.',
      'A: (b)',
      'Claim: Paris likes jazz.',
      'A: (c)',
      'Claim: Lyon is in France.',
      'A:',
    ].join('\n'),
  );
  assert.throws(() => buildPrompt([], ''), InvalidArgumentError);
});

test('parseAnswer takes the first answer letter; invalid otherwise', () => {
  assert.equal(parseAnswer(' (a)\nClaim: x'), 'SUPPORTS');
  assert.equal(parseAnswer(' (b)'), 'REFUTES');
  assert.equal(parseAnswer('c'), 'NOT ENOUGH INFO');
  assert.equal(parseAnswer(' b) because'), 'REFUTES');
  assert.equal(parseAnswer('The answer is (c), not (a)'), 'NOT ENOUGH INFO');
  assert.equal(parseAnswer('I cannot say'), undefined);
  assert.equal(parseAnswer(''), undefined);
  assert.equal(parseAnswer('(d)'), undefined);
});

test('selectExamples: same-page pool (+fill), deterministic, labels covered for k >= 3', async () => {
  const corpus = await buildCorpus(SHARED, { topN: 40 });
  for (const page of corpus.pages) {
    const claimId = page.eval[0]!.id;
    const one = selectExamples(page, 1, { seed: 3, claimId });
    assert.equal(one.length, 1);
    assert.deepEqual(selectExamples(page, 1, { seed: 3, claimId }), one);
    assert.ok([...page.pool, ...page.fill].includes(one[0]!));
    const three = selectExamples(page, 3, { seed: 3, claimId });
    assert.deepEqual(new Set(three.map((c) => c.label)), new Set(LABELS));
    assert.deepEqual(selectExamples(page, 0), []);
  }
  assert.throws(
    () => selectExamples(corpus.pages[0]!, 99),
    (err: unknown) => err instanceof InvalidArgumentError && err.field === 'k',
  );
  // A pool claim gets k examples that never include itself.
  for (const page of corpus.pages.slice(0, 10)) {
    for (const c of page.pool) {
      const k = page.pool.length + page.fill.length - 1;
      const examples = selectExamples(page, k, { seed: 1, claimId: c.id });
      assert.equal(examples.length, k);
      assert.ok(!examples.some((e) => e.id === c.id));
      assert.throws(() => selectExamples(page, k + 1, { seed: 1, claimId: c.id }), InvalidArgumentError);
    }
  }
  const prompts = buildEvalPrompts(corpus, 1, { seed: 0 });
  assert.equal(prompts.length, corpus.stats.eval);
  const first = prompts[0]!;
  assert.ok(first.prompt.endsWith(`Claim: ${first.claim}\nA:`));
  assert.equal(first.exampleIds.length, 1);
  const evalIds = new Set(prompts.map((p) => p.claimId));
  for (const p of prompts) for (const e of p.exampleIds) assert.ok(!evalIds.has(e), 'examples never come from the eval set');
});
