/**
 * The committed demo model reproduces from its recipe: `memorize demo-model --max-steps 3` (the world from its
 * seed, the random model from its seed, three steps of the full-parameter run on the project's own stack, as
 * separate processes) gives the committed run's first losses, and the world it writes is the committed run's
 * (same manifest hash).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runCli } from '@memorize/testing';

interface PretrainLog {
  world_manifest_sha256: string;
  steps: Array<{ step: number; loss: number; learning_rate: number; tokens: number }>;
}

test('three steps from the recipe give the committed pretraining run its first three losses', () => {
  const work = mkdtempSync(join(tmpdir(), 'memorize-demo-model-'));
  try {
    const committed = JSON.parse(readFileSync(join(repoRoot, 'models/demo/pretrain-log.json'), 'utf8')) as PretrainLog;
    const r = runCli(['demo-model', '--recipe', 'models/demo/recipe.json', '--work', work, '--max-steps', '3', '--port-base', '50170'], 300_000);
    assert.equal(r.code, 0, r.stderr);
    const log = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as PretrainLog;
    assert.equal(log.world_manifest_sha256, committed.world_manifest_sha256, 'the same world');
    assert.equal(log.steps.length, 3);
    for (const [i, s] of log.steps.entries()) {
      const c = committed.steps[i];
      assert.equal(s.tokens, c.tokens, `step ${i}: the same rows`);
      assert.equal(s.learning_rate, c.learning_rate, `step ${i}: the same learning rate`);
      // The same data, initial weights and schedule; only float summation order (BLAS threads) may differ.
      assert.ok(Math.abs(s.loss - c.loss) < 1e-3, `step ${i}: loss ${s.loss} vs committed ${c.loss}`);
    }
    // Not a constant: the loss moves over the first steps (the model trains).
    assert.notEqual(log.steps[0].loss, log.steps[2].loss);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
