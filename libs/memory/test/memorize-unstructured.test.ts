/**
 * Shortened memorization check for the unstructured memory (the full table: bench/memory/memorize-demo.ts
 * --preset=anchored --kinds=memory --seeds=1,2,3 --doc-sets=a,b). It has no mask, so whatever it learns
 * applies to every text; in the 'stable' preset it halves the documents' NLL but moves outside text by
 * +72..+87%. The 'anchored' preset initialises b_up to -1.5 (sparse keys) and adds 4 x KL(base || base +
 * memory) on samples of the base model itself. The preset uses 64 samples; this check uses 16 to stay fast
 * (document set b, seed 1: +3.2% / +4.2% outside with two different 16-sample draws, ratio ~0.41). Its own
 * file so node:test runs it next to memorize.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel, loadTokenizer } from '@memorize/lm';
import { PRESETS, demoRows, docRatio, outsideChange, runMemorizationTrial } from '@memorize/memory';
import { storiesBin, storiesTok } from '@memorize/testing';
import { backend } from './helpers.js';

test('unstructured memory at layer 3 (anchored preset, 16 anchor samples) halves the documents NLL in 300 steps; outside text moves < 10%', async () => {
  await backend();
  const model = loadModel(storiesBin);
  const tok = await loadTokenizer(storiesTok, { vocabSize: model.config.vocabSize });
  const { documents: docs, outside } = demoRows(tok, 'b');
  const r = await runMemorizationTrial(model, docs, outside, {
    kind: 'memory',
    preset: { ...PRESETS.anchored, anchorSamples: 16 },
    layer: 3,
    seed: 1,
    schedule: { steps: 300, learningRate: 1e-3, weightDecay: 0.05, warmupSteps: 10, batchSize: docs.length },
  });
  model.dispose();
  process.stderr.write(
    `[memorize] memory: doc NLL ${r.docNllBase.toFixed(3)} -> ${r.docNllAfter.toFixed(3)}, outside ${r.outsideNllBase.toFixed(3)} -> ${r.outsideNllAfter.toFixed(3)} (${r.outsideSource})\n`,
  );
  assert.equal(r.docNllInit, r.docNllBase, 'the untrained memory (gate 0) must not change the documents NLL');
  assert.ok(docRatio(r) <= 0.5, `doc NLL ratio ${docRatio(r)}`);
  assert.ok(Math.abs(outsideChange(r)) < 0.1, `outside change ${outsideChange(r)}`);
});
