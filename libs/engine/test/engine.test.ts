import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError, DeadlineExceededError, ResourceExhaustedError } from '@memorize/errors';
import { Engine, RwLock, UseCount, type Job } from '@memorize/engine';

/** Spins the CPU for `ms` (a slice of model work: nothing else runs on the thread meanwhile). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* compute */
  }
}

/** A job of `slices` slices that records `name` in `log` at each one. */
function sliced(log: string[], name: string, slices: number, ms = 0): (job: Job) => Promise<string> {
  return async (job) => {
    for (let i = 0; i < slices; i++) {
      if (i > 0) await job.nextSlice();
      log.push(name);
      if (ms) busy(ms);
    }
    return name;
  };
}

const spec = (client: string, queue = 'm', label = `job of ${client}`) => ({ queue, client, label, queueLabel: `model "${queue}"` });

test('a full queue refuses at once with RESOURCE_EXHAUSTED naming the queue length and the setting', async () => {
  const engine = new Engine({ queueDepth: 2, depthSetting: '--queue-depth' });
  const log: string[] = [];
  const a = engine.run(spec('a'), sliced(log, 'a', 3));
  const b = engine.run(spec('b'), sliced(log, 'b', 3));
  await assert.rejects(engine.run(spec('c'), sliced(log, 'c', 1)), (e: unknown) => {
    assert.ok(e instanceof ResourceExhaustedError);
    assert.match(e.message, /model "m" is busy: 2 calls queued or running \(--queue-depth 2\)/);
    return true;
  });
  // Another model's queue is separate.
  const other = engine.run(spec('c', 'n'), sliced(log, 'c', 1));
  assert.deepEqual(await Promise.all([a, b, other]), ['a', 'b', 'c']);
  assert.equal(engine.stats().refused, 1);
  assert.equal(engine.queueLength('m'), 0);
  // Room again once the jobs ended.
  assert.equal(await engine.run(spec('c'), sliced(log, 'c2', 1)), 'c2');
});

test('slices go round-robin over clients; within a client the earliest job first', async () => {
  const engine = new Engine({ queueDepth: 16 });
  const log: string[] = [];
  // Client a sends two jobs of 3 slices, client b one of 3 slices, client c one of 1.
  const jobs = [
    engine.run(spec('a'), sliced(log, 'a1', 3)),
    engine.run(spec('a'), sliced(log, 'a2', 3)),
    engine.run(spec('b'), sliced(log, 'b1', 3)),
    engine.run(spec('c'), sliced(log, 'c1', 1)),
  ];
  await Promise.all(jobs);
  // Hand-derived: a, b, c take turns; a's second job runs only after its first.
  assert.deepEqual(log, ['a1', 'b1', 'c1', 'a1', 'b1', 'a1', 'b1', 'a2', 'a2', 'a2']);
});

test('a trainer-like client and a scorer-like client both progress', async () => {
  const engine = new Engine({ queueDepth: 64 });
  const log: string[] = [];
  // The trainer sends one single-slice step after another; the scorer one call of many slices.
  const trainer = (async () => {
    for (let i = 0; i < 10; i++) await engine.run(spec('trainer'), sliced(log, 't', 1));
  })();
  const scorer = engine.run(spec('scorer'), sliced(log, 's', 10));
  await Promise.all([trainer, scorer]);
  // Neither waits for the other to finish: in the first half of the slices both appear.
  const firstHalf = log.slice(0, 10);
  assert.ok(firstHalf.filter((x) => x === 't').length >= 4, log.join(''));
  assert.ok(firstHalf.filter((x) => x === 's').length >= 4, log.join(''));
});

test('only one job holds the turn at a time, and outside() lets others run while it waits', async () => {
  const engine = new Engine({ queueDepth: 8 });
  let inSlice = 0;
  let maxInSlice = 0;
  const log: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const waiter = engine.run(spec('a'), async (job) => {
    log.push('a:before');
    await job.outside(gate);
    log.push('a:after');
  });
  const worker = engine.run(spec('b'), async (job) => {
    for (let i = 0; i < 5; i++) {
      if (i > 0) await job.nextSlice();
      inSlice++;
      maxInSlice = Math.max(maxInSlice, inSlice);
      log.push('b');
      await Promise.resolve();
      inSlice--;
    }
    release();
  });
  await Promise.all([waiter, worker]);
  assert.equal(maxInSlice, 1);
  assert.deepEqual(log, ['a:before', 'b', 'b', 'b', 'b', 'b', 'a:after']);
});

test('the event loop runs between any two slices (timers and I/O are not starved)', async () => {
  const engine = new Engine({ queueDepth: 8 });
  const log: string[] = [];
  const fired: number[] = [];
  const a = engine.run(spec('a'), sliced(log, 'a', 20, 2));
  const b = engine.run(spec('b'), sliced(log, 'b', 20, 2));
  // A timer due now fires after at most one more slice, however busy the engine is.
  await new Promise<void>((resolve) =>
    setImmediate(() => {
      const at = log.length;
      setTimeout(() => {
        fired.push(log.length - at);
        resolve();
      }, 0);
    }),
  );
  await Promise.all([a, b]);
  assert.equal(fired.length, 1);
  assert.ok(fired[0] <= 2, `the timer waited ${fired[0]} slices`);
});

test('a cancelled job stops at its next slice boundary with the call reason; the others go on', async () => {
  const engine = new Engine({ queueDepth: 8 });
  const controller = new AbortController();
  const log: string[] = [];
  const reason = new CancelledError('cancelled by the client');
  const cancelled = engine.run({ ...spec('a'), signal: controller.signal }, async (job) => {
    for (let i = 0; i < 100; i++) {
      if (i > 0) await job.nextSlice();
      log.push('a');
      if (i === 2) controller.abort(reason);
    }
  });
  const other = engine.run(spec('b'), sliced(log, 'b', 5));
  await assert.rejects(cancelled, (e) => e === reason);
  await other;
  assert.equal(log.filter((x) => x === 'a').length, 3);
  assert.equal(log.filter((x) => x === 'b').length, 5);
});

test('a job whose deadline passes while it waits never starts; one already expired is refused at once', async () => {
  const engine = new Engine({ queueDepth: 8 });
  const log: string[] = [];
  // The first job holds the engine for 60 ms in one slice; the second's deadline is 10 ms away.
  const long = engine.run(spec('a'), sliced(log, 'long', 1, 60));
  let started = false;
  const expiring = engine.run({ ...spec('b'), deadline: new Date(Date.now() + 10) }, async () => {
    started = true;
  });
  await assert.rejects(expiring, DeadlineExceededError);
  await long;
  assert.equal(started, false);
  await assert.rejects(
    engine.run({ ...spec('c'), deadline: new Date(Date.now() - 1) }, async () => {
      started = true;
    }),
    /deadline passed/,
  );
  assert.equal(started, false);
  assert.equal(engine.queueLength('m'), 0);
});

test('a deadline reached while running stops the job at the next slice with DEADLINE_EXCEEDED', async () => {
  const engine = new Engine({ queueDepth: 8 });
  let slices = 0;
  const started = performance.now();
  await assert.rejects(
    engine.run({ ...spec('a'), deadline: new Date(Date.now() + 30) }, async (job) => {
      for (;;) {
        if (slices > 0) await job.nextSlice();
        slices++;
        busy(5);
      }
    }),
    DeadlineExceededError,
  );
  const elapsed = performance.now() - started;
  // 30 ms of 5 ms slices: it ends within one slice of the deadline (timer slack allowed).
  assert.ok(elapsed < 30 + 5 + 25, `ran ${elapsed} ms`);
  assert.ok(slices >= 3 && slices <= 12, `${slices} slices`);
});

test('locks: a writer waits for the reader before it, readers after the writer wait for it (arrival order)', async () => {
  const engine = new Engine({ queueDepth: 8 });
  const lock = new RwLock();
  const log: string[] = [];
  const read1 = engine.run({ ...spec('a'), label: 'Score 1', locks: [{ lock, mode: 'read' }] }, sliced(log, 'r1', 3));
  const write = engine.run({ ...spec('b'), label: 'TrainStep', locks: [{ lock, mode: 'write' }] }, sliced(log, 'w', 1));
  const read2 = engine.run({ ...spec('c'), label: 'Score 2', locks: [{ lock, mode: 'read' }] }, sliced(log, 'r2', 2));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(lock.holders, { holding: ['Score 1'], waiting: ['TrainStep', 'Score 2'] });
  await Promise.all([read1, write, read2]);
  assert.deepEqual(log, ['r1', 'r1', 'r1', 'w', 'r2', 'r2']);
  assert.ok(lock.idle);
});

test('a job cancelled while it waits for a lock leaves the line and frees its queue place', async () => {
  const engine = new Engine({ queueDepth: 2 });
  const lock = new RwLock();
  const controller = new AbortController();
  let releaseGate!: () => void;
  const gate = new Promise<void>((r) => (releaseGate = r));
  const holder = engine.run({ ...spec('a'), locks: [{ lock, mode: 'write' }] }, (job) => job.outside(gate));
  const waiting = engine.run({ ...spec('b'), signal: controller.signal, locks: [{ lock, mode: 'read' }] }, async () => 'ran');
  await new Promise((r) => setImmediate(r));
  assert.equal(engine.queueLength('m'), 2);
  controller.abort(new CancelledError('gone'));
  await assert.rejects(waiting, /gone/);
  assert.equal(engine.queueLength('m'), 1);
  assert.deepEqual(lock.holders.waiting, []);
  releaseGate();
  await holder;
  assert.ok(lock.idle);
});

test('UseCount: whenUnused resolves once the last user releases', async () => {
  const uses = new UseCount();
  await uses.whenUnused();
  const r1 = uses.acquire('Score');
  const r2 = uses.acquire('Generate');
  assert.deepEqual(uses.labels.sort(), ['Generate', 'Score']);
  let done = false;
  const drained = uses.whenUnused().then(() => (done = true));
  r1();
  r1();
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false);
  r2();
  await drained;
  assert.equal(uses.count, 0);
});
