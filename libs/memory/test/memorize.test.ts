/**
 * Shortened memorization check (the full table over seeds and document sets: bench/memory/memorize-demo.ts).
 * On stories260K, dlp and simset-2 memories at layer 3 in the 'stable' preset (no LayerNorm, gate
 * initialised to 0; simset m = 512, p = 0.05; reference optimiser: AdamW lr 1e-3, wd 0.05, cosine with 10
 * warm-up steps, clip 10), trained for 300 steps (the demo's setting) on a handful of short documents, at least halve their mean
 * NLL while text outside the corpus moves by less than 10% (dlp scores it with mask source 'none', simset
 * with its own shingles). The unstructured memory does not meet the outside bound (no mask: whatever it
 * learns applies to every text) in this preset; memorize-unstructured.test.ts checks it in the anchored preset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel, loadTokenizer } from '@memorize/lm';
import { PRESETS, demoRows, docRatio, outsideChange, runMemorizationTrial } from '@memorize/memory';
import { storiesBin, storiesTok } from '@memorize/testing';
import { backend } from './helpers.js';

test('dlp and simset-2 at layer 3 (stable preset) halve the documents NLL in 300 steps; outside text moves < 10%', async () => {
  await backend();
  const model = loadModel(storiesBin);
  const tok = await loadTokenizer(storiesTok, { vocabSize: model.config.vocabSize });
  const { documents: docs, outside } = demoRows(tok, 'a');
  const results = [];
  for (const kind of ['dlp', 'simset-2']) {
    results.push(
      await runMemorizationTrial(model, docs, outside, {
        kind,
        preset: PRESETS.stable,
        layer: 3,
        seed: 2,
        schedule: { steps: 300, learningRate: 1e-3, weightDecay: 0.05, warmupSteps: 10, batchSize: docs.length },
      }),
    );
  }
  model.dispose();
  assert.equal(results.length, 2);
  for (const r of results) {
    process.stderr.write(
      `[memorize] ${r.kind}: doc NLL ${r.docNllBase.toFixed(3)} -> ${r.docNllAfter.toFixed(3)}, outside ${r.outsideNllBase.toFixed(3)} -> ${r.outsideNllAfter.toFixed(3)} (${r.outsideSource})\n`,
    );
    assert.equal(r.docNllInit, r.docNllBase, 'the untrained memory (gate 0) must not change the documents NLL');
    assert.ok(docRatio(r) <= 0.5, `doc NLL ratio ${docRatio(r)}`);
    assert.ok(Math.abs(outsideChange(r)) < 0.1, `outside change ${outsideChange(r)}`);
  }
});
