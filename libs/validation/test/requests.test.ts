import assert from 'node:assert/strict';
import { test } from 'node:test';
import { common, data, evaluator, modelHost, trainer } from '@memorize/contracts';
import { InvalidArgumentError } from '@memorize/errors';
import {
  MAX_ROWS_PER_REQUEST,
  MAX_TOKENIZE_BYTES,
  MAX_TOKENS_PER_REQUEST,
  RequestValidationError,
  modelContext,
  validateRequest,
  validators,
  type MethodPath,
  type ValidationContext,
} from '@memorize/validation';

// stories260K: dim 64, 5 layers, vocab 512, context 512.
const model: ValidationContext = modelContext({ maxSeqLen: 512, vocabSize: 512, nLayers: 5 });
const f = Math.fround; // float fields arrive float32-rounded

const memoryConfig = (over: Partial<common.MemoryConfig> = {}): common.MemoryConfig => ({
  kind: common.MemoryKind.MEMORY_KIND_SIMSET,
  layer: 3,
  entries: 0,
  mode: common.MaskMode.MASK_MODE_UNSPECIFIED,
  shingleK: 0,
  seed: 0n,
  gelu: common.Gelu.GELU_UNSPECIFIED,
  setProbability: 0,
  keyDim: 0,
  keyGenerator: common.KeyGenerator.KEY_GENERATOR_UNSPECIFIED,
  keyActivation: common.KeyActivation.KEY_ACTIVATION_UNSPECIFIED,
  zeroInitDown: false,
  ...over,
});
/** DESIGN.md "Training defaults", written out as a client would. */
const referenceTraining: common.TrainingConfig = {
  learningRate: f(1e-3),
  warmupSteps: 10,
  epochs: 25,
  batchSize: 4,
  weightDecay: f(0.05),
  gradClip: 10,
  seed: 0n,
  maxSteps: 0,
  checkpointEvery: 0,
  maxLength: 0,
  beta1: f(0.9),
  beta2: f(0.999),
  epsilon: f(1e-8),
  anchorKlWeight: 0,
  anchorSamples: 0,
  anchorSampleTokens: 0,
};
const unsetTraining: common.TrainingConfig = {
  epochs: 0,
  batchSize: 0,
  seed: 0n,
  maxSteps: 0,
  checkpointEvery: 0,
  maxLength: 0,
  anchorKlWeight: 0,
  anchorSamples: 0,
  anchorSampleTokens: 0,
};
const S = '../shared/data/fever';
const evaluationSpec: evaluator.EvaluationSpec = {
  modelPath: '../shared/models/stories260K/stories260K.bin',
  tokenizerPath: '',
  memoryPath: '',
  claimsPath: `${S}/paper_test.jsonl`,
  pagesPath: `${S}/wiki-pages.jsonl`,
  assignmentPath: `${S}/page_assignment.jsonl`,
  topN: 300,
  scoring: evaluator.ScoringMode.SCORING_MODE_UNSPECIFIED,
  maskSource: common.MaskSource.MASK_SOURCE_UNSPECIFIED,
  limit: 0,
  maxNewTokens: 0,
  batchSize: 0,
  seed: 0n,
  name: 'simset-2 dim L3',
  poolPerPage: 0,
  splitSeed: 0n,
};
const runSpec: trainer.RunSpec = {
  modelPath: evaluationSpec.modelPath,
  tokenizerPath: '',
  claimsPath: evaluationSpec.claimsPath,
  pagesPath: evaluationSpec.pagesPath,
  assignmentPath: evaluationSpec.assignmentPath,
  topN: 300,
  memory: memoryConfig(),
  training: referenceTraining,
  evalEvery: 0,
  localityPages: 20,
  jobKind: trainer.JobKind.JOB_KIND_MEMORY,
  outputPath: '',
  localityPagesPath: '',
  localityClaimsPath: '',
  localitySamples: 0,
  allPages: false,
  claimRows: undefined,
  measureRows: 0,
};
const noMemory: modelHost.MemorySelection = { memoryId: '', maskSource: common.MaskSource.MASK_SOURCE_UNSPECIFIED };

/** A typical valid request of every RPC. */
const base: { [P in MethodPath]: unknown } = {
  'memorize.v1.DataService/LoadCorpus': {
    claimsPath: `${S}/paper_test.jsonl`,
    pagesPath: `${S}/wiki-pages.jsonl`,
    assignmentPath: `${S}/page_assignment.jsonl`,
    topN: 300,
    seed: 0n,
    poolPerPage: 0,
    tokenizerPath: '../shared/models/stories260K/tok512.bin',
    maxLength: 512,
    strict: false,
    allPages: false,
    claimRows: undefined,
  } satisfies data.LoadCorpusRequest,
  'memorize.v1.DataService/ListCorpora': {},
  'memorize.v1.DataService/GetCorpus': { corpusId: '0123456789abcdef' },
  'memorize.v1.DataService/ListDocuments': { corpusId: '0123456789abcdef', pageSize: 0, pageToken: '', includeIds: false },
  'memorize.v1.DataService/GetDocument': { corpusId: '0123456789abcdef', index: 3, pageId: '' },
  'memorize.v1.DataService/StreamClaims': { corpusId: '0123456789abcdef', split: data.ClaimSplit.CLAIM_SPLIT_EVAL },
  'memorize.v1.DataService/StreamEvaluationItems': {
    corpusId: '0123456789abcdef',
    shots: 1,
    split: data.ClaimSplit.CLAIM_SPLIT_UNSPECIFIED,
    limit: 0,
    tokenize: true,
  },
  'memorize.v1.DataService/GetPrompt': { corpusId: '0123456789abcdef', claimId: 113501n, shots: undefined },
  'memorize.v1.DataService/StreamTrainingBatches': { corpusId: '0123456789abcdef', batchSize: 4, epochs: 25, seed: 7n, startStep: 0 },
  'memorize.v1.DataService/GetShingleSets': { corpusId: '0123456789abcdef', k: 2, documentIndices: [] },
  'memorize.v1.ModelHost/LoadModel': {
    path: '../shared/models/stories260K/stories260K.bin',
    tokenizerPath: '',
    modelId: 'stories260K',
    skipOptimizer: false,
  },
  'memorize.v1.ModelHost/ListModels': {},
  'memorize.v1.ModelHost/GetModelInfo': { modelId: 'stories260K' },
  'memorize.v1.ModelHost/UnloadModel': { modelId: 'stories260K' },
  'memorize.v1.ModelHost/Tokenize': { modelId: 'stories260K', texts: ['Once upon a time', ''], addBos: true },
  'memorize.v1.ModelHost/Detokenize': { modelId: 'stories260K', rows: [{ ids: [1, 403, 407], documentIndex: -1, weights: [] }] },
  'memorize.v1.ModelHost/CreateMemory': {
    modelId: 'stories260K',
    memoryId: 'simset-2.L3',
    config: memoryConfig(),
    documents: [
      { documentIndex: 1, ids: [1, 5, 6, 7], weights: [] },
      { documentIndex: 0, ids: [1, 8, 9], weights: [] },
    ],
  },
  'memorize.v1.ModelHost/ListMemories': { modelId: '' },
  'memorize.v1.ModelHost/GetMemory': { memoryId: 'simset-2.L3', includeEntrySets: true },
  'memorize.v1.ModelHost/DeleteMemory': { memoryId: 'simset-2.L3' },
  'memorize.v1.ModelHost/SaveModel': { modelId: 'stories', path: 'runs/full/model', includeOptimizer: true, overwrite: false },
  'memorize.v1.ModelHost/SaveMemory': { memoryId: 'simset-2.L3', path: 'out/simset.safetensors', includeOptimizer: true },
  'memorize.v1.ModelHost/LoadMemory': { modelId: 'stories260K', path: 'out/simset.safetensors', memoryId: '', replace: false, skipOptimizer: false },
  'memorize.v1.ModelHost/Score': {
    modelId: 'stories260K',
    memory: { memoryId: 'simset-2.L3', maskSource: common.MaskSource.MASK_SOURCE_ORACLE },
    items: [
      { context: [1, 20, 21], continuation: [30], documentIndex: 0 },
      { context: [1, 20, 21], continuation: [31, 32], documentIndex: undefined },
    ],
    batchSize: 0,
  },
  'memorize.v1.ModelHost/Generate': {
    modelId: 'stories260K',
    memory: undefined,
    prompt: 'Once upon a time',
    promptIds: [],
    maxNewTokens: 60,
    temperature: 0,
    topP: 0,
    seed: 0n,
    documentIndex: undefined,
    stop: ['\n'],
  },
  'memorize.v1.ModelHost/DocumentLoss': {
    modelId: 'stories260K',
    memory: noMemory,
    rows: [
      { ids: [1, 2, 3], weights: [] },
      { ids: [1, 4], weights: [] },
    ],
    batchSize: 8,
  },
  'memorize.v1.ModelHost/TrainStep': {
    memoryId: 'simset-2.L3',
    rows: [{ ids: [1, 2, 3, 4], documentIndex: 0, weights: [] }],
    learningRate: f(1e-3),
    weightDecay: f(0.05),
    gradClip: 10,
    beta1: f(0.9),
    beta2: f(0.999),
    epsilon: f(1e-8),
    dryRun: false,
    anchorKlWeight: 0,
    anchorSamples: 0,
    anchorSampleTokens: 0,
    modelId: '',
  },
  'memorize.v1.Trainer/StartRun': { runId: 'run-1', spec: runSpec },
  'memorize.v1.Trainer/WatchRun': { runId: 'run-1', snapshot: false },
  'memorize.v1.Trainer/CancelRun': { runId: 'run-1' },
  'memorize.v1.Trainer/ListRuns': { state: common.JobState.JOB_STATE_UNSPECIFIED, limit: 0 },
  'memorize.v1.Trainer/GetRun': { runId: 'run-1' },
  'memorize.v1.Evaluator/StartEvaluation': { evaluationId: '', spec: evaluationSpec },
  'memorize.v1.Evaluator/WatchEvaluation': { evaluationId: 'eval-1' },
  'memorize.v1.Evaluator/GetEvaluation': { evaluationId: 'eval-1' },
  'memorize.v1.Evaluator/ListEvaluations': { limit: 20 },
  'memorize.v1.Evaluator/CancelEvaluation': { evaluationId: 'eval-1' },
  'memorize.v1.Evaluator/StartSweep': {
    sweepId: 'sweep-1',
    spec: {
      evaluation: evaluationSpec,
      variants: [
        { name: 'pretrained', memory: undefined, full: false, replay: undefined, training: undefined },
        { name: 'simset-2 dim', memory: memoryConfig({ layer: 0 }), full: false, replay: undefined, training: undefined },
        { name: 'memory', memory: memoryConfig({ kind: common.MemoryKind.MEMORY_KIND_MEMORY }), full: false, replay: undefined, training: undefined },
        {
          name: 'full',
          memory: undefined,
          full: true,
          replay: { claimsPath: 'a.jsonl', perEpoch: 10, answerWeight: 10, shots: 1 },
          training: undefined,
        },
      ],
      layers: [2, 3, 4],
      training: referenceTraining,
      evalEvery: 0,
      localityPages: undefined,
      concurrency: 0,
    },
  },
  'memorize.v1.Evaluator/WatchSweep': { sweepId: 'sweep-1' },
  'memorize.v1.Evaluator/GetSweep': { sweepId: 'sweep-1' },
  'memorize.v1.Evaluator/ListSweeps': { limit: 0 },
  'memorize.v1.Evaluator/CancelSweep': { sweepId: 'sweep-1' },
};

type Edit = (r: any) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
/** Good requests beyond the base ones: [method, edit of the base, context]. */
const good: [MethodPath, Edit, ValidationContext?][] = [
  ['memorize.v1.ModelHost/TrainStep', () => {}, model],
  ['memorize.v1.ModelHost/TrainStep', (r) => ((r.weightDecay = r.gradClip = r.beta1 = r.beta2 = r.epsilon = undefined), (r.learningRate = 1e-3))],
  ['memorize.v1.ModelHost/TrainStep', (r) => ((r.learningRate = 0), (r.dryRun = true))],
  ['memorize.v1.ModelHost/TrainStep', (r) => ((r.anchorKlWeight = 4), (r.anchorSamples = 64), (r.anchorSampleTokens = 48)), model],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.rows = [{ ids: Array.from({ length: 513 }, (_, i) => i % 512) }]), model],
  ['memorize.v1.ModelHost/TrainStep', (r) => ((r.gradClip = 0), (r.weightDecay = 0), (r.beta1 = 0))],
  ['memorize.v1.ModelHost/Generate', (r) => ((r.temperature = f(0.8)), (r.topP = f(0.9)), (r.seed = 42))],
  ['memorize.v1.ModelHost/Generate', (r) => ((r.promptIds = [1, 403]), (r.maxNewTokens = 4096)), model],
  ['memorize.v1.ModelHost/Generate', (r) => (r.seed = 2n ** 63n)],
  ['memorize.v1.ModelHost/Generate', (r) => (r.seed = '18446744073709551615')],
  ['memorize.v1.ModelHost/Score', () => {}, model],
  ['memorize.v1.ModelHost/Score', (r) => (r.items = [{ context: Array(2000).fill(3), continuation: Array(512).fill(4) }]), model],
  ['memorize.v1.ModelHost/CreateMemory', () => {}, model],
  ['memorize.v1.ModelHost/CreateMemory', (r) => ((r.config = memoryConfig({ kind: common.MemoryKind.MEMORY_KIND_MEMORY })), (r.documents = []))],
  [
    'memorize.v1.ModelHost/CreateMemory',
    (r) =>
      (r.config = memoryConfig({
        kind: common.MemoryKind.MEMORY_KIND_DOC_KEY,
        keyDim: 64,
        guidanceWeight: 1,
        guidanceMargin: 3,
        alpha: 0,
        gateInit: f(0.1),
        upBiasInit: -1.5,
      })),
    model,
  ],
  [
    'memorize.v1.ModelHost/CreateMemory',
    (r) => (r.config = memoryConfig({ mode: common.MaskMode.MASK_MODE_TOKEN, shingleK: 16, setProbability: f(0.3) })),
  ],
  ['memorize.v1.ModelHost/Detokenize', () => {}, model],
  ['memorize.v1.ModelHost/Tokenize', (r) => (r.texts = ['x'.repeat(MAX_TOKENIZE_BYTES)])],
  ['memorize.v1.DataService/LoadCorpus', (r) => ((r.poolPerPage = 5), (r.topN = 0), (r.maxLength = 0), (r.seed = 3))],
  ['memorize.v1.DataService/ListDocuments', (r) => ((r.pageSize = 1000), (r.pageToken = '100')), { documents: 300 }],
  ['memorize.v1.DataService/ListDocuments', (r) => (r.pageToken = '299'), { documents: 300 }],
  ['memorize.v1.DataService/StreamEvaluationItems', (r) => ((r.shots = 0), (r.split = data.ClaimSplit.CLAIM_SPLIT_ALL))],
  ['memorize.v1.DataService/GetPrompt', (r) => ((r.claimId = '113501'), (r.shots = 3))],
  ['memorize.v1.DataService/GetShingleSets', (r) => ((r.k = 0), (r.documentIndices = [0, 5, 299]))],
  ['memorize.v1.Trainer/StartRun', (r) => ((r.runId = ''), (r.spec.training = unsetTraining))],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec = undefined)],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.training = undefined), model],
  ['memorize.v1.Trainer/StartRun', (r) => ((r.spec.jobKind = trainer.JobKind.JOB_KIND_FULL), (r.spec.memory = undefined))],
  ['memorize.v1.Evaluator/StartEvaluation', (r) => ((r.spec.shots = 0), (r.spec.scoring = evaluator.ScoringMode.SCORING_MODE_LOGLIK))],
  ['memorize.v1.Evaluator/StartSweep', () => {}, model],
  ['memorize.v1.Evaluator/StartSweep', (r) => ((r.spec.variants = [{ name: 'pretrained', full: false }]), (r.spec.layers = []))],
];

/** Bad requests: [method, edit of the base, expected field, message fragment, context]. */
const bad: [MethodPath, Edit, string, string, ValidationContext?][] = [
  // TrainStep: every case of issue #9, then the rest.
  [
    'memorize.v1.ModelHost/TrainStep',
    (r) => (r.learningRate = Infinity),
    'learning_rate',
    'learning_rate must be a finite number in [0, 10], got Infinity',
  ],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.learningRate = f(1e38)), 'learning_rate', 'in [0, 10], got 9.99999968'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.learningRate = NaN), 'learning_rate', 'got NaN'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.learningRate = -1e-3), 'learning_rate', 'in [0, 10]'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.beta1 = 2), 'beta1', 'beta1 must be a finite number in [0, 1), got 2'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.beta1 = 1), 'beta1', 'in [0, 1), got 1'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.beta2 = -5), 'beta2', 'beta2 must be a finite number in [0, 1), got -5'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.epsilon = 0), 'epsilon', 'epsilon must be a finite number in (0, 1], got 0'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.epsilon = Infinity), 'epsilon', 'got Infinity'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.gradClip = -1), 'grad_clip', 'grad_clip must be a finite number in [0, 1000000] (0 = off), got -1'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.weightDecay = NaN), 'weight_decay', 'weight_decay must be a finite number in [0, 1], got NaN'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.weightDecay = -100), 'weight_decay', 'got -100'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.anchorKlWeight = -1), 'anchor_kl_weight', 'in [0, 1000]'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.anchorKlWeight = NaN), 'anchor_kl_weight', 'got NaN'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.anchorSamples = 5000), 'anchor_samples', '1..4096 (0 = default 64), got 5000'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.anchorSampleTokens = 512), 'anchor_sample_tokens', '1..511', model],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.rows = []), 'rows', 'rows must hold 1..4096 entries, got 0 entries'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.rows = Array(MAX_ROWS_PER_REQUEST + 1).fill({ ids: [1, 2] })), 'rows', 'got 4097 entries'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.rows[0].ids = [1]), 'rows[0].ids', 'rows[0].ids has 1 tokens; it must hold 2..'],
  [
    'memorize.v1.ModelHost/TrainStep',
    (r) => (r.rows[0].ids = Array(514).fill(1)),
    'rows[0].ids',
    "has 514 tokens; it must hold 2..513 (the model's context is 512)",
    model,
  ],
  [
    'memorize.v1.ModelHost/TrainStep',
    (r) => (r.rows[0].ids = [1, 2, 600]),
    'rows[0].ids',
    'rows[0].ids[2] must be a token id in [0, 512), got 600',
    model,
  ],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.rows[0].ids = [1, -2]), 'rows[0].ids', 'rows[0].ids[1] must be a token id in [0, 2^31), got -2'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.rows[0].ids = [1, 2.5]), 'rows[0].ids', 'got 2.5'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.rows[0].documentIndex = 2 ** 40), 'rows[0].document_index', 'must be an integer'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.memoryId = ''), 'memory_id', 'memory_id is required (or model_id for a full-parameter step)'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.modelId = 'stories'), 'model_id', 'model_id must be empty when memory_id is set'],
  [
    'memorize.v1.ModelHost/TrainStep',
    (r) => ((r.memoryId = ''), (r.modelId = 'stories'), (r.anchorKlWeight = 1)),
    'anchor_kl_weight',
    'must be 0 for a full-parameter step',
  ],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.memoryId = '../x'), 'memory_id', 'match [A-Za-z0-9._-]{1,128}, got "../x"'],
  ['memorize.v1.ModelHost/TrainStep', (r) => (r.dryRun = 'yes'), 'dry_run', 'must be true or false'],
  [
    'memorize.v1.ModelHost/TrainStep',
    (r) => (r.rows = Array(4096).fill({ ids: Array(1100).fill(1) })),
    'rows',
    `rows hold 4505600 token ids in all; at most ${MAX_TOKENS_PER_REQUEST}`,
  ],
  // Generate
  ['memorize.v1.ModelHost/Generate', (r) => (r.topP = NaN), 'top_p', 'top_p must be 0 (default 1) or a finite number in (0, 1], got NaN'],
  ['memorize.v1.ModelHost/Generate', (r) => (r.topP = f(1.5)), 'top_p', 'got 1.5'],
  ['memorize.v1.ModelHost/Generate', (r) => (r.topP = -0.5), 'top_p', 'in (0, 1]'],
  [
    'memorize.v1.ModelHost/Generate',
    (r) => (r.temperature = -1),
    'temperature',
    'temperature must be a finite number in [0, 100] (0 = greedy), got -1',
  ],
  ['memorize.v1.ModelHost/Generate', (r) => (r.temperature = Infinity), 'temperature', 'got Infinity'],
  ['memorize.v1.ModelHost/Generate', (r) => (r.temperature = NaN), 'temperature', 'got NaN'],
  ['memorize.v1.ModelHost/Generate', (r) => (r.maxNewTokens = 5000), 'max_new_tokens', '1..4096 (0 = default 64), got 5000'],
  ['memorize.v1.ModelHost/Generate', (r) => (r.maxNewTokens = -1), 'max_new_tokens', 'got -1'],
  [
    'memorize.v1.ModelHost/Generate',
    (r) => (r.promptIds = Array(513).fill(1)),
    'prompt_ids',
    "has 513 tokens; it must hold 0..512 (the model's context is 512)",
    model,
  ],
  ['memorize.v1.ModelHost/Generate', (r) => (r.promptIds = [1, 512]), 'prompt_ids', 'prompt_ids[1] must be a token id in [0, 512), got 512', model],
  [
    'memorize.v1.ModelHost/Generate',
    (r) => (r.prompt = 'x'.repeat(MAX_TOKENIZE_BYTES + 1)),
    'prompt',
    'at most 1048576 UTF-8 bytes, got a string of 1048577 characters',
  ],
  ['memorize.v1.ModelHost/Generate', (r) => (r.stop = Array(17).fill('.')), 'stop', 'at most 16 stop strings'],
  ['memorize.v1.ModelHost/Generate', (r) => (r.stop = ['é'.repeat(200)]), 'stop', 'stop[0] must be a text of at most 256 UTF-8 bytes'],
  ['memorize.v1.ModelHost/Generate', (r) => (r.seed = -1), 'seed', 'seed must be an integer in 0..2^64-1, got -1'],
  ['memorize.v1.ModelHost/Generate', (r) => (r.seed = '2e5'), 'seed', 'got "2e5"'],
  ['memorize.v1.ModelHost/Generate', (r) => (r.seed = 2n ** 64n), 'seed', 'got 18446744073709551616'],
  [
    'memorize.v1.ModelHost/Generate',
    (r) => (r.memory = { memoryId: 'm', maskSource: 9 }),
    'memory.mask_source',
    'memory.mask_source must be one of MASK_SOURCE_UNSPECIFIED (0)',
  ],
  ['memorize.v1.ModelHost/Generate', (r) => (r.memory = { memoryId: 'm', maskSource: -1 }), 'memory.mask_source', 'got -1'],
  ['memorize.v1.ModelHost/Generate', (r) => (r.memory = { memoryId: 'a b', maskSource: 0 }), 'memory.memory_id', 'must be empty or match'],
  // Score
  [
    'memorize.v1.ModelHost/Score',
    (r) => (r.items[1].continuation = Array(513).fill(7)),
    'items[1].continuation',
    "has 513 tokens; it must hold 1..512 (the model's context is 512)",
    model,
  ],
  ['memorize.v1.ModelHost/Score', (r) => (r.items[0].continuation = []), 'items[0].continuation', 'has 0 tokens; it must hold 1..'],
  ['memorize.v1.ModelHost/Score', (r) => (r.items[0].context = []), 'items[0].context', 'has 0 tokens'],
  [
    'memorize.v1.ModelHost/Score',
    (r) => (r.items[0].context = [1, 9999]),
    'items[0].context',
    'items[0].context[1] must be a token id in [0, 512), got 9999',
    model,
  ],
  ['memorize.v1.ModelHost/Score', (r) => (r.items = []), 'items', 'items must hold 1..4096 entries'],
  ['memorize.v1.ModelHost/Score', (r) => (r.batchSize = 257), 'batch_size', '1..256 (0 = default 8), got 257'],
  ['memorize.v1.ModelHost/Score', (r) => (r.modelId = ''), 'model_id', 'model_id is required'],
  // DocumentLoss, Detokenize, Tokenize
  ['memorize.v1.ModelHost/DocumentLoss', (r) => (r.rows[1].ids = [1]), 'rows[1].ids', 'has 1 tokens; it must hold 2..'],
  ['memorize.v1.ModelHost/DocumentLoss', (r) => (r.rows = [{ ids: Array(600).fill(1) }]), 'rows[0].ids', 'must hold 2..513', model],
  ['memorize.v1.ModelHost/DocumentLoss', (r) => (r.batchSize = -3), 'batch_size', 'got -3'],
  [
    'memorize.v1.ModelHost/Detokenize',
    (r) => (r.rows[0].ids = [1, 512]),
    'rows[0].ids',
    'rows[0].ids[1] must be a token id in [0, 512), got 512',
    model,
  ],
  [
    'memorize.v1.ModelHost/Tokenize',
    (r) => (r.texts = ['x'.repeat(600_000), 'y'.repeat(600_000)]),
    'texts',
    'texts hold 1200000 UTF-8 bytes; at most 1048576',
  ],
  ['memorize.v1.ModelHost/Tokenize', (r) => (r.texts = Array(4097).fill('a')), 'texts', 'at most 4096 texts'],
  // CreateMemory and the MemoryConfig
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config = undefined), 'config', 'config is required'],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.kind = 0), 'config.kind', 'config.kind must be one of MEMORY_KIND_MEMORY (1)'],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.kind = -1), 'config.kind', 'got -1'],
  [
    'memorize.v1.ModelHost/CreateMemory',
    (r) => (r.config.layer = 5),
    'config.layer',
    'config.layer must be an integer in 0..4 (the model has 5 layers), got 5',
    model,
  ],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.layer = -1), 'config.layer', 'got -1'],
  [
    'memorize.v1.ModelHost/CreateMemory',
    (r) => (r.config.shingleK = 17),
    'config.shingle_k',
    'config.shingle_k must be an integer in 1..16 (0 = default 2), got 17',
  ],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.entries = 70000), 'config.entries', '1..65536 (0 = default 128)'],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.alpha = 1.5), 'config.alpha', 'in [0, 1], got 1.5'],
  [
    'memorize.v1.ModelHost/CreateMemory',
    (r) => (r.config.setProbability = f(1.2)),
    'config.set_probability',
    "0 (match dlp's mean set size) or a finite number in (0, 1]",
  ],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.setProbability = -0.1), 'config.set_probability', 'got -0.1'],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.keyDim = -4), 'config.key_dim', '(0 = default 64), got -4'],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.gelu = 3), 'config.gelu', 'GELU_TANH (2), got 3'],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.keyGenerator = 7), 'config.key_generator', 'KEY_GENERATOR_NONLINEAR (2), got 7'],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.keyActivation = 4), 'config.key_activation', 'got 4'],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.mode = 3), 'config.mode', 'MASK_MODE_TOKEN (2), got 3'],
  [
    'memorize.v1.ModelHost/CreateMemory',
    (r) => ((r.config.kind = common.MemoryKind.MEMORY_KIND_DLP), (r.config.mode = common.MaskMode.MASK_MODE_TOKEN)),
    'config.mode',
    'for MEMORY_KIND_DLP: only simset has a token mode',
  ],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.guidanceWeight = NaN), 'config.guidance_weight', 'got NaN'],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.guidanceMargin = -1), 'config.guidance_margin', 'in [0, 1000]'],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.gateInit = Infinity), 'config.gate_init', 'in [-100, 100], got Infinity'],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.upBiasInit = -1e9), 'config.up_bias_init', 'got -1000000000'],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.seed = 1.5), 'config.seed', 'got 1.5'],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.config.layerNorm = 1), 'config.layer_norm', 'must be true or false'],
  [
    'memorize.v1.ModelHost/CreateMemory',
    (r) => (r.documents = []),
    'documents',
    'documents is required for the document-wise kind MEMORY_KIND_SIMSET',
  ],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.documents[1].documentIndex = 1), 'documents[1].document_index', 'must be unique and in 0..1'],
  ['memorize.v1.ModelHost/CreateMemory', (r) => (r.documents[0].documentIndex = 7), 'documents[0].document_index', 'got 7'],
  [
    'memorize.v1.ModelHost/CreateMemory',
    (r) => (r.documents[0].ids = [1, 600]),
    'documents[0].ids',
    'documents[0].ids[1] must be a token id in [0, 512)',
    model,
  ],
  [
    'memorize.v1.ModelHost/CreateMemory',
    (r) => (r.memoryId = 'x'.repeat(129)),
    'memory_id',
    'must match [A-Za-z0-9._-]{1,128}, got a string of 129 characters',
  ],
  // Other ModelHost requests
  ['memorize.v1.ModelHost/LoadModel', (r) => (r.path = ''), 'path', 'path is required'],
  ['memorize.v1.ModelHost/LoadModel', (r) => (r.path = 'a\0b'), 'path', 'must be a path without NUL bytes'],
  ['memorize.v1.ModelHost/LoadModel', (r) => (r.path = 'p/'.repeat(3000)), 'path', 'at most 4096 characters'],
  ['memorize.v1.ModelHost/LoadModel', (r) => (r.modelId = 'a/b'), 'model_id', 'must be empty or match'],
  ['memorize.v1.ModelHost/LoadModel', (r) => (r.tokenizerPath = 'tok\0'), 'tokenizer_path', 'without NUL bytes'],
  ['memorize.v1.ModelHost/GetModelInfo', (r) => (r.modelId = ''), 'model_id', 'model_id is required'],
  ['memorize.v1.ModelHost/UnloadModel', (r) => (r.modelId = 42), 'model_id', 'must be a string'],
  ['memorize.v1.ModelHost/SaveMemory', (r) => (r.path = ''), 'path', 'path is required'],
  ['memorize.v1.ModelHost/LoadMemory', (r) => (r.memoryId = 'bad name'), 'memory_id', 'must be empty or match'],
  ['memorize.v1.ModelHost/GetMemory', (r) => (r.memoryId = ''), 'memory_id', 'is required'],
  ['memorize.v1.ModelHost/DeleteMemory', (r) => (r.memoryId = undefined), 'memory_id', 'must be a string'],
  ['memorize.v1.ModelHost/ListMemories', (r) => (r.modelId = '..'.repeat(100)), 'model_id', 'must be empty or match'],
  // DataService
  [
    'memorize.v1.DataService/StreamClaims',
    (r) => (r.split = 99),
    'split',
    'split must be one of CLAIM_SPLIT_UNSPECIFIED (0), CLAIM_SPLIT_POOL (1), CLAIM_SPLIT_EVAL (2), CLAIM_SPLIT_ALL (3), got 99',
  ],
  ['memorize.v1.DataService/StreamClaims', (r) => (r.corpusId = ''), 'corpus_id', 'corpus_id is required'],
  [
    'memorize.v1.DataService/ListDocuments',
    (r) => (r.pageToken = '99999999999999999999'),
    'page_token',
    'must be empty or a page token this service issued',
  ],
  [
    'memorize.v1.DataService/ListDocuments',
    (r) => (r.pageToken = '300'),
    'page_token',
    'a document offset in 0..299 for 300 documents), got "300"',
    { documents: 300 },
  ],
  ['memorize.v1.DataService/ListDocuments', (r) => (r.pageToken = '-1'), 'page_token', 'got "-1"'],
  ['memorize.v1.DataService/ListDocuments', (r) => (r.pageToken = '1e3'), 'page_token', 'got "1e3"'],
  ['memorize.v1.DataService/ListDocuments', (r) => (r.pageToken = ' 5'), 'page_token', 'got " 5"'],
  ['memorize.v1.DataService/ListDocuments', (r) => (r.pageSize = 1001), 'page_size', '1..1000 (0 = default 100), got 1001'],
  [
    'memorize.v1.DataService/LoadCorpus',
    (r) => (r.poolPerPage = 1e6),
    'pool_per_page',
    'pool_per_page must be an integer in 1..64 (0 = default 5), got 1000000',
  ],
  ['memorize.v1.DataService/LoadCorpus', (r) => (r.poolPerPage = -1), 'pool_per_page', 'got -1'],
  [
    'memorize.v1.DataService/LoadCorpus',
    (r) => (r.maxLength = 1e9),
    'max_length',
    'max_length must be an integer in 2..1048576 (0 = default 512), got 1000000000',
  ],
  ['memorize.v1.DataService/LoadCorpus', (r) => (r.maxLength = 1), 'max_length', 'got 1'],
  ['memorize.v1.DataService/LoadCorpus', (r) => (r.topN = -1), 'top_n', '(0 = every page with claims), got -1'],
  ['memorize.v1.DataService/LoadCorpus', (r) => (r.claimsPath = ''), 'claims_path', 'claims_path is required'],
  ['memorize.v1.DataService/LoadCorpus', (r) => (r.pagesPath = 'x\0'), 'pages_path', 'without NUL bytes'],
  ['memorize.v1.DataService/LoadCorpus', (r) => (r.seed = NaN), 'seed', 'got NaN'],
  ['memorize.v1.DataService/StreamEvaluationItems', (r) => (r.shots = 33), 'shots', 'shots must be an integer in 0..32, got 33'],
  ['memorize.v1.DataService/StreamEvaluationItems', (r) => (r.shots = -1), 'shots', 'got -1'],
  ['memorize.v1.DataService/StreamEvaluationItems', (r) => (r.split = 4), 'split', 'got 4'],
  ['memorize.v1.DataService/StreamEvaluationItems', (r) => (r.limit = -5), 'limit', '(0 = all), got -5'],
  ['memorize.v1.DataService/GetPrompt', (r) => (r.claimId = -3), 'claim_id', 'claim_id must be an integer in 0..2^63-1, got -3'],
  ['memorize.v1.DataService/GetPrompt', (r) => (r.shots = 1000), 'shots', 'got 1000'],
  ['memorize.v1.DataService/StreamTrainingBatches', (r) => (r.batchSize = 5000), 'batch_size', '1..4096 (0 = default 4), got 5000'],
  ['memorize.v1.DataService/StreamTrainingBatches', (r) => (r.epochs = 1e6), 'epochs', '1..100000 (0 = default 1)'],
  ['memorize.v1.DataService/StreamTrainingBatches', (r) => (r.startStep = -1), 'start_step', 'got -1'],
  ['memorize.v1.DataService/GetShingleSets', (r) => (r.k = 17), 'k', 'k must be an integer in 1..16 (0 = default 2), got 17'],
  [
    'memorize.v1.DataService/GetShingleSets',
    (r) => (r.documentIndices = [0, -1]),
    'document_indices',
    'document_indices[1] must be an integer in 0..2147483647, got -1',
  ],
  ['memorize.v1.DataService/GetDocument', (r) => (r.index = -1), 'index', 'got -1'],
  ['memorize.v1.DataService/GetCorpus', (r) => (r.corpusId = 'a'.repeat(200)), 'corpus_id', 'must match'],
  // Trainer
  [
    'memorize.v1.Trainer/StartRun',
    (r) => (r.spec.training.learningRate = Infinity),
    'spec.training.learning_rate',
    'spec.training.learning_rate must be a finite number in (0, 10], got Infinity',
  ],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.training.beta1 = 2), 'spec.training.beta1', 'in [0, 1), got 2'],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.training.beta2 = -5), 'spec.training.beta2', 'got -5'],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.training.epsilon = 0), 'spec.training.epsilon', 'in (0, 1], got 0'],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.training.gradClip = -1), 'spec.training.grad_clip', 'got -1'],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.training.weightDecay = -100), 'spec.training.weight_decay', 'got -100'],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.training.epochs = -1), 'spec.training.epochs', '1..100000 (0 = default 25), got -1'],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.training.batchSize = 1e5), 'spec.training.batch_size', '(0 = default 4), got 100000'],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.training.maxSteps = -1), 'spec.training.max_steps', 'got -1'],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.training.warmupSteps = 1.5), 'spec.training.warmup_steps', 'got 1.5'],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.training.maxLength = 600), 'spec.training.max_length', '2..513', model],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.memory.layer = 24), 'spec.memory.layer', 'the model has 5 layers', model],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.memory = undefined), 'spec.memory', 'spec.memory is required for a memory run'],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.jobKind = trainer.JobKind.JOB_KIND_FULL), 'spec.memory', 'must be unset for a full-parameter run'],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.modelPath = ''), 'spec.model_path', 'is required'],
  ['memorize.v1.Trainer/StartRun', (r) => (r.spec.evalEvery = -1), 'spec.eval_every', 'got -1'],
  ['memorize.v1.Trainer/StartRun', (r) => (r.runId = 'run 1'), 'run_id', 'must be empty or match'],
  ['memorize.v1.Trainer/ListRuns', (r) => (r.state = 6), 'state', 'JOB_STATE_CANCELLED (5), got 6'],
  ['memorize.v1.Trainer/ListRuns', (r) => (r.limit = 1e6), 'limit', '0..1000 (0 = default 100)'],
  ['memorize.v1.Trainer/WatchRun', (r) => (r.runId = ''), 'run_id', 'run_id is required'],
  ['memorize.v1.Trainer/GetRun', (r) => (r.runId = ''), 'run_id', 'is required'],
  ['memorize.v1.Trainer/CancelRun', (r) => (r.runId = '\0'), 'run_id', 'must match'],
  // Evaluator
  ['memorize.v1.Evaluator/StartEvaluation', (r) => (r.spec = undefined), 'spec', 'spec is required'],
  ['memorize.v1.Evaluator/StartEvaluation', (r) => (r.spec.shots = 100), 'spec.shots', '0..32, got 100'],
  ['memorize.v1.Evaluator/StartEvaluation', (r) => (r.spec.scoring = 3), 'spec.scoring', 'SCORING_MODE_LOGLIK (2), got 3'],
  ['memorize.v1.Evaluator/StartEvaluation', (r) => (r.spec.maskSource = 5), 'spec.mask_source', 'MASK_SOURCE_NONE (4), got 5'],
  ['memorize.v1.Evaluator/StartEvaluation', (r) => (r.spec.poolPerPage = 1e6), 'spec.pool_per_page', '1..64 (0 = default 5), got 1000000'],
  ['memorize.v1.Evaluator/StartEvaluation', (r) => (r.spec.maxNewTokens = 1e5), 'spec.max_new_tokens', '(0 = default 8)'],
  ['memorize.v1.Evaluator/StartEvaluation', (r) => (r.spec.batchSize = 1000), 'spec.batch_size', '1..256'],
  ['memorize.v1.Evaluator/StartEvaluation', (r) => (r.spec.limit = -1), 'spec.limit', 'got -1'],
  ['memorize.v1.Evaluator/StartEvaluation', (r) => (r.spec.splitSeed = -1), 'spec.split_seed', 'got -1'],
  ['memorize.v1.Evaluator/StartEvaluation', (r) => (r.spec.name = 'n'.repeat(2000)), 'spec.name', 'at most 1024 characters'],
  ['memorize.v1.Evaluator/StartEvaluation', (r) => (r.spec.claimsPath = ''), 'spec.claims_path', 'spec.claims_path is required'],
  ['memorize.v1.Evaluator/StartSweep', (r) => (r.spec.variants = []), 'spec.variants', 'must hold 1..64 variants'],
  ['memorize.v1.Evaluator/StartSweep', (r) => (r.spec.variants[1].name = ''), 'spec.variants[1].name', 'spec.variants[1].name is required'],
  [
    'memorize.v1.Evaluator/StartSweep',
    (r) => (r.spec.variants[2].name = 'pretrained'),
    'spec.variants[2].name',
    'repeats the variant name "pretrained"',
  ],
  ['memorize.v1.Evaluator/StartSweep', (r) => (r.spec.variants[1].memory.kind = 9), 'spec.variants[1].memory.kind', 'got 9'],
  ['memorize.v1.Evaluator/StartSweep', (r) => (r.spec.layers = []), 'spec.layers', 'spec.layers is required when a variant has a memory'],
  ['memorize.v1.Evaluator/StartSweep', (r) => (r.spec.layers = [2, 2]), 'spec.layers', 'spec.layers[1] must not repeat a layer, got 2'],
  [
    'memorize.v1.Evaluator/StartSweep',
    (r) => (r.spec.layers = [2, 5]),
    'spec.layers',
    'spec.layers[1] must be an integer in 0..4 (the model has 5 layers), got 5',
    model,
  ],
  ['memorize.v1.Evaluator/StartSweep', (r) => (r.spec.training.learningRate = NaN), 'spec.training.learning_rate', 'got NaN'],
  ['memorize.v1.Evaluator/StartSweep', (r) => (r.spec.evaluation = undefined), 'spec.evaluation', 'spec.evaluation is required'],
  ['memorize.v1.Evaluator/ListEvaluations', (r) => (r.limit = -1), 'limit', 'got -1'],
  ['memorize.v1.Evaluator/ListSweeps', (r) => (r.limit = 1.5), 'limit', 'got 1.5'],
  ['memorize.v1.Evaluator/WatchEvaluation', (r) => (r.evaluationId = ''), 'evaluation_id', 'is required'],
  ['memorize.v1.Evaluator/GetSweep', (r) => (r.sweepId = ''), 'sweep_id', 'sweep_id is required'],
  ['memorize.v1.Evaluator/CancelSweep', (r) => (r.sweepId = 'x y'), 'sweep_id', 'must match'],
];

const edited = (method: MethodPath, edit: Edit): unknown => {
  const r = structuredClone(base[method]);
  edit(r);
  return r;
};

test('the table covers at least 80 bad requests and every RPC of the four services', () => {
  assert.ok(bad.length >= 80, `${bad.length} bad cases`);
  const defs = [data.DataServiceService, modelHost.ModelHostService, trainer.TrainerService, evaluator.EvaluatorService];
  const paths = defs.flatMap((d) => Object.values(d).map((m) => m.path.slice(1)));
  assert.deepEqual(Object.keys(base).sort(), [...paths].sort());
  for (const [service, methods] of Object.entries(validators))
    for (const [name, v] of Object.entries(methods)) assert.equal(typeof v, 'function', `${service}.${name}`);
});

test('good requests pass unchanged (the same object back), with and without a model context', () => {
  const cases: [MethodPath, Edit, ValidationContext?][] = [
    ...(Object.keys(base) as MethodPath[]).map((m): [MethodPath, Edit] => [m, () => {}]),
    ...good,
  ];
  for (const [method, edit, context] of cases) {
    const request = edited(method, edit);
    const copy = structuredClone(request);
    const out = validateRequest(method, request as never, context);
    assert.equal(out, request, method);
    assert.deepEqual(request, copy, `${method} was modified`);
  }
});

for (const [i, [method, edit, field, fragment, context]] of bad.entries()) {
  test(`bad #${i} ${method.split('.').pop()} ${field}: ${fragment}`, () => {
    const request = edited(method, edit);
    assert.throws(
      () => validateRequest(method, request as never, context),
      (error: unknown) => {
        assert.ok(error instanceof RequestValidationError && error instanceof InvalidArgumentError, String(error));
        assert.equal(error.field, field, error.message);
        assert.ok(error.message.includes(fragment), `message "${error.message}" lacks "${fragment}"`);
        return true;
      },
    );
  });
}

test('requests decoded from the wire: out-of-range floats and unknown enum values are rejected', () => {
  const step = modelHost.TrainStepRequest.decode(
    modelHost.TrainStepRequest.encode({ ...(base['memorize.v1.ModelHost/TrainStep'] as modelHost.TrainStepRequest), learningRate: 1e38 }).finish(),
  );
  assert.throws(() => validators.modelHost.trainStep(step), /learning_rate must be a finite number in \[0, 10\], got 9\.99/);
  const claims = data.StreamClaimsRequest.decode(data.StreamClaimsRequest.encode({ corpusId: 'c', split: 99 as data.ClaimSplit }).finish());
  assert.equal(claims.split, 99);
  assert.throws(() => validators.data.streamClaims(claims), { message: /split must be one of .* got 99/ });
  const generate = modelHost.GenerateRequest.decode(
    modelHost.GenerateRequest.encode({ ...(base['memorize.v1.ModelHost/Generate'] as modelHost.GenerateRequest), topP: NaN }).finish(),
  );
  assert.throws(() => validators.modelHost.generate(generate), { message: /top_p .* got NaN/ });
});

test('all problems are listed; the message names the first and counts the rest', () => {
  const request = edited('memorize.v1.ModelHost/TrainStep', (r) => ((r.beta1 = 2), (r.beta2 = -5), (r.epsilon = 0)));
  assert.throws(
    () => validators.modelHost.trainStep(request as modelHost.TrainStepRequest),
    (error: unknown) => {
      assert.ok(error instanceof RequestValidationError);
      assert.deepEqual(
        error.problems.map((p) => p.field),
        ['beta1', 'beta2', 'epsilon'],
      );
      assert.match(error.message, /^beta1 must be .* got 2 \(and 2 more\)$/);
      return true;
    },
  );
});

test('a leading slash on the method path is accepted; an unknown method is a programming error', () => {
  assert.doesNotThrow(() => validateRequest('/memorize.v1.Trainer/GetRun', { runId: 'r' }));
  assert.throws(() => validateRequest('memorize.v1.Nope/Nope' as MethodPath, {} as never), /no validator/);
});
