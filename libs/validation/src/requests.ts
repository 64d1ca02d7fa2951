/**
 * One zod schema per request message of the four services (and per nested message they carry). Each schema is
 * built for a ValidationContext (what the service knows about the model or corpus); without one, only the
 * context-free checks run. `message<T>()` makes tsc fail when a proto field has no schema.
 */
import { z } from 'zod';
import { common, data, evaluator, modelHost, trainer } from '@memorize/contracts';
import {
  bool,
  enumOf,
  int,
  int32,
  intOrDefault,
  message,
  name,
  nonNegativeInt64,
  optionalName,
  optionalPath,
  path,
  real,
  realOrDefault,
  text,
  tokenIds,
  total,
  uint64,
  type ValidationContext,
} from './fields.js';
import {
  MAX_ANCHOR_SAMPLES,
  MAX_LOCALITY_SAMPLES,
  MAX_CLAIM_ROW_SHOTS,
  MAX_CLAIM_ROWS,
  MAX_CONTEXT_LENGTH,
  MAX_DOCUMENTS,
  MAX_EPOCHS,
  MAX_EPSILON,
  MAX_FORWARD_BATCH,
  MAX_GRAD_CLIP,
  MAX_INIT_MAGNITUDE,
  MAX_ITEMS_LIMIT,
  MAX_KEY_DIM,
  MAX_LABEL_LENGTH,
  MAX_LEARNING_RATE,
  MAX_LIST_LIMIT,
  MAX_LOSS_WEIGHT,
  MAX_MEMORY_ENTRIES,
  MAX_NEW_TOKENS,
  MAX_PAGE_SIZE,
  MAX_PAGE_TOKEN,
  MAX_POOL_PER_PAGE,
  MAX_ROWS_PER_REQUEST,
  MAX_SHINGLE_K,
  MAX_SHOTS,
  MAX_STEPS,
  MAX_STOP_BYTES,
  MAX_STOP_STRINGS,
  MAX_SWEEP_LAYERS,
  MAX_SWEEP_VARIANTS,
  MAX_TEMPERATURE,
  MAX_TOKENIZE_BYTES,
  MAX_TOKENIZE_TEXTS,
  MAX_TOKENS_PER_REQUEST,
  MAX_TOP_N,
  MAX_TRAIN_BATCH,
  MAX_WEIGHT_DECAY,
} from './limits.js';
import { MODEL_LIMITS } from './model-config.js';

type Ctx = ValidationContext;
const INT32_MAX = 2 ** 31 - 1;

// ---- Shared numeric fields ----

export const learningRate = real({ min: 0, minOpen: true, max: MAX_LEARNING_RATE });
const weightDecay = real({ min: 0, max: MAX_WEIGHT_DECAY });
const gradClip = real({ min: 0, max: MAX_GRAD_CLIP }, ' (0 = off)');
const beta = real({ min: 0, max: 1, maxOpen: true });
const epsilon = real({ min: 0, minOpen: true, max: MAX_EPSILON });
const lossWeight = real({ min: 0, max: MAX_LOSS_WEIGHT });
const initValue = real({ min: -MAX_INIT_MAGNITUDE, max: MAX_INIT_MAGNITUDE });
const topN = int(0, MAX_TOP_N, ' (0 = every page with claims)');
const shots = int(0, MAX_SHOTS);
const poolPerPage = intOrDefault(1, MAX_POOL_PER_PAGE, 5);
const forwardBatch = (defaultValue: number): z.ZodNumber => intOrDefault(1, MAX_FORWARD_BATCH, defaultValue);
const listLimit = int(0, MAX_LIST_LIMIT, ' (0 = default 100)');
const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Highest memory layer: below the model's layers when known. */
const layerIndex = (ctx: Ctx): z.ZodNumber =>
  ctx.layers !== undefined ? int(0, ctx.layers - 1, ` (the model has ${ctx.layers} layers)`) : int(0, MODEL_LIMITS.nLayers.max - 1);

/** Total token ids of a request's rows within MAX_TOKENS_PER_REQUEST. */
function tokenBudget<T>(rows: readonly T[], ids: (row: T) => readonly number[], field: string, issue: z.core.$RefinementCtx): void {
  const n = total(rows, (r) => ids(r)?.length ?? 0);
  if (n > MAX_TOKENS_PER_REQUEST)
    issue.addIssue({ code: 'custom', path: [field], message: `hold ${n} token ids in all; at most ${MAX_TOKENS_PER_REQUEST} per request`, input: n });
}

// ---- common.proto ----

export function tokenRow(ctx: Ctx, options: { min: number; maxFromContext?: (c: Ctx) => number | undefined }): z.ZodType {
  return message<common.TokenRow>({
    ids: tokenIds(ctx, options),
    documentIndex: int32.optional(),
    weights: z.array(lossWeight, { error: 'must be a list of numbers' }).optional(),
  }).superRefine((row, issue) => {
    if (row.weights && row.weights.length > 0 && row.weights.length !== row.ids?.length)
      issue.addIssue({
        code: 'custom',
        path: ['weights'],
        message: `must be empty or hold one weight per id (${row.ids.length}), not ${row.weights.length}`,
        input: row.weights.length,
      });
  });
}

/** Claims as weighted k-shot training rows (LoadCorpusRequest.claim_rows, RunSpec.claim_rows, SweepVariant.replay). */
export const claimRows = message<common.ClaimRows>({
  claimsPath: optionalPath,
  perEpoch: int(0, MAX_CLAIM_ROWS, ' (0 = every claim once)'),
  answerWeight: lossWeight,
  shots: int(0, MAX_CLAIM_ROW_SHOTS).optional(),
});

/** Train and loss rows: >= 2 ids, at most max_seq_len + 1 (the last id is only a target). */
const trainingRow = (ctx: Ctx): z.ZodType =>
  tokenRow(ctx, { min: 2, maxFromContext: (c) => (c.maxSeqLen !== undefined ? c.maxSeqLen + 1 : undefined) });

export function memoryConfig(ctx: Ctx): z.ZodType {
  return message<common.MemoryConfig>({
    kind: enumOf(common.MemoryKind, { allowUnspecified: false }),
    layer: layerIndex(ctx),
    entries: intOrDefault(1, MAX_MEMORY_ENTRIES, 128),
    mode: enumOf(common.MaskMode),
    shingleK: intOrDefault(1, MAX_SHINGLE_K, 2),
    alpha: real({ min: 0, max: 1 }).optional(),
    seed: uint64,
    layerNorm: bool.optional(),
    gate: bool.optional(),
    gelu: enumOf(common.Gelu),
    setProbability: realOrDefault({ min: 0, minOpen: true, max: 1 }, "match dlp's mean set size"),
    keyDim: intOrDefault(1, MAX_KEY_DIM, 64),
    keyGenerator: enumOf(common.KeyGenerator),
    keyActivation: enumOf(common.KeyActivation),
    guidanceWeight: lossWeight.optional(),
    guidanceMargin: lossWeight.optional(),
    gateInit: initValue.optional(),
    zeroInitDown: bool,
    upBiasInit: initValue.optional(),
  }).superRefine((config, issue) => {
    if (config.mode === common.MaskMode.MASK_MODE_TOKEN && config.kind !== common.MemoryKind.MEMORY_KIND_SIMSET) {
      issue.addIssue({
        code: 'custom',
        path: ['mode'],
        message: `must be MASK_MODE_UNSPECIFIED (0) or MASK_MODE_DIM (1) for ${common.MemoryKind[config.kind]}: only simset has a token mode`,
        input: config.mode,
      });
    }
  });
}

export function trainingConfig(ctx: Ctx): z.ZodType {
  const window = ctx.maxSeqLen !== undefined ? ctx.maxSeqLen + 1 : MAX_CONTEXT_LENGTH;
  return message<common.TrainingConfig>({
    learningRate: learningRate.optional(),
    warmupSteps: int(0, MAX_STEPS).optional(),
    epochs: intOrDefault(1, MAX_EPOCHS, 25),
    batchSize: intOrDefault(1, MAX_TRAIN_BATCH, 4),
    weightDecay: weightDecay.optional(),
    gradClip: gradClip.optional(),
    seed: uint64,
    maxSteps: int(0, MAX_STEPS, ' (0 = epochs x steps per epoch)'),
    checkpointEvery: int(0, MAX_STEPS, ' (0 = every epoch)'),
    maxLength: intOrDefault(2, window, "the model's maximum length"),
    beta1: beta.optional(),
    beta2: beta.optional(),
    epsilon: epsilon.optional(),
    anchorKlWeight: lossWeight,
    anchorSamples: intOrDefault(1, MAX_ANCHOR_SAMPLES, 64),
    anchorSampleTokens: anchorTokens(ctx),
  });
}

const anchorTokens = (ctx: Ctx): z.ZodNumber =>
  intOrDefault(1, ctx.maxSeqLen !== undefined ? Math.min(MAX_NEW_TOKENS, ctx.maxSeqLen - 1) : MAX_NEW_TOKENS, 48);

// ---- data.proto (DataService) ----

/** A page token: the decimal document offset the service issued, below the corpus's documents when known. */
export function pageToken(ctx: Ctx): z.ZodType<string> {
  const known = ctx.documents !== undefined;
  const limit = known ? ctx.documents! - 1 : MAX_PAGE_TOKEN;
  const expectation = known
    ? `must be empty or a page token this service issued (a document offset in 0..${limit} for ${ctx.documents} documents)`
    : `must be empty or a page token this service issued (a decimal document offset in 0..${MAX_PAGE_TOKEN})`;
  return z.string({ error: expectation }).refine((t) => t === '' || (/^(0|[1-9]\d{0,8})$/.test(t) && Number(t) <= limit), { error: expectation });
}

export const dataRequests = {
  loadCorpus: (): z.ZodType =>
    message<data.LoadCorpusRequest>({
      claimsPath: path,
      pagesPath: path,
      assignmentPath: optionalPath,
      topN,
      seed: uint64,
      poolPerPage,
      tokenizerPath: optionalPath,
      maxLength: intOrDefault(2, MAX_CONTEXT_LENGTH, 512),
      strict: bool,
      allPages: bool,
      claimRows: claimRows.optional(),
    }),
  listCorpora: (): z.ZodType => message<data.ListCorporaRequest>({}),
  getCorpus: (): z.ZodType => message<data.GetCorpusRequest>({ corpusId: name }),
  listDocuments: (ctx: Ctx): z.ZodType =>
    message<data.ListDocumentsRequest>({
      corpusId: name,
      pageSize: intOrDefault(1, MAX_PAGE_SIZE, 100),
      pageToken: pageToken(ctx),
      includeIds: bool,
    }),
  getDocument: (): z.ZodType => message<data.GetDocumentRequest>({ corpusId: name, index: int(0, INT32_MAX), pageId: text(MAX_LABEL_LENGTH) }),
  streamClaims: (): z.ZodType => message<data.StreamClaimsRequest>({ corpusId: name, split: enumOf(data.ClaimSplit) }),
  streamEvaluationItems: (): z.ZodType =>
    message<data.StreamEvaluationItemsRequest>({
      corpusId: name,
      shots: shots.optional(),
      split: enumOf(data.ClaimSplit),
      limit: int(0, MAX_ITEMS_LIMIT, ' (0 = all)'),
      tokenize: bool,
    }),
  getPrompt: (): z.ZodType => message<data.GetPromptRequest>({ corpusId: name, claimId: nonNegativeInt64, shots: shots.optional() }),
  streamTrainingBatches: (): z.ZodType =>
    message<data.StreamTrainingBatchesRequest>({
      corpusId: name,
      batchSize: intOrDefault(1, MAX_TRAIN_BATCH, 4),
      epochs: intOrDefault(1, MAX_EPOCHS, 1),
      seed: uint64,
      startStep: int(0, INT32_MAX),
    }),
  getShingleSets: (): z.ZodType =>
    message<data.GetShingleSetsRequest>({
      corpusId: name,
      k: intOrDefault(1, MAX_SHINGLE_K, 2),
      documentIndices: z.array(int(0, INT32_MAX), { error: `must be a list of at most ${MAX_DOCUMENTS} document indices` }).max(MAX_DOCUMENTS),
    }),
};

// ---- model_host.proto (ModelHost) ----

const memorySelection = message<modelHost.MemorySelection>({ memoryId: optionalName, maskSource: enumOf(common.MaskSource) });

const rows = <T extends z.ZodType>(row: T, min: number): z.ZodArray<T> =>
  z
    .array(row, { error: `must hold ${min}..${MAX_ROWS_PER_REQUEST} entries` })
    .min(min)
    .max(MAX_ROWS_PER_REQUEST);

export const modelHostRequests = {
  loadModel: (): z.ZodType => message<modelHost.LoadModelRequest>({ path, tokenizerPath: optionalPath, modelId: optionalName, skipOptimizer: bool }),
  listModels: (): z.ZodType => message<modelHost.ListModelsRequest>({}),
  getModelInfo: (): z.ZodType => message<modelHost.GetModelInfoRequest>({ modelId: name }),
  unloadModel: (): z.ZodType => message<modelHost.UnloadModelRequest>({ modelId: name }),
  tokenize: (): z.ZodType =>
    message<modelHost.TokenizeRequest>({
      modelId: name,
      texts: z.array(z.string({ error: 'must be a string' }), { error: `must hold at most ${MAX_TOKENIZE_TEXTS} texts` }).max(MAX_TOKENIZE_TEXTS),
      addBos: bool,
    }).superRefine((r, issue) => {
      const bytes = total(r.texts, utf8);
      if (bytes > MAX_TOKENIZE_BYTES)
        issue.addIssue({
          code: 'custom',
          path: ['texts'],
          message: `hold ${bytes} UTF-8 bytes; at most ${MAX_TOKENIZE_BYTES} per request`,
          input: bytes,
        });
    }),
  detokenize: (ctx: Ctx): z.ZodType =>
    message<modelHost.DetokenizeRequest>({ modelId: name, rows: rows(tokenRow(ctx, { min: 0 }), 0) }).superRefine((r, issue) =>
      tokenBudget(r.rows, (x) => x.ids, 'rows', issue),
    ),
  createMemory: (ctx: Ctx): z.ZodType =>
    message<modelHost.CreateMemoryRequest>({
      modelId: name,
      memoryId: name,
      config: memoryConfig(ctx),
      documents: z
        .array(message<modelHost.MemoryDocument>({ documentIndex: int(0, MAX_DOCUMENTS - 1), ids: tokenIds(ctx) }), {
          error: `must hold at most ${MAX_DOCUMENTS} documents`,
        })
        .max(MAX_DOCUMENTS),
    }).superRefine((r, issue) => {
      tokenBudget(r.documents, (d) => d.ids, 'documents', issue);
      if (r.config && r.config.kind !== common.MemoryKind.MEMORY_KIND_MEMORY && r.documents.length === 0)
        issue.addIssue({
          code: 'custom',
          path: ['documents'],
          message: `is required for the document-wise kind ${common.MemoryKind[r.config.kind]}`,
        });
      const seen = new Set<number>();
      r.documents.forEach((d, i) => {
        if (d.documentIndex >= r.documents.length || seen.has(d.documentIndex))
          issue.addIssue({
            code: 'custom',
            path: ['documents', i, 'documentIndex'],
            message: `must be unique and in 0..${r.documents.length - 1} (documents carry the indices 0..n-1 once each)`,
            input: d.documentIndex,
          });
        seen.add(d.documentIndex);
      });
    }),
  listMemories: (): z.ZodType => message<modelHost.ListMemoriesRequest>({ modelId: optionalName }),
  getMemory: (): z.ZodType => message<modelHost.GetMemoryRequest>({ memoryId: name, includeEntrySets: bool }),
  deleteMemory: (): z.ZodType => message<modelHost.DeleteMemoryRequest>({ memoryId: name }),
  saveMemory: (): z.ZodType =>
    message<modelHost.SaveMemoryRequest>({
      memoryId: name,
      path,
      includeOptimizer: bool,
      // SaveMemoryRequest.overwrite (added with the file roots of issue #9); optional until that proto change lands.
      overwrite: bool.optional(),
    }),
  saveModel: (): z.ZodType => message<modelHost.SaveModelRequest>({ modelId: name, path, includeOptimizer: bool, overwrite: bool }),
  loadMemory: (): z.ZodType =>
    message<modelHost.LoadMemoryRequest>({ modelId: name, path, memoryId: optionalName, replace: bool, skipOptimizer: bool }),
  score: (ctx: Ctx): z.ZodType =>
    message<modelHost.ScoreRequest>({
      modelId: name,
      memory: memorySelection.optional(),
      items: rows(
        message<modelHost.ScoreItem>({
          context: tokenIds(ctx, { min: 1 }),
          // The continuation is scored in full: it must fit the context window (older context tokens are dropped).
          continuation: tokenIds(ctx, { min: 1, maxFromContext: (c) => c.maxSeqLen }),
          documentIndex: int32.optional(),
        }),
        1,
      ),
      batchSize: forwardBatch(8),
    }).superRefine((r, issue) => tokenBudget(r.items, (i) => [...i.context, ...i.continuation], 'items', issue)),
  generate: (ctx: Ctx): z.ZodType =>
    message<modelHost.GenerateRequest>({
      modelId: name,
      memory: memorySelection.optional(),
      prompt: z
        .string({ error: 'must be a string' })
        .refine((s) => utf8(s) <= MAX_TOKENIZE_BYTES, { error: `must be a text of at most ${MAX_TOKENIZE_BYTES} UTF-8 bytes` }),
      promptIds: tokenIds(ctx, { maxFromContext: (c) => c.maxSeqLen }),
      maxNewTokens: intOrDefault(1, MAX_NEW_TOKENS, 64),
      temperature: real({ min: 0, max: MAX_TEMPERATURE }, ' (0 = greedy)'),
      topP: realOrDefault({ min: 0, minOpen: true, max: 1 }, 'default 1'),
      seed: uint64,
      documentIndex: int32.optional(),
      stop: z
        .array(
          z.string().refine((s) => utf8(s) <= MAX_STOP_BYTES, { error: `must be a text of at most ${MAX_STOP_BYTES} UTF-8 bytes` }),
          {
            error: `must hold at most ${MAX_STOP_STRINGS} stop strings`,
          },
        )
        .max(MAX_STOP_STRINGS),
    }),
  documentLoss: (ctx: Ctx): z.ZodType =>
    message<modelHost.DocumentLossRequest>({
      modelId: name,
      memory: memorySelection.optional(),
      rows: rows(trainingRow(ctx), 1),
      batchSize: forwardBatch(8),
    }).superRefine((r, issue) => tokenBudget(r.rows, (x) => x.ids, 'rows', issue)),
  trainStep: (ctx: Ctx): z.ZodType =>
    message<modelHost.TrainStepRequest>({
      // Exactly one of memory_id and model_id (checked below).
      memoryId: optionalName,
      modelId: optionalName,
      rows: rows(trainingRow(ctx), 1),
      // 0 is a real step (the AdamW moments and step count move, the weights do not): the first step of the
      // reference warm-up schedule has learning rate 0.
      learningRate: real({ min: 0, max: MAX_LEARNING_RATE }),
      weightDecay: weightDecay.optional(),
      gradClip: gradClip.optional(),
      beta1: beta.optional(),
      beta2: beta.optional(),
      epsilon: epsilon.optional(),
      dryRun: bool,
      anchorKlWeight: lossWeight,
      anchorSamples: intOrDefault(1, MAX_ANCHOR_SAMPLES, 64),
      anchorSampleTokens: anchorTokens(ctx),
    }).superRefine((r, issue) => {
      tokenBudget(r.rows, (x) => x.ids, 'rows', issue);
      if (!r.memoryId === !r.modelId)
        issue.addIssue({
          code: 'custom',
          path: [r.memoryId ? 'modelId' : 'memoryId'],
          message: !r.memoryId ? 'is required (or model_id for a full-parameter step)' : 'must be empty when memory_id is set',
          input: r.modelId,
        });
      if (r.modelId && r.anchorKlWeight > 0)
        issue.addIssue({ code: 'custom', path: ['anchorKlWeight'], message: 'must be 0 for a full-parameter step', input: r.anchorKlWeight });
    }),
};

// ---- trainer.proto (Trainer) ----

export function runSpec(ctx: Ctx): z.ZodType {
  return message<trainer.RunSpec>({
    modelPath: path,
    tokenizerPath: optionalPath,
    claimsPath: path,
    pagesPath: path,
    assignmentPath: optionalPath,
    topN,
    // Required for a memory run (checked below); a full-parameter run trains the model itself.
    memory: memoryConfig(ctx).optional(),
    training: trainingConfig(ctx).optional(),
    evalEvery: int(0, MAX_STEPS, ' (0 = every epoch)'),
    localityPages: int(0, MAX_DOCUMENTS, ' (0 = no locality measure)').optional(),
    jobKind: enumOf(trainer.JobKind),
    outputPath: optionalPath,
    localityPagesPath: optionalPath,
    localityClaimsPath: optionalPath,
    localitySamples: int(0, MAX_LOCALITY_SAMPLES, ' (0 = pages)'),
    allPages: bool,
    claimRows: claimRows.optional(),
    measureRows: int(0, MAX_CLAIM_ROWS, ' (0 = every row)'),
  }).superRefine((s, issue) => {
    const full = s.jobKind === trainer.JobKind.JOB_KIND_FULL;
    if (!full && !s.memory) issue.addIssue({ code: 'custom', path: ['memory'], message: 'is required for a memory run' });
    if (full && s.memory)
      issue.addIssue({ code: 'custom', path: ['memory'], message: 'must be unset for a full-parameter run (it trains the model itself)' });
  });
}

export const trainerRequests = {
  // The spec is ignored when run_id names an unfinished run (resume), so it may be absent; when present it is checked.
  startRun: (ctx: Ctx): z.ZodType => message<trainer.StartRunRequest>({ runId: optionalName, spec: runSpec(ctx).optional() }),
  watchRun: (): z.ZodType => message<trainer.WatchRunRequest>({ runId: name, snapshot: bool }),
  cancelRun: (): z.ZodType => message<trainer.CancelRunRequest>({ runId: name }),
  listRuns: (): z.ZodType => message<trainer.ListRunsRequest>({ state: enumOf(common.JobState), limit: listLimit }),
  getRun: (): z.ZodType => message<trainer.GetRunRequest>({ runId: name }),
};

// ---- evaluator.proto (Evaluator) ----

export const evaluationSpec = message<evaluator.EvaluationSpec>({
  modelPath: path,
  tokenizerPath: optionalPath,
  memoryPath: optionalPath,
  claimsPath: path,
  pagesPath: path,
  assignmentPath: optionalPath,
  topN,
  shots: shots.optional(),
  scoring: enumOf(evaluator.ScoringMode),
  maskSource: enumOf(common.MaskSource),
  limit: int(0, MAX_ITEMS_LIMIT, ' (0 = all of the evaluation set)'),
  maxNewTokens: intOrDefault(1, MAX_NEW_TOKENS, 8),
  batchSize: forwardBatch(8),
  seed: uint64,
  name: text(MAX_LABEL_LENGTH),
  poolPerPage,
  splitSeed: uint64,
});

export function sweepSpec(ctx: Ctx): z.ZodType {
  return message<evaluator.SweepSpec>({
    evaluation: evaluationSpec,
    variants: z
      .array(
        // The sweep's layers override each variant's layer, so the variant's own layer is checked without the model.
        message<evaluator.SweepVariant>({
          name: z
            .string({ error: 'must be a string' })
            .min(1, { error: 'is required' })
            .max(MAX_LABEL_LENGTH, { error: `must be at most ${MAX_LABEL_LENGTH} characters` }),
          memory: memoryConfig({ ...ctx, layers: undefined }).optional(),
          full: bool,
          replay: claimRows.optional(),
          training: trainingConfig(ctx).optional(),
        }).superRefine((v, issue) => {
          if (v.full && v.memory)
            issue.addIssue({ code: 'custom', path: ['memory'], message: 'must be unset for a full variant (it fine-tunes the model itself)' });
          if (!v.full && v.replay) issue.addIssue({ code: 'custom', path: ['replay'], message: 'is only for a full variant (full = true)' });
        }),
        { error: `must hold 1..${MAX_SWEEP_VARIANTS} variants` },
      )
      .min(1)
      .max(MAX_SWEEP_VARIANTS),
    layers: z.array(layerIndex(ctx), { error: `must hold at most ${MAX_SWEEP_LAYERS} layers` }).max(MAX_SWEEP_LAYERS),
    training: trainingConfig(ctx).optional(),
    evalEvery: int(0, MAX_STEPS, ' (0 = every epoch)'),
    localityPages: int(0, MAX_DOCUMENTS, ' (0 = no locality measure)').optional(),
    concurrency: int(0, 64, ' (0 = one per model-host)'),
  }).superRefine((s, issue) => {
    const names = new Set<string>();
    s.variants.forEach((v, i) => {
      if (names.has(v.name))
        issue.addIssue({ code: 'custom', path: ['variants', i, 'name'], message: `repeats the variant name ${JSON.stringify(v.name)}` });
      names.add(v.name);
    });
    if (s.layers.length === 0 && s.variants.some((v) => v.memory))
      issue.addIssue({ code: 'custom', path: ['layers'], message: 'is required when a variant has a memory' });
    const layers = new Set<number>();
    s.layers.forEach((l, i) => {
      if (layers.has(l)) issue.addIssue({ code: 'custom', path: ['layers', i], message: 'must not repeat a layer', input: l });
      layers.add(l);
    });
  });
}

export const evaluatorRequests = {
  startEvaluation: (): z.ZodType => message<evaluator.StartEvaluationRequest>({ evaluationId: optionalName, spec: evaluationSpec }),
  watchEvaluation: (): z.ZodType => message<evaluator.WatchEvaluationRequest>({ evaluationId: name }),
  getEvaluation: (): z.ZodType => message<evaluator.GetEvaluationRequest>({ evaluationId: name }),
  listEvaluations: (): z.ZodType => message<evaluator.ListEvaluationsRequest>({ limit: listLimit }),
  cancelEvaluation: (): z.ZodType => message<evaluator.CancelEvaluationRequest>({ evaluationId: name }),
  startSweep: (ctx: Ctx): z.ZodType =>
    message<evaluator.StartSweepRequest>({
      sweepId: optionalName,
      spec: sweepSpec(ctx),
      cell: int(0, MAX_SWEEP_VARIANTS * MAX_SWEEP_LAYERS).optional(),
    }),
  watchSweep: (): z.ZodType => message<evaluator.WatchSweepRequest>({ sweepId: name }),
  getSweep: (): z.ZodType => message<evaluator.GetSweepRequest>({ sweepId: name }),
  listSweeps: (): z.ZodType => message<evaluator.ListSweepsRequest>({ limit: listLimit }),
  cancelSweep: (): z.ZodType => message<evaluator.CancelSweepRequest>({ sweepId: name }),
};
