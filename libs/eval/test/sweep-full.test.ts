/**
 * The `full` control as a sweep variant: its place in the table (one cell without a layer, with the pretrained
 * one, before the memory cells), its training run (a full-parameter fine-tune of the sweep's model on the sweep's
 * corpus) and its evaluation (of the model the run wrote), compared with the pretrained cell; and resuming a sweep
 * whose full cell was interrupted mid-run, or had finished, with fake Data, ModelHost and Trainer ports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { common, data, evaluator, modelHost, trainer } from '@memorize/contracts';
import { NotFoundError } from '@memorize/errors';
import { tempDir } from '@memorize/testing';
import {
  cellKey,
  cellRunSpec,
  compareWithPretrained,
  EvalStore,
  EvaluationManager,
  isPretrainedCell,
  planCells,
  PRETRAINED_LAYER,
  type EvalDataPort,
  type EvalHostPort,
  type TrainerPort,
} from '@memorize/eval';

const { JobState, Label } = common;

const replay = common.ClaimRows.fromPartial({ claimsPath: 'train.jsonl', perEpoch: 40, answerWeight: 4, shots: 2 });
// A learning rate float32 holds exactly (the store keeps the spec as protobuf).
const fullTraining = common.TrainingConfig.fromPartial({ learningRate: 2 ** -13, epochs: 1, seed: 3n });

const spec = evaluator.SweepSpec.fromPartial({
  evaluation: {
    modelPath: 'models/m',
    tokenizerPath: 'models/tok.bin',
    claimsPath: 'c.jsonl',
    pagesPath: 'p.jsonl',
    assignmentPath: 'a.jsonl',
    topN: 3,
    scoring: evaluator.ScoringMode.SCORING_MODE_LOGLIK,
    limit: 10,
  },
  // The memory variant first: the cells still put the variants without a memory first.
  variants: [
    { name: 'memory', memory: { kind: common.MemoryKind.MEMORY_KIND_MEMORY, entries: 8 } },
    { name: 'pretrained' },
    { name: 'full', full: true, replay, training: fullTraining },
  ],
  layers: [1, 3],
  training: { learningRate: 1e-2, maxSteps: 12 },
  evalEvery: 6,
  localityPages: 2,
});

test('cells: pretrained and full once each without a layer (spec order), then every memory variant at every layer', () => {
  assert.deepEqual(
    planCells(spec).map((c) => [c.variant.name, c.layer]),
    [
      ['pretrained', PRETRAINED_LAYER],
      ['full', PRETRAINED_LAYER],
      ['memory', 1],
      ['memory', 3],
    ],
  );
  const fullFirst = { ...spec, variants: [spec.variants[2], spec.variants[0], spec.variants[1]] };
  assert.deepEqual(
    planCells(fullFirst).map((c) => [c.variant.name, c.layer]),
    [
      ['full', -1],
      ['pretrained', -1],
      ['memory', 1],
      ['memory', 3],
    ],
  );
  assert.equal(cellKey('full', PRETRAINED_LAYER), 'full');
  assert.ok(isPretrainedCell({ variant: 'pretrained', layer: -1 }, spec));
  assert.ok(!isPretrainedCell({ variant: 'full', layer: -1 }, spec));
  assert.ok(!isPretrainedCell({ variant: 'memory', layer: 1 }, spec));
});

test("the full cell's run fine-tunes the sweep's model on the sweep's corpus with the variant's training and replay", () => {
  const run = cellRunSpec(spec, spec.variants[2], PRETRAINED_LAYER);
  assert.deepEqual(
    run,
    trainer.RunSpec.fromPartial({
      jobKind: trainer.JobKind.JOB_KIND_FULL,
      modelPath: 'models/m',
      tokenizerPath: 'models/tok.bin',
      claimsPath: 'c.jsonl',
      pagesPath: 'p.jsonl',
      assignmentPath: 'a.jsonl',
      topN: 3,
      training: fullTraining,
      claimRows: replay,
      evalEvery: 6,
      localityPages: 2,
    }),
  );
  assert.equal(run.memory, undefined);
  // Without its own training, the full cell trains with the sweep's; memory cells keep the sweep's.
  const plain = cellRunSpec(spec, { ...spec.variants[2], training: undefined, replay: undefined }, PRETRAINED_LAYER);
  assert.deepEqual(plain.training, spec.training);
  assert.equal(plain.claimRows, undefined);
  const memory = cellRunSpec(spec, spec.variants[0], 3);
  assert.equal(memory.jobKind, trainer.JobKind.JOB_KIND_MEMORY);
  assert.equal(memory.memory!.layer, 3);
  assert.deepEqual(memory.training, spec.training);
  assert.equal(memory.claimRows, undefined);
});

test('the full cell is compared with the pretrained cell (both have no layer), whatever their order', () => {
  const cell = (variant: string, layer: number, right: (i: number) => boolean): evaluator.SweepCell =>
    evaluator.SweepCell.fromPartial({
      variant,
      layer,
      state: JobState.JOB_STATE_SUCCEEDED,
      report: {
        predictions: Array.from({ length: 20 }, (_, i) => ({
          claimId: BigInt(i + 1),
          gold: Label.LABEL_SUPPORTS,
          predicted: right(i) ? Label.LABEL_SUPPORTS : Label.LABEL_REFUTES,
        })),
      },
    });
  // The full cell first: it must not be taken for the pretrained one. Pretrained right on 0..9, full on 0..17.
  const cells = [cell('full', -1, (i) => i < 18), cell('pretrained', -1, (i) => i < 10), cell('memory', 1, (i) => i >= 2 && i < 12)];
  compareWithPretrained(cells, spec);
  assert.equal(cells[1].pValueVsPretrained, 1);
  assert.ok(Math.abs(cells[0].pValueVsPretrained - 0.0078125) < 1e-12, String(cells[0].pValueVsPretrained));
  assert.ok(Math.abs(cells[0].pHolm - 0.015625) < 1e-12);
  assert.deepEqual(
    cells.map((c) => c.significant),
    [true, false, false],
  );
});

// ---- the manager over fake ports ----

const CLAIMS = 10;
const BASE_IDS = [1, 2];

class FakeData implements EvalDataPort {
  readonly address = 'data:1';
  async loadCorpus(): Promise<data.LoadCorpusResponse> {
    return data.LoadCorpusResponse.fromPartial({ corpus: { corpusId: 'corpus' } });
  }
  async *streamEvaluationItems(request: data.StreamEvaluationItemsRequest): AsyncIterable<data.StreamEvaluationItemsResponse> {
    const n = Math.min(CLAIMS, request.limit || CLAIMS);
    for (let i = 0; i < n; i++)
      yield data.StreamEvaluationItemsResponse.fromPartial({
        item: { claim: { id: BigInt(i + 1), label: Label.LABEL_SUPPORTS, documentIndex: 0 }, prompt: `claim ${i}`, promptIds: BASE_IDS },
      });
  }
  async healthy(): Promise<boolean> {
    return true;
  }
}

/**
 * A model-host whose answers depend on the model's path: the fine-tuned model (a path under runs/) answers (a),
 * right on every claim; the base model answers (b) on the even claims, (a) on the odd ones.
 */
class FakeHost implements EvalHostPort {
  readonly address = 'host:1';
  readonly loaded: string[] = [];
  readonly memories: string[] = [];
  private readonly paths = new Map<string, string>();
  async loadModel(request: modelHost.LoadModelRequest): Promise<modelHost.LoadModelResponse> {
    this.loaded.push(request.path);
    this.paths.set(request.modelId, request.path);
    return modelHost.LoadModelResponse.fromPartial({ model: { modelId: request.modelId, path: request.path, maxLength: 64 } });
  }
  async loadMemory(request: modelHost.LoadMemoryRequest): Promise<modelHost.LoadMemoryResponse> {
    this.memories.push(request.path);
    return modelHost.LoadMemoryResponse.fromPartial({});
  }
  async deleteMemory(): Promise<modelHost.DeleteMemoryResponse> {
    return {};
  }
  async tokenize(request: modelHost.TokenizeRequest): Promise<modelHost.TokenizeResponse> {
    return modelHost.TokenizeResponse.fromPartial({
      rows: request.texts.map((_, i) => ({ ids: request.addBos ? [...BASE_IDS, 10 + (i % 3)] : [10 + i] })),
    });
  }
  async score(request: modelHost.ScoreRequest): Promise<modelHost.ScoreResponse> {
    const fine = this.paths.get(request.modelId)!.startsWith('runs/');
    const scores = request.items.map((item, k) => {
      const claim = Math.floor(k / 3);
      const option = item.continuation[0] - 10;
      const answer = fine || claim % 2 === 1 ? 0 : 1;
      return { logprob: option === answer ? -0.1 : -3 };
    });
    return modelHost.ScoreResponse.fromPartial({ scores });
  }
  generate(): AsyncIterable<modelHost.GenerateResponse> {
    throw new Error('loglik only');
  }
  async healthy(): Promise<boolean> {
    return true;
  }
}

/** Runs kept across trainer "restarts"; a run succeeds at its next poll once `finish` lists it. */
class FakeTrainer implements TrainerPort {
  readonly address = 'trainer:1';
  readonly started: string[] = [];
  readonly polled: string[] = [];
  constructor(
    readonly runs: Map<string, trainer.Run>,
    private readonly finish: (runId: string) => boolean,
  ) {}
  async startRun(request: trainer.StartRunRequest): Promise<trainer.StartRunResponse> {
    this.started.push(request.runId);
    const full = request.spec!.jobKind === trainer.JobKind.JOB_KIND_FULL;
    const run = trainer.Run.fromPartial({
      runId: request.runId,
      spec: request.spec,
      state: JobState.JOB_STATE_RUNNING,
      outputPath: full ? `runs/${request.runId}/model` : `runs/${request.runId}/memory.safetensors`,
    });
    this.runs.set(request.runId, run);
    return trainer.StartRunResponse.fromPartial({ run });
  }
  async getRun(request: trainer.GetRunRequest): Promise<trainer.GetRunResponse> {
    this.polled.push(request.runId);
    const run = this.runs.get(request.runId);
    if (!run) throw new NotFoundError(`no run "${request.runId}"`, 'run_id');
    if (run.state === JobState.JOB_STATE_RUNNING && this.finish(request.runId)) {
      Object.assign(run, {
        state: JobState.JOB_STATE_SUCCEEDED,
        lastMemorizationError: 1.5,
        lastLocality: 2.5,
        measures: [
          { step: 0n, memorizationError: 3, locality: 2 },
          { step: 6n, memorizationError: 1.5, locality: 2.5 },
        ],
      });
    }
    return { run };
  }
  async cancelRun(): Promise<trainer.CancelRunResponse> {
    return trainer.CancelRunResponse.fromPartial({});
  }
  async healthy(): Promise<boolean> {
    return true;
  }
}

const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

const ended = (state: common.JobState): boolean =>
  [JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED].includes(state);

async function until(what: string, condition: () => boolean): Promise<void> {
  const began = Date.now();
  while (!condition()) {
    if (Date.now() - began > 10_000) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const fullSpec = evaluator.SweepSpec.fromPartial({ ...spec, variants: [spec.variants[1], spec.variants[2], spec.variants[0]], layers: [1] });

test('a sweep {pretrained, full, memory}: the full cell trains a full-parameter run and evaluates the model it wrote', async () => {
  const dir = tempDir();
  const store = new EvalStore(dir);
  const host = new FakeHost();
  const trainerPort = new FakeTrainer(new Map(), () => true);
  const manager = new EvaluationManager({ store, data: new FakeData(), hosts: [host], trainer: trainerPort, logger, pollMs: 1 });
  try {
    manager.startSweep('s', fullSpec);
    await until('the sweep to end', () => ended(store.sweep('s', false).state));
    const sweep = manager.sweep('s');
    assert.equal(sweep.state, JobState.JOB_STATE_SUCCEEDED, sweep.error);
    assert.deepEqual(
      sweep.cells.map((c) => [c.variant, c.layer, c.runId, c.evaluationId]),
      [
        ['pretrained', -1, '', 's.pretrained'],
        ['full', -1, 's.full', 's.full'],
        ['memory', 1, 's.memory.L1', 's.memory.L1'],
      ],
    );
    assert.deepEqual(trainerPort.started, ['s.full', 's.memory.L1']);
    const run = trainerPort.runs.get('s.full')!;
    assert.equal(run.spec!.jobKind, trainer.JobKind.JOB_KIND_FULL);
    assert.deepEqual(run.spec!.claimRows, replay);
    assert.deepEqual(run.spec!.training, fullTraining);
    // The full cell's evaluation is of the model the run wrote, without a memory.
    const evaluation = manager.evaluation('s.full');
    assert.equal(evaluation.spec!.modelPath, 'runs/s.full/model');
    assert.equal(evaluation.spec!.memoryPath, '');
    assert.equal(evaluation.spec!.name, 'full');
    assert.deepEqual(host.loaded, ['models/m', 'runs/s.full/model', 'models/m']);
    assert.deepEqual(host.memories, ['runs/s.memory.L1/memory.safetensors']);
    const [pretrained, full, memory] = sweep.cells;
    assert.equal(pretrained.report!.metrics!.accuracy, 0.5);
    assert.equal(full.report!.metrics!.accuracy, 1);
    assert.equal(full.report!.memorizationError, 1.5);
    assert.equal(full.report!.locality, 2.5);
    assert.equal(full.measures.length, 2);
    // Full right on the 5 claims pretrained got wrong (b = 0, c = 5): exact p = 2 * 0.5^5; the memory cell equals
    // pretrained (p = 1); Holm over the two.
    assert.equal(pretrained.pValueVsPretrained, 1);
    assert.ok(Math.abs(full.pValueVsPretrained - 0.0625) < 1e-12, String(full.pValueVsPretrained));
    assert.ok(Math.abs(full.pHolm - 0.125) < 1e-12, String(full.pHolm));
    assert.equal(memory.pValueVsPretrained, 1);
    assert.match(sweep.tableMarkdown, /\| full \|/);
    assert.match(sweep.significance, /Holm's correction across the 2 comparisons/);
    assert.match(sweep.significance, /full \(accuracy 1\.000 vs 0\.500/);
  } finally {
    await manager.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resume: an interrupted full run is resumed (not started again), a finished full cell is not redone', async () => {
  const dir = tempDir();
  const runs = new Map<string, trainer.Run>();
  const stop = async (manager: EvaluationManager, store: EvalStore): Promise<void> => {
    await manager.close();
    store.close();
  };
  try {
    // 1. The evaluator stops while the full cell's run is training (the pretrained cell has finished).
    let store = new EvalStore(dir);
    const trainer1 = new FakeTrainer(runs, () => false);
    const host1 = new FakeHost();
    let manager = new EvaluationManager({ store, data: new FakeData(), hosts: [host1], trainer: trainer1, logger, pollMs: 1 });
    manager.startSweep('r', fullSpec);
    await until('the full run to start', () => trainer1.started.includes('r.full'));
    await stop(manager, store);
    assert.deepEqual(trainer1.started, ['r.full']);

    // 2. Restarted: the full run is found by its id and waited for (not started again), then its model evaluated;
    // the evaluator stops again while the memory cell trains.
    store = new EvalStore(dir);
    let cells = store.sweep('r', false).cells;
    assert.deepEqual(
      cells.map((c) => c.state),
      [JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_RUNNING, JobState.JOB_STATE_QUEUED],
    );
    const trainer2 = new FakeTrainer(runs, (id) => id === 'r.full');
    const host2 = new FakeHost();
    manager = new EvaluationManager({ store, data: new FakeData(), hosts: [host2], trainer: trainer2, logger, pollMs: 1 });
    manager.resumeUnfinished();
    await until('the memory run to start', () => trainer2.started.includes('r.memory.L1'));
    await stop(manager, store);
    assert.deepEqual(trainer2.started, ['r.memory.L1']);
    // The pretrained cell was not evaluated again: only the fine-tuned model was loaded.
    assert.deepEqual(host2.loaded, ['runs/r.full/model']);

    // 3. Restarted again: the finished full cell is left alone (no poll of its run, no evaluation of its model).
    store = new EvalStore(dir);
    cells = store.sweep('r', true).cells;
    assert.equal(cells[1].state, JobState.JOB_STATE_SUCCEEDED);
    const fullReport = cells[1].report!;
    const trainer3 = new FakeTrainer(runs, () => true);
    const host3 = new FakeHost();
    manager = new EvaluationManager({ store, data: new FakeData(), hosts: [host3], trainer: trainer3, logger, pollMs: 1 });
    manager.resumeUnfinished();
    await until('the sweep to end', () => ended(store.sweep('r', false).state));
    const sweep = manager.sweep('r');
    assert.equal(sweep.state, JobState.JOB_STATE_SUCCEEDED, sweep.error);
    assert.deepEqual(trainer3.started, []);
    assert.ok(!trainer3.polled.includes('r.full'), 'the finished full cell was not looked at again');
    assert.deepEqual(host3.loaded, ['models/m']);
    assert.deepEqual(host3.memories, ['runs/r.memory.L1/memory.safetensors']);
    assert.deepEqual(sweep.cells[1].report, fullReport);
    assert.ok(Math.abs(sweep.cells[1].pValueVsPretrained - 0.0625) < 1e-12);
    await stop(manager, store);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a sweep stored in the old table order (spec order) resumes each stored cell as what it was', async () => {
  const dir = tempDir();
  const store = new EvalStore(dir);
  const host = new FakeHost();
  const trainerPort = new FakeTrainer(new Map(), () => true);
  const manager = new EvaluationManager({ store, data: new FakeData(), hosts: [host], trainer: trainerPort, logger, pollMs: 1 });
  try {
    // {memory, pretrained} with layers [1]: stored as memory L1, pretrained (the order before full existed).
    const old = evaluator.SweepSpec.fromPartial({ ...spec, variants: [spec.variants[0], spec.variants[1]], layers: [1] });
    store.createSweep('o', old, [
      { variant: 'memory', layer: 1 },
      { variant: 'pretrained', layer: -1 },
    ]);
    manager.resumeUnfinished();
    await until('the sweep to end', () => ended(store.sweep('o', false).state));
    const sweep = manager.sweep('o');
    assert.equal(sweep.state, JobState.JOB_STATE_SUCCEEDED, sweep.error);
    assert.deepEqual(
      sweep.cells.map((c) => [c.variant, c.layer, c.runId, c.evaluationId]),
      [
        ['memory', 1, 'o.memory.L1', 'o.memory.L1'],
        ['pretrained', -1, '', 'o.pretrained'],
      ],
    );
  } finally {
    await manager.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
