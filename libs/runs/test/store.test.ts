import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { common, trainer } from '@memorize/contracts';
import { AlreadyExistsError, NotFoundError } from '@memorize/errors';
import { tempDir } from '@memorize/testing';
import { RunStore, SCHEMA_VERSION } from '@memorize/runs';

const { JobState } = common;

const spec = trainer.RunSpec.fromPartial({
  modelPath: 'models/stories260K/hf',
  claimsPath: 'data/fever/paper_test.jsonl',
  pagesPath: 'data/fever/wiki-pages.jsonl',
  topN: 20,
  memory: { kind: common.MemoryKind.MEMORY_KIND_SIMSET, layer: 3, entries: 128, shingleK: 2 },
  training: { learningRate: 1e-2, batchSize: 4, maxSteps: 10, seed: 7n },
  localityPages: 0,
});

const step = (i: number) => ({ step: i, epoch: Math.floor(i / 5), loss: 5 - i / 10, learningRate: 1e-3, gradNorm: 1 + i, tokens: 100 + i });

test('a fresh store is a WAL database at the current schema version; a newer version is refused', () => {
  const dir = tempDir();
  try {
    const store = new RunStore(dir);
    store.close();
    const db = new Database(store.path);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(() => new RunStore(dir), /newer than this trainer's/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runs keep their spec, transitions, curves and timings across reopening; rewind forgets what followed a checkpoint', () => {
  const dir = tempDir();
  try {
    let store = new RunStore(dir);
    store.create('a', spec);
    assert.throws(() => store.create('a', spec), AlreadyExistsError);
    assert.throws(() => store.run('nope'), NotFoundError);
    store.transition('a', JobState.JOB_STATE_RUNNING, 'placed', { modelHost: '127.0.0.1:1', totalSteps: 10, corpusId: 'c0' });
    store.recordMeasure('a', { step: 0, memorizationError: 4.5, locality: 5.1 }, 0.5);
    for (let i = 0; i < 6; i++) store.recordStep('a', step(i), 0.25);
    store.recordCheckpoint('a', 3, 'runs/a/checkpoints/step-000003.safetensors', 0.1);
    store.recordMeasure('a', { step: 5, memorizationError: 3.0, locality: 5.0 }, 0.5);
    store.recordCheckpoint('a', 5, 'runs/a/checkpoints/step-000005.safetensors', 0.1);
    store.close();

    store = new RunStore(dir);
    const run = store.run('a');
    // As sent over the wire (floats are float32).
    assert.deepEqual(run.spec, trainer.RunSpec.decode(trainer.RunSpec.encode(spec).finish()));
    assert.equal(run.state, JobState.JOB_STATE_RUNNING);
    assert.equal(run.modelHost, '127.0.0.1:1');
    assert.equal(run.progress!.done, 6n);
    assert.equal(run.progress!.total, 10n);
    assert.equal(run.steps.length, 6);
    assert.equal(run.lastLoss, 5 - 5 / 10);
    assert.equal(run.baseMemorizationError, 4.5);
    assert.equal(run.lastMemorizationError, 3.0);
    assert.equal(run.baseLocality, 5.1);
    assert.equal(run.checkpointPath, 'runs/a/checkpoints/step-000005.safetensors');
    assert.equal(run.timings!.tokens, BigInt([0, 1, 2, 3, 4, 5].reduce((a, i) => a + 100 + i, 0)));
    assert.equal(run.timings!.trainSeconds, 1.5);
    assert.equal(run.timings!.evalSeconds, 1.0);
    assert.deepEqual(store.unfinished(), ['a']);

    // Resuming from the checkpoint at step 3: steps 3.., the measure at 5 and the checkpoint at 5 are forgotten.
    assert.deepEqual(store.lastCheckpoint('a'), { step: 5, path: 'runs/a/checkpoints/step-000005.safetensors' });
    store.rewind('a', 3);
    const rewound = store.run('a');
    assert.equal(rewound.progress!.done, 3n);
    assert.deepEqual(
      rewound.steps.map((s) => Number(s.step)),
      [0, 1, 2],
    );
    assert.deepEqual(
      rewound.measures.map((m) => Number(m.step)),
      [0],
    );
    assert.deepEqual(store.lastCheckpoint('a'), { step: 3, path: 'runs/a/checkpoints/step-000003.safetensors' });
    assert.equal(rewound.timings!.tokens, 100n + 101n + 102n);
    // Time spent stays counted.
    assert.equal(rewound.timings!.trainSeconds, 1.5);

    store.transition('a', JobState.JOB_STATE_SUCCEEDED, 'done', { outputPath: 'runs/a/memory.safetensors' });
    const done = store.run('a');
    assert.equal(done.outputPath, 'runs/a/memory.safetensors');
    assert.ok(done.timings!.finishedAt >= done.timings!.startedAt && done.timings!.startedAt > 0n);
    assert.deepEqual(store.unfinished(), []);
    assert.deepEqual(
      store.transitions('a').map((t) => t.message),
      ['queued', 'placed', 'done'],
    );
    // ListRuns leaves the curves out.
    const [listed] = store.list();
    assert.equal(listed.runId, 'a');
    assert.equal(listed.steps.length, 0);
    // The measure at step 5 went with the rewind: the base measure is the last one.
    assert.equal(listed.lastMemorizationError, 4.5);
    assert.deepEqual(store.list(JobState.JOB_STATE_FAILED), []);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
