/** `memorize eval --config` and `memorize sweep --config`: the YAML configs parsed, checked and mapped to EvaluationSpec / SweepSpec. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { common, evaluator } from '@memorize/contracts';
import { validators } from '@memorize/validation';
import { repoRoot, sharedDir } from '@memorize/testing';
import {
  evalFields,
  evalSchema,
  jobConfigKeyOf,
  loadEvalConfig,
  loadSweepConfig,
  parseEvalConfig,
  parseSweepConfig,
  sweepFields,
  sweepSchema,
} from '../src/eval-config.js';
import { EvalProgress, SweepProgress } from '../src/progress.js';

const base = '/configs/here';
const corpus = 'corpus: {claims: c.jsonl, pages: p.jsonl}\nmodel: {path: m}\n';
const refusal = (parse: () => unknown): string => {
  try {
    parse();
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('accepted');
};
const evalRefusal = (text: string): string => refusal(() => parseEvalConfig(text, 'eval.yaml', base));
const sweepRefusal = (text: string): string => refusal(() => parseSweepConfig(text, 'sweep.yaml', base));
const sweepMinimal = `${corpus}layers: [1]\nvariants: [pretrained, memory]\n`;

/** Every leaf key name set in a fixture's text. */
const keysIn = (text: string): Set<string> => new Set(text.split('\n').flatMap((line) => [...line.matchAll(/(\w+):/g)].map((m) => m[1])));

test('every eval key maps to its EvaluationSpec field, and the spec passes the evaluator validation', () => {
  const text = `
corpus: {claims: data/claims.jsonl, pages: /abs/pages.jsonl, assignment: ../side.jsonl, top: 7, pool_per_page: 3, split_seed: 9}
model: {path: models/hf, tokenizer: models/tok.bin}
memory: {path: runs/a/memory.safetensors, mask_source: context}
eval: {shots: 2, scoring: generate, limit: 40, max_new_tokens: 6, batch_size: 16, seed: 18446744073709551615, name: "simset L3"}
`;
  const { spec, file } = parseEvalConfig(text, 'eval.yaml', base);
  assert.equal(file, 'eval.yaml');
  const expected: evaluator.EvaluationSpec = {
    modelPath: '/configs/here/models/hf',
    tokenizerPath: '/configs/here/models/tok.bin',
    memoryPath: '/configs/here/runs/a/memory.safetensors',
    claimsPath: '/configs/here/data/claims.jsonl',
    pagesPath: '/abs/pages.jsonl',
    assignmentPath: '/configs/side.jsonl',
    topN: 7,
    shots: 2,
    scoring: evaluator.ScoringMode.SCORING_MODE_GENERATE,
    maskSource: common.MaskSource.MASK_SOURCE_CONTEXT,
    limit: 40,
    maxNewTokens: 6,
    batchSize: 16,
    seed: 18446744073709551615n,
    name: 'simset L3',
    poolPerPage: 3,
    splitSeed: 9n,
  };
  assert.deepEqual(spec, expected);
  for (const f of evalFields) assert.ok(keysIn(text).has(f.key.split('.').at(-1)!), `the fixture sets ${f.key}`);
  validators.evaluator.startEvaluation({ evaluationId: '', spec });
});

test('left-out eval keys stay unset (the evaluator defaults: 1 shot, generate, every claim, pretrained)', () => {
  const { spec } = parseEvalConfig(corpus, 'eval.yaml', base);
  assert.equal(spec.shots, undefined);
  assert.equal(spec.scoring, evaluator.ScoringMode.SCORING_MODE_UNSPECIFIED);
  assert.equal(spec.memoryPath, '');
  assert.equal(spec.limit, 0);
  assert.equal(parseEvalConfig(`${corpus}eval: {shots: 0}\n`, 'e.yaml', base).spec.shots, 0, 'shots 0 is sent as set');
  validators.evaluator.startEvaluation({ evaluationId: '', spec });
});

test('eval configs: unknown keys, types, ranges and required keys are refused naming the file and key', () => {
  assert.equal(evalRefusal(`${corpus}eval: {shot: 1}\n`), 'eval.yaml: unknown key "eval.shot"');
  assert.equal(evalRefusal(`${corpus}memory: {kind: memory}\n`), 'eval.yaml: unknown key "memory.kind"');
  assert.equal(evalRefusal(`${corpus}train: {epochs: 1}\n`), 'eval.yaml: unknown key "train"');
  assert.equal(evalRefusal(`${corpus}eval: {scoring: argmax}\n`), 'eval.yaml: eval.scoring must be one of loglik, generate, got "argmax"');
  assert.equal(evalRefusal(`${corpus}eval: {shots: 33}\n`), 'eval.yaml: eval.shots must be an integer <= 32, got 33');
  assert.equal(evalRefusal(`${corpus}eval: {batch_size: 0}\n`), 'eval.yaml: eval.batch_size must be an integer >= 1, got 0');
  assert.equal(evalRefusal(`${corpus}eval: {limit: 1.5}\n`), 'eval.yaml: eval.limit must be an integer in 0..16777216, got 1.5');
  assert.equal(evalRefusal(`${corpus}eval: {name: 3}\n`), 'eval.yaml: eval.name must be a string of at most 1024 characters, got 3');
  assert.equal(
    evalRefusal(`${corpus}memory: {mask_source: doc}\n`),
    'eval.yaml: memory.mask_source must be one of oracle, context, all, none, got "doc"',
  );
  assert.equal(evalRefusal(`${corpus}corpus2: {}\n`), 'eval.yaml: unknown key "corpus2"');
  assert.equal(evalRefusal('model: {path: m}\n'), 'eval.yaml: corpus.claims is required');
  assert.equal(evalRefusal('[1]\n'), 'eval.yaml: must be a mapping of sections (corpus, model, memory, eval), got a list');
});

test('every sweep key maps to its SweepSpec field; the spec passes the evaluator validation', () => {
  const text = `
corpus: {claims: c.jsonl, pages: p.jsonl, assignment: a.jsonl, top: 5, pool_per_page: 4, split_seed: 3}
model: {path: hf, tokenizer: tok.bin}
layers: [1, 3]
variants:
  - pretrained
  - memory
  - dlp
  - simset-2 dim
  - simset-2 token
  - random
  - doc-key
  - simset-3 token
  - {name: small, memory: {kind: memory, entries: 32, gelu: tanh, layer_norm: false}}
  - {name: simset-2 token, memory: {entries: 64}}
  - {name: base}
`.replace('  - simset-2 token\n  - random', '  - random');
  // (the shorthand simset-2 token is given once, as a mapping with 64 entries)
  const full = `${text}train: {max_steps: 12, batch_size: 4, lr: 1.0e-2, seed: 2, eval_every: 6, warmup_steps: 1}
locality: {pages: 3}
eval: {shots: 1, scoring: loglik, limit: 30, seed: 1, batch_size: 4, max_new_tokens: 5, mask_source: oracle}
concurrency: 2
`;
  assert.match(sweepRefusal(full), /variants\[9\]\.memory is required \("base" is no shorthand\)/);
  const { spec } = parseSweepConfig(full.replace('  - {name: base}\n', ''), 'sweep.yaml', base);
  const { MemoryKind, MaskMode } = common;
  assert.deepEqual(
    spec.variants.map((v) => [v.name, v.memory?.kind, v.memory?.shingleK, v.memory?.mode, v.memory?.entries]),
    [
      ['pretrained', undefined, undefined, undefined, undefined],
      ['memory', MemoryKind.MEMORY_KIND_MEMORY, 0, 0, 0],
      ['dlp', MemoryKind.MEMORY_KIND_DLP, 0, 0, 0],
      ['simset-2 dim', MemoryKind.MEMORY_KIND_SIMSET, 2, MaskMode.MASK_MODE_DIM, 0],
      ['random', MemoryKind.MEMORY_KIND_RANDOM, 0, 0, 0],
      ['doc-key', MemoryKind.MEMORY_KIND_DOC_KEY, 0, 0, 0],
      ['simset-3 token', MemoryKind.MEMORY_KIND_SIMSET, 3, MaskMode.MASK_MODE_TOKEN, 0],
      ['small', MemoryKind.MEMORY_KIND_MEMORY, 0, 0, 32],
      ['simset-2 token', MemoryKind.MEMORY_KIND_SIMSET, 2, MaskMode.MASK_MODE_TOKEN, 64],
    ],
  );
  assert.equal(spec.variants[7].memory!.gelu, common.Gelu.GELU_TANH);
  assert.equal(spec.variants[7].memory!.layerNorm, false);
  assert.deepEqual(spec.layers, [1, 3]);
  assert.equal(spec.concurrency, 2);
  assert.equal(spec.evalEvery, 6);
  assert.equal(spec.localityPages, 3);
  assert.deepEqual(
    { ...spec.training, seed: spec.training!.seed },
    common.TrainingConfig.fromPartial({ maxSteps: 12, batchSize: 4, learningRate: 1e-2, seed: 2n, warmupSteps: 1 }),
  );
  assert.deepEqual(
    spec.evaluation,
    evaluator.EvaluationSpec.fromPartial({
      modelPath: '/configs/here/hf',
      tokenizerPath: '/configs/here/tok.bin',
      claimsPath: '/configs/here/c.jsonl',
      pagesPath: '/configs/here/p.jsonl',
      assignmentPath: '/configs/here/a.jsonl',
      topN: 5,
      poolPerPage: 4,
      splitSeed: 3n,
      shots: 1,
      scoring: evaluator.ScoringMode.SCORING_MODE_LOGLIK,
      limit: 30,
      seed: 1n,
      batchSize: 4,
      maxNewTokens: 5,
      maskSource: common.MaskSource.MASK_SOURCE_ORACLE,
    }),
  );
  const set = keysIn(full);
  for (const f of sweepFields.filter((f) => !f.key.startsWith('train.'))) assert.ok(set.has(f.key.split('.').at(-1)!), `the fixture sets ${f.key}`);
  validators.evaluator.startSweep({ sweepId: '', spec });
});

test('sweep configs: unknown keys, bad variants and layers are refused naming the file and key path', () => {
  assert.equal(sweepRefusal(`${sweepMinimal}eval: {shot: 1}\n`), 'sweep.yaml: unknown key "eval.shot"');
  assert.equal(sweepRefusal(`${sweepMinimal}eval: {name: x}\n`), 'sweep.yaml: unknown key "eval.name"');
  assert.equal(sweepRefusal(`${sweepMinimal}train: {lerning_rate: 1}\n`), 'sweep.yaml: unknown key "train.lerning_rate"');
  assert.equal(
    sweepRefusal(`${sweepMinimal}memory: {kind: memory}\n`),
    'sweep.yaml: unknown key "memory" (a sweep trains one memory per variant and layer: put memory settings in variants)',
  );
  assert.match(sweepRefusal(`${sweepMinimal}output: x\n`), /^sweep\.yaml: unknown key "output" \(a sweep trains/);
  assert.equal(sweepRefusal(`${sweepMinimal}concurency: 2\n`), 'sweep.yaml: unknown key "concurency"');
  assert.equal(sweepRefusal(`${sweepMinimal}concurrency: 65\n`), 'sweep.yaml: concurrency must be an integer <= 64, got 65');
  assert.equal(sweepRefusal(`${sweepMinimal}train: {epochs: 0}\n`), 'sweep.yaml: train.epochs must be an integer >= 1, got 0');
  const variants = (v: string) => sweepRefusal(`${corpus}layers: [1]\nvariants: ${v}\n`);
  assert.match(variants('[pretrained, mlp]'), /^sweep\.yaml: variants\[1\] must be a variant: one of pretrained, memory, .*, got "mlp"$/);
  assert.equal(
    variants('[{name: m, memory: {kind: mlp}}]'),
    'sweep.yaml: variants[0].memory.kind must be one of memory, dlp, simset, random, doc-key, got "mlp"',
  );
  assert.equal(variants('[{name: m, memory: {kind: memory, entires: 3}}]'), 'sweep.yaml: unknown key "variants[0].memory.entires"');
  assert.equal(
    variants('[{name: m, memory: {kind: memory, layer: 2}}]'),
    "sweep.yaml: variants[0].memory.layer: the sweep's layers place every memory; remove it",
  );
  assert.equal(variants('[{name: m, memory: {entries: 4}}]'), 'sweep.yaml: variants[0].memory.kind is required');
  assert.equal(variants('[{name: m, memry: {}}]'), 'sweep.yaml: unknown key "variants[0].memry"');
  assert.equal(variants('[{memory: {kind: dlp}}]'), 'sweep.yaml: variants[0].name is required');
  assert.equal(
    variants('[{name: m, memory: {kind: memory, mode: token}}]'),
    'sweep.yaml: variants[0].memory.mode token is only for variants[0].memory.kind simset, got kind "memory"',
  );
  assert.equal(
    variants('[{name: pretrained, memory: {entries: 3}}]'),
    'sweep.yaml: variants[0].memory: the variant named "pretrained" is the model without a memory',
  );
  assert.equal(variants('[memory, memory]'), 'sweep.yaml: variants[1] repeats the variant name "memory"');
  assert.equal(variants('[]'), 'sweep.yaml: variants must be a list of 1..64 variants, got a list');
  assert.equal(variants('memory'), 'sweep.yaml: variants must be a list of 1..64 variants, got "memory"');
  assert.equal(sweepRefusal(`${corpus}variants: [memory]\n`), 'sweep.yaml: layers is required when a variant has a memory');
  assert.equal(sweepRefusal(`${corpus}layers: [1]\n`), 'sweep.yaml: variants is required');
  assert.equal(sweepRefusal(`${corpus}layers: [1, -1]\nvariants: [memory]\n`), 'sweep.yaml: layers[1] must be an integer >= 0, got -1');
  assert.equal(sweepRefusal(`${corpus}layers: [1, 1]\nvariants: [memory]\n`), 'sweep.yaml: layers[1] repeats layer 1');
  assert.equal(
    sweepRefusal(`${corpus}layers: 1\nvariants: [memory]\n`),
    'sweep.yaml: layers must be a list of at most 256 integer 0..1023 items, got 1',
  );
  // Only pretrained: no layers needed.
  assert.deepEqual(parseSweepConfig(`${corpus}variants: [pretrained]\n`, 's.yaml', base).spec.layers, []);
});

test('a full variant: "full" or {name, full: true, replay, training}; its training keys go over the train section', () => {
  const text = `${corpus}layers: [1]
train: {max_steps: 12, batch_size: 4, lr: 1.0e-2, seed: 2, eval_every: 6}
variants:
  - pretrained
  - full
  - name: full ft
    full: true
    replay: {claims_path: data/train.jsonl, per_epoch: 40, answer_weight: 4, shots: 2}
    training: {lr: 1.0e-4, epochs: 1, max_steps: 0}
  - {name: memory, training: {lr: 1.0e-3}}
`;
  const { spec } = parseSweepConfig(text, 'sweep.yaml', base);
  assert.deepEqual(
    spec.variants.map((v) => [v.name, v.full, v.memory?.kind]),
    [
      ['pretrained', false, undefined],
      ['full', true, undefined],
      ['full ft', true, undefined],
      ['memory', false, common.MemoryKind.MEMORY_KIND_MEMORY],
    ],
  );
  // "full" alone trains with the sweep's training; the other full variant's keys go over the train section.
  assert.equal(spec.variants[1].training, undefined);
  assert.equal(spec.variants[1].replay, undefined);
  assert.deepEqual(
    spec.variants[2].replay,
    common.ClaimRows.fromPartial({ claimsPath: '/configs/here/data/train.jsonl', perEpoch: 40, answerWeight: 4, shots: 2 }),
  );
  assert.deepEqual(
    spec.variants[2].training,
    common.TrainingConfig.fromPartial({ maxSteps: 0, batchSize: 4, learningRate: 1e-4, seed: 2n, epochs: 1 }),
  );
  assert.deepEqual(spec.variants[3].training, common.TrainingConfig.fromPartial({ maxSteps: 12, batchSize: 4, learningRate: 1e-3, seed: 2n }));
  assert.deepEqual(spec.training, common.TrainingConfig.fromPartial({ maxSteps: 12, batchSize: 4, learningRate: 1e-2, seed: 2n }));
  validators.evaluator.startSweep({ sweepId: '', spec });
  // Only pretrained and full: no layers needed.
  assert.deepEqual(parseSweepConfig(`${corpus}variants: [pretrained, full]\n`, 's.yaml', base).spec.layers, []);

  const variants = (v: string) => sweepRefusal(`${corpus}layers: [1]\nvariants: ${v}\n`);
  assert.equal(variants('[{name: f, full: true, replay: {claims: x.jsonl}}]'), 'sweep.yaml: unknown key "variants[0].replay.claims"');
  assert.equal(variants('[{name: f, full: true, training: {eval_every: 3}}]'), 'sweep.yaml: unknown key "variants[0].training.eval_every"');
  assert.equal(variants('[{name: f, full: true, trainig: {}}]'), 'sweep.yaml: unknown key "variants[0].trainig"');
  assert.equal(variants('[{name: f, full: yes}]'), 'sweep.yaml: variants[0].full must be true or false, got "yes"');
  assert.equal(
    variants('[{name: f, full: true, memory: {kind: memory}}]'),
    'sweep.yaml: variants[0].memory: a full variant fine-tunes the model itself and has no memory; remove it',
  );
  assert.equal(
    variants('[{name: full, memory: {kind: memory}}]'),
    'sweep.yaml: variants[0].memory: a full variant fine-tunes the model itself and has no memory; remove it',
  );
  assert.equal(variants('[{name: full, full: false}]'), 'sweep.yaml: variants[0].full: the variant named "full" is the full fine-tuning control');
  assert.equal(variants('[{name: m, memory: {kind: memory}, replay: {}}]'), 'sweep.yaml: variants[0].replay is only for a full variant (full: true)');
  assert.equal(
    variants('[{name: pretrained, training: {lr: 1}}]'),
    'sweep.yaml: variants[0].training: the variant "pretrained" is the model without a memory and trains nothing',
  );
  assert.equal(
    variants('[{name: f, full: true, replay: {per_epoch: -1}}]'),
    'sweep.yaml: variants[0].replay.per_epoch must be an integer >= 0, got -1',
  );
  assert.equal(variants('[{name: f, full: true, replay: {shots: 9}}]'), 'sweep.yaml: variants[0].replay.shots must be an integer <= 8, got 9');
  assert.equal(variants('[{name: f, full: true, training: {lr: 0}}]'), 'sweep.yaml: variants[0].training.lr must be a number in (0, 10], got 0');
  assert.equal(variants('[{name: f, full: true, replay: 3}]'), 'sweep.yaml: variants[0].replay must be a mapping, got 3');
  assert.equal(variants('[full, full]'), 'sweep.yaml: variants[1] repeats the variant name "full"');
  assert.equal(jobConfigKeyOf(sweepSchema, 'spec.variants[2].training.learning_rate'), 'variants[2].training.lr');
  assert.equal(jobConfigKeyOf(sweepSchema, 'spec.variants[2].replay.perEpoch'), 'variants[2].replay.per_epoch');
  assert.equal(jobConfigKeyOf(sweepSchema, 'spec.variants[1].full'), 'variants[1].full');
});

test('the example configs parse, point at the shared assets, and document every key (in the file and in --help)', () => {
  const evalExample = join(repoRoot, 'configs', 'eval.example.yaml');
  const e = loadEvalConfig(evalExample).spec;
  assert.equal(e.modelPath, join(sharedDir, 'models', 'stories260K', 'hf'));
  assert.equal(e.claimsPath, join(sharedDir, 'data', 'fever', 'paper_test.jsonl'));
  assert.equal(e.scoring, evaluator.ScoringMode.SCORING_MODE_LOGLIK);
  validators.evaluator.startEvaluation({ evaluationId: '', spec: e });
  const sweepExample = join(repoRoot, 'configs', 'sweep.example.yaml');
  const s = loadSweepConfig(sweepExample).spec;
  assert.deepEqual(
    s.variants.map((v) => v.name),
    ['pretrained', 'memory', 'simset-2 token'],
  );
  assert.deepEqual(s.layers, [1, 3]);
  assert.equal(s.evaluation!.topN, 5);
  assert.equal(s.evaluation!.limit, 30);
  assert.equal(s.training!.maxSteps, 12);
  validators.evaluator.startSweep({ sweepId: '', spec: s });
  for (const [file, schema] of [
    [evalExample, evalSchema],
    [sweepExample, sweepSchema],
  ] as const) {
    const text = readFileSync(file, 'utf8');
    const help = schema.help();
    for (const f of schema.fields) {
      const leaf = f.key.split('.').at(-1)!;
      assert.match(text, new RegExp(`^\\s*#?\\s*${leaf}:`, 'm'), `${file} documents ${f.key}`);
      assert.match(help, new RegExp(`^\\s+${leaf}\\s`, 'm'), `--help documents ${f.key}`);
    }
  }
});

test("the evaluator's field names map back to config keys", () => {
  assert.equal(jobConfigKeyOf(evalSchema, 'spec.claims_path'), 'corpus.claims');
  assert.equal(jobConfigKeyOf(evalSchema, 'spec.batchSize'), 'eval.batch_size');
  assert.equal(jobConfigKeyOf(evalSchema, 'spec.memory_path'), 'memory.path');
  assert.equal(jobConfigKeyOf(sweepSchema, 'spec.evaluation.claims_path'), 'corpus.claims');
  assert.equal(jobConfigKeyOf(sweepSchema, 'spec.evaluation.limit'), 'eval.limit');
  assert.equal(jobConfigKeyOf(sweepSchema, 'spec.training.learning_rate'), 'train.lr');
  assert.equal(jobConfigKeyOf(sweepSchema, 'spec.layers[1]'), 'layers');
  assert.equal(jobConfigKeyOf(sweepSchema, 'spec.variants[2].memory.entries'), 'variants[2].memory.entries');
  assert.equal(jobConfigKeyOf(sweepSchema, 'spec.variants[0].name'), 'variants[0]');
  assert.equal(sweepSchema.keyInMessage('DataService 127.0.0.1:1: claims_path: no such file or folder: /x'), 'corpus.claims');
});

test('plain progress lines of an evaluation and a sweep: states and cells always, counts at a modest rate', () => {
  const lines: string[] = [];
  const sink = { write: (s: string) => lines.push(s), isTTY: false };
  const e = new EvalProgress('e1', sink, 60_000);
  const evaluation = (state: common.JobState, done: number, message = '') =>
    evaluator.Evaluation.fromPartial({ evaluationId: 'e1', state, progress: { done: BigInt(done), total: 30n, message } });
  e.update(evaluation(common.JobState.JOB_STATE_QUEUED, 0, 'queued'), 0);
  e.update(evaluation(common.JobState.JOB_STATE_RUNNING, 0, 'scoring on model-host a:1'), 0);
  e.update(evaluation(common.JobState.JOB_STATE_RUNNING, 10), 1_000);
  e.update(evaluation(common.JobState.JOB_STATE_RUNNING, 20), 2_000);
  e.update(evaluation(common.JobState.JOB_STATE_SUCCEEDED, 30, 'finished'), 3_000);
  e.finish();
  assert.deepEqual(lines.splice(0), [
    'evaluation e1: queued\n',
    'evaluation e1: running (scoring on model-host a:1)\n',
    'evaluation e1: 0/30 claims\n',
    'evaluation e1: 20/30 claims  10.0 claims/s  ETA 0:01\n',
    'evaluation e1: succeeded (finished)\n',
  ]);

  const s = new SweepProgress('s1', sink, 60_000);
  const { JOB_STATE_RUNNING: RUNNING, JOB_STATE_SUCCEEDED: SUCCEEDED, JOB_STATE_QUEUED: QUEUED } = common.JobState;
  const sweep = (state: common.JobState, cells: Array<[string, number, common.JobState]>) =>
    evaluator.Sweep.fromPartial({
      sweepId: 's1',
      state,
      progress: { done: BigInt(cells.filter((c) => c[2] === SUCCEEDED).length), total: BigInt(cells.length), elapsedSeconds: 10 },
      cells: cells.map(([variant, layer, st]) => ({
        variant,
        layer,
        state: st,
        runId: layer >= 0 ? 'r' : '',
        evaluationId: 'e',
        report: st === SUCCEEDED ? { metrics: { accuracy: 0.25, count: 30 } } : undefined,
      })),
    });
  s.update(
    sweep(RUNNING, [
      ['pretrained', -1, RUNNING],
      ['memory', 1, QUEUED],
    ]),
    0,
  );
  s.cellEvaluation({ variant: 'pretrained', layer: -1 }, evaluation(RUNNING, 10), 500);
  s.update(
    sweep(RUNNING, [
      ['pretrained', -1, SUCCEEDED],
      ['memory', 1, RUNNING],
    ]),
    1_000,
  );
  s.update(
    sweep(SUCCEEDED, [
      ['pretrained', -1, SUCCEEDED],
      ['memory', 1, SUCCEEDED],
    ]),
    2_000,
  );
  s.finish();
  assert.deepEqual(lines, [
    'sweep s1: running\n',
    'sweep s1: 0/2 cells  pretrained: starting\n',
    // held back by the rate limit, printed before the next permanent line
    'sweep s1: 0/2 cells  pretrained: 10/30 claims\n',
    'sweep s1: cell pretrained succeeded: accuracy 0.2500 (30 claims)\n',
    'sweep s1: 1/2 cells  memory L1: training  ETA 0:10\n',
    'sweep s1: cell memory L1 succeeded: accuracy 0.2500 (30 claims)\n',
    'sweep s1: succeeded\n',
  ]);
});
