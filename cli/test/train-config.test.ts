/** `memorize train --config`: the YAML config parsed, checked and mapped to the Trainer's RunSpec. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { common, trainer } from '@memorize/contracts';
import { validators } from '@memorize/validation';
import { repoRoot, sharedDir, tempDir } from '@memorize/testing';
import { configFields, configHelp, configKeyInMessage, configKeyOf, loadTrainConfig, parseTrainConfig } from '../src/train-config.js';

const base = '/configs/here';
const minimal = 'corpus: {claims: c.jsonl, pages: p.jsonl}\nmodel: {path: m}\nmemory: {kind: memory, layer: 3}\n';
const parse = (text: string, file = 'train.yaml') => parseTrainConfig(text, file, base);
const refusal = (text: string): string => {
  try {
    parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail(`accepted:\n${text}`);
};

test('every documented key maps to its RunSpec field', () => {
  const text = `
corpus: {claims: data/claims.jsonl, pages: /abs/pages.jsonl, assignment: ../side.jsonl, top: 7, all_pages: true}
claim_rows: {claims: world/a-claims.jsonl, per_epoch: 300, answer_weight: 10, shots: 2}
model: {path: models/hf, tokenizer: models/tok.bin}
memory:
  kind: simset
  layer: 2
  entries: 96
  mode: token
  shingle_k: 3
  alpha: 0.25
  seed: 18446744073709551615
  layer_norm: false
  gate: false
  gelu: tanh
  set_probability: 0.5
  key_dim: 32
  key_generator: nonlinear
  key_activation: relu
  guidance_weight: 2
  guidance_margin: 4.5
  gate_init: 0.125
  zero_init_down: true
  up_bias_init: -1.5
train:
  measure_rows: 500
  epochs: 3
  batch_size: 8
  lr: 2.5e-3
  warmup_steps: 5
  weight_decay: 0.01
  grad_clip: 0
  seed: 11
  max_steps: 40
  checkpoint_every: 20
  eval_every: 10
  max_length: 128
  beta1: 0.8
  beta2: 0.99
  epsilon: 1.0e-6
  anchor_kl_weight: 0.5
  anchor_samples: 16
  anchor_sample_tokens: 24
locality: {pages: 0, pages_path: world/pages.jsonl, claims_path: world/claims.jsonl, samples: 8}
job: memory
output: out/m.safetensors
`;
  const { spec } = parse(text);
  const expected: trainer.RunSpec = {
    modelPath: '/configs/here/models/hf',
    tokenizerPath: '/configs/here/models/tok.bin',
    claimsPath: '/configs/here/data/claims.jsonl',
    pagesPath: '/abs/pages.jsonl',
    assignmentPath: '/configs/side.jsonl',
    topN: 7,
    memory: {
      kind: common.MemoryKind.MEMORY_KIND_SIMSET,
      layer: 2,
      entries: 96,
      mode: common.MaskMode.MASK_MODE_TOKEN,
      shingleK: 3,
      alpha: 0.25,
      seed: 18446744073709551615n,
      layerNorm: false,
      gate: false,
      gelu: common.Gelu.GELU_TANH,
      setProbability: 0.5,
      keyDim: 32,
      keyGenerator: common.KeyGenerator.KEY_GENERATOR_NONLINEAR,
      keyActivation: common.KeyActivation.KEY_ACTIVATION_RELU,
      guidanceWeight: 2,
      guidanceMargin: 4.5,
      gateInit: 0.125,
      zeroInitDown: true,
      upBiasInit: -1.5,
    },
    training: {
      learningRate: 2.5e-3,
      warmupSteps: 5,
      epochs: 3,
      batchSize: 8,
      weightDecay: 0.01,
      gradClip: 0,
      seed: 11n,
      maxSteps: 40,
      checkpointEvery: 20,
      maxLength: 128,
      beta1: 0.8,
      beta2: 0.99,
      epsilon: 1e-6,
      anchorKlWeight: 0.5,
      anchorSamples: 16,
      anchorSampleTokens: 24,
    },
    evalEvery: 10,
    localityPages: 0,
    jobKind: trainer.JobKind.JOB_KIND_MEMORY,
    outputPath: '/configs/here/out/m.safetensors',
    localityPagesPath: '/configs/here/world/pages.jsonl',
    localityClaimsPath: '/configs/here/world/claims.jsonl',
    localitySamples: 8,
    allPages: true,
    measureRows: 500,
    claimRows: { claimsPath: '/configs/here/world/a-claims.jsonl', perEpoch: 300, answerWeight: 10, shots: 2 },
  };
  assert.deepEqual(spec, expected);
  // The fixture sets every key of the table, so no key is left untested.
  const set = new Set(
    text
      .split('\n')
      .flatMap((line) => [...line.matchAll(/(\w+):/g)].map((m) => m[1]))
      .filter(Boolean),
  );
  for (const f of configFields) assert.ok(set.has(f.key.split('.').at(-1)!), `the fixture sets ${f.key}`);
  // What the CLI sends passes the Trainer's own request validation.
  validators.trainer.startRun({ runId: '', spec });
});

test('left-out keys take the RunSpec defaults (unset fields); locality unset stays unset (= 20 pages)', () => {
  const { spec } = parse(minimal);
  assert.equal(spec.localityPages, undefined);
  assert.equal(spec.topN, 0);
  assert.equal(spec.jobKind, trainer.JobKind.JOB_KIND_MEMORY);
  assert.equal(spec.outputPath, '');
  assert.equal(spec.training!.learningRate, undefined);
  assert.equal(spec.training!.epochs, 0);
  assert.equal(spec.memory!.alpha, undefined);
  assert.equal(spec.memory!.entries, 0);
  validators.trainer.startRun({ runId: '', spec });
});

test('unknown keys are refused, naming the file and the key path', () => {
  assert.equal(refusal(minimal + 'train: {lerning_rate: 1.0e-3}\n'), 'train.yaml: unknown key "train.lerning_rate"');
  assert.equal(refusal(minimal + 'trian: {epochs: 1}\n'), 'train.yaml: unknown key "trian"');
  assert.equal(refusal(minimal.replace('layer: 3', 'layer: 3, entires: 4')), 'train.yaml: unknown key "memory.entires"');
  assert.equal(refusal(minimal + 'locality: {pages: 2, seed: 1}\n'), 'train.yaml: unknown key "locality.seed"');
});

test('types and ranges are checked, naming the file and the key', () => {
  const cases: Array<[string, string]> = [
    ['train: {epochs: 0}', 'train.yaml: train.epochs must be an integer >= 1, got 0'],
    ['train: {epochs: 2.5}', 'train.yaml: train.epochs must be an integer in 1..100000, got 2.5'],
    ['train: {epochs: ten}', 'train.yaml: train.epochs must be an integer in 1..100000, got "ten"'],
    ['train: {lr: -1.0e-3}', 'train.yaml: train.lr must be a number in (0, 10], got -0.001'],
    ['train: {lr: 0}', 'train.yaml: train.lr must be a number in (0, 10], got 0'],
    ['train: {lr: .inf}', 'train.yaml: train.lr must be a number in (0, 10], got Infinity'],
    ['train: {batch_size: 5000}', 'train.yaml: train.batch_size must be an integer <= 4096, got 5000'],
    ['train: {beta2: 1}', 'train.yaml: train.beta2 must be a number in [0, 1), got 1'],
    ['train: {seed: 18446744073709551616}', 'train.yaml: train.seed must be an integer <= 18446744073709551615, got 18446744073709551616'],
    ['train: {lr: }', 'train.yaml: train.lr must be a number in (0, 10], got nothing'],
    ['train: [1, 2]', 'train.yaml: train must be a mapping, got a list'],
    ['locality: {pages: -1}', 'train.yaml: locality.pages must be an integer >= 0, got -1'],
    ['job: partial', 'train.yaml: job must be one of memory, full, got "partial"'],
    ['output: ""', 'train.yaml: output must be a path (a non-empty string), got ""'],
  ];
  for (const [line, message] of cases) assert.equal(refusal(`${minimal}${line}\n`), message, line);
  const memory = (fields: string) => `corpus: {claims: c, pages: p}\nmodel: {path: m}\nmemory: {${fields}}\n`;
  assert.equal(refusal(memory('kind: mlp')), 'train.yaml: memory.kind must be one of memory, dlp, simset, random, doc-key, got "mlp"');
  assert.equal(refusal(memory('kind: memory, layer: -1')), 'train.yaml: memory.layer must be an integer >= 0, got -1');
  assert.equal(refusal(memory('kind: memory, layer_norm: "yes"')), 'train.yaml: memory.layer_norm must be true or false, got "yes"');
  assert.equal(refusal(memory('kind: memory, mode: token')), 'train.yaml: memory.mode token is only for memory.kind simset, got kind "memory"');
  assert.equal(refusal(memory('kind: memory, entries: 0')), 'train.yaml: memory.entries must be an integer >= 1, got 0');
  assert.equal(refusal('model: {path: m}\nmemory: {kind: memory}\n'), 'train.yaml: corpus.claims is required');
  assert.equal(refusal('corpus: {claims: c, pages: p}\nmodel: {path: m}\n'), 'train.yaml: memory.kind is required');
  assert.equal(refusal('corpus: {claims: c, pages: 3}\nmodel: {path: m}\n'), 'train.yaml: memory.kind is required');
  assert.equal(
    refusal('corpus: {claims: c, pages: 3}\nmodel: {path: m}\nmemory: {kind: dlp}\n'),
    'train.yaml: corpus.pages must be a path (a non-empty string), got 3',
  );
  assert.equal(refusal('- a\n- b\n'), 'train.yaml: must be a mapping of sections (corpus, model, memory, train, locality), got a list');
  assert.match(
    refusal(minimal + 'train: {epochs: 1}\ntrain: {epochs: 2}\n'),
    /^train\.yaml: not valid YAML at line 5, column 1: Map keys must be unique/,
  );
  assert.match(refusal('corpus: {claims: c\n'), /^train\.yaml: not valid YAML at line \d+, column \d+: /);
});

test('a full-parameter job takes no memory section and sends no memory', () => {
  const full = 'corpus: {claims: c, pages: p}\nmodel: {path: m}\njob: full\ntrain: {max_steps: 5}\n';
  const { spec } = parse(full);
  assert.equal(spec.jobKind, trainer.JobKind.JOB_KIND_FULL);
  assert.equal(spec.memory, undefined);
  assert.equal(spec.training!.maxSteps, 5);
  assert.equal(
    refusal(full + 'memory: {kind: memory}\n'),
    'train.yaml: memory.kind: a full-parameter job (job: full) trains no memory; remove the memory section',
  );
});

test('relative paths resolve against the config file folder, whatever the working directory', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'runs', 'a'), { recursive: true });
  const file = join(dir, 'runs', 'a', 'train.yaml');
  writeFileSync(
    file,
    'corpus: {claims: ../../data/c.jsonl, pages: p.jsonl}\nmodel: {path: /models/hf}\nmemory: {kind: dlp}\noutput: out.safetensors\n',
  );
  const given = relative(process.cwd(), file);
  const config = loadTrainConfig(given);
  assert.equal(config.file, given, 'messages name the file as the user gave it');
  assert.equal(config.spec.claimsPath, join(dir, 'data', 'c.jsonl'));
  assert.equal(config.spec.pagesPath, join(dir, 'runs', 'a', 'p.jsonl'));
  assert.equal(config.spec.modelPath, '/models/hf');
  assert.equal(config.spec.outputPath, join(dir, 'runs', 'a', 'out.safetensors'));
  assert.throws(() => loadTrainConfig(join(dir, 'missing.yaml')), { message: `--config: ${join(dir, 'missing.yaml')}: no such file` });
  assert.throws(() => loadTrainConfig(dir), { message: `--config: ${dir}: is a folder, not a file` });
});

test('the example config parses, points at the shared assets, and documents every key', () => {
  const example = join(repoRoot, 'configs', 'train.example.yaml');
  const { spec } = loadTrainConfig(example);
  assert.equal(spec.modelPath, join(sharedDir, 'models', 'stories260K', 'hf'));
  assert.equal(spec.claimsPath, join(sharedDir, 'data', 'fever', 'paper_test.jsonl'));
  assert.equal(spec.topN, 20);
  assert.equal(spec.memory!.layer, 3);
  assert.equal(spec.training!.learningRate, 1e-3);
  assert.equal(spec.localityPages, 20);
  const text = readFileSync(example, 'utf8');
  const help = configHelp();
  for (const f of configFields) {
    const leaf = f.key.split('.').at(-1)!;
    assert.match(text, new RegExp(`^\\s*#?\\s*${leaf}:`, 'm'), `the example documents ${f.key}`);
    assert.match(help, new RegExp(`^\\s+${leaf}\\s`, 'm'), `--help documents ${f.key}`);
  }
});

test("a service's field names map back to config keys", () => {
  assert.equal(configKeyOf('spec.training.learning_rate'), 'train.lr');
  assert.equal(configKeyOf('spec.memory.layer'), 'memory.layer');
  assert.equal(configKeyOf('spec.locality_pages'), 'locality.pages');
  assert.equal(configKeyOf('spec.claimsPath'), 'corpus.claims');
  assert.equal(configKeyOf('spec.eval_every'), 'train.eval_every');
  assert.equal(configKeyOf('spec.job_kind'), 'job');
  assert.equal(configKeyOf('spec.memory'), 'memory');
  assert.equal(configKeyOf('run_id'), undefined);
});

test("a run's error naming a spec field the way the services do points at the config key", () => {
  assert.equal(configKeyInMessage('model-host 127.0.0.1:1: config.layer must be an integer in 0..4 (the model has 5 layers), got 7'), 'memory.layer');
  assert.equal(configKeyInMessage('DataService 127.0.0.1:1: claims_path: no such file or folder: /x/nope.jsonl'), 'corpus.claims');
  assert.equal(configKeyInMessage('model-host 127.0.0.1:1: learning_rate must be a finite number in (0, 10], got 0'), 'train.lr');
  assert.equal(configKeyInMessage('spec.training.batch_size must be an integer'), 'train.batch_size');
  assert.equal(configKeyInMessage('model-host 127.0.0.1:1 did not answer for 60 s'), undefined);
});
