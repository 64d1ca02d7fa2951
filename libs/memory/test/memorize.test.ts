/**
 * Shortened memorization demo (bench/memory/memorize-demo.ts): on stories260K, 40 steps at peak lr 1e-2
 * (AdamW, cosine with 10 warm-up steps, clip 10) halve the documents' mean NLL with a memory at layer 3 for
 * memory, dlp and simset-2. The out-of-corpus NLL figures are printed by the script (see the report); they
 * are not asserted here because with the reference architecture they move by far more than 10%.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDemo } from '../../../bench/memory/memorize-demo.js';
import { backend } from './helpers.js';

test('memorizing a handful of short documents at layer 3 halves their NLL (memory, dlp, simset-2)', async () => {
  await backend();
  const results = await runDemo({ steps: 40, lr: 1e-2, kinds: ['memory', 'dlp', 'simset-2'], log: () => {} });
  for (const r of results) {
    process.stderr.write(`[memorize] ${r.kind}: doc NLL ${r.docNllBase.toFixed(3)} -> ${r.docNllAfter.toFixed(3)}, outside ${r.outsideNllBase.toFixed(3)} -> ${r.outsideNllAfter.toFixed(3)} (${r.outsideSource})\n`);
    assert.ok(r.docNllAfter <= 0.5 * r.docNllBase, `${r.kind}: ${r.docNllAfter} vs base ${r.docNllBase}`);
  }
});
