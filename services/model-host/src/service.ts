import { modelHost, protoFiles, seed32, serviceNames } from '@memorize/contracts';
import { Engine, type Job, type LockRequest } from '@memorize/engine';
import { createHash } from 'node:crypto';
import { documentLosses, generate, PrefixCache, scoreShared, StreamDecoder } from '@memorize/lm';
import { DEFAULT_QUEUE_DEPTH, type CallContext, type HostedService, type Implementation, type Logger } from '@memorize/service-kit';
import type { BackendChoice } from '@memorize/tensor';
import { modelContext, validators, type ValidationContext } from '@memorize/validation';
import { FullTraining } from './full.js';
import { MemoryStore, type MemoryBinding } from './memories.js';
import { checkIds, ModelRegistry, type HeldModel } from './models.js';

export type Definition = typeof modelHost.ModelHostService;
const validate = validators.modelHost;

class StopGeneration extends Error {}

/**
 * Padded tokens one slice of Score or DocumentLoss holds (fewer rows per forward when rows are long; the requested
 * batch_size still caps it). It bounds how long health checks and other clients wait behind one slice; scores do
 * not depend on the batching.
 */
export const SLICE_TOKENS = 512;

/** Bytes of keys and values the Score prefix cache holds by default (MEMORIZE_MODEL_HOST_PREFIX_CACHE_BYTES). */
export const DEFAULT_PREFIX_CACHE_BYTES = 256 * 2 ** 20;

/**
 * The prefix-cache namespace of a Score item: everything besides its tokens that a position's keys and values
 * depend on — the model and its weights' fingerprint (a full-parameter TrainStep changes it), the memory object and
 * its version (every TrainStep, LoadMemory and replace make a new one) and the mask source; for a document-wise
 * memory the document index, and when its mask comes from the prompt (dim mode, source context) the whole
 * prompt, since then every position depends on it.
 */
export function scoreNamespace(held: HeldModel, binding: MemoryBinding, documentIndex: number | undefined, context: readonly number[]): string {
  const parts = [`model ${held.id} ${held.model.fingerprint}`];
  const m = binding.memory;
  if (m) {
    parts.push(`memory ${m.serial}@${m.version}`, `mask ${binding.maskSource ?? 'default'}`);
    const module = m.memory;
    if (module.masker) {
      parts.push(`document ${documentIndex ?? 'none'}`);
      const source = binding.maskSource ?? module.defaultMaskSource(documentIndex !== undefined);
      if (module.config.mode === 'dim' && source !== 'oracle' && source !== 'all' && source !== 'none') {
        parts.push(`prompt ${createHash('sha256').update(Int32Array.from(context)).digest('hex')}`);
      }
    }
  }
  return parts.join('|');
}

/** The prefix-cache tags of a model's and a memory's entries (dropped when they are unloaded, deleted or trained). */
const modelTag = (id: string) => `model ${id}`;
const memoryTag = (serial: number) => `memory ${serial}`;

/** The `client` metadata key a caller may set to be scheduled as one client across its channels. */
export const CLIENT_METADATA_KEY = 'client';

/** Who a call is, for round-robin: the `client` metadata value, else the peer address. */
function clientOf(ctx: CallContext): string {
  const value = ctx.metadata.get(CLIENT_METADATA_KEY)[0];
  return typeof value === 'string' && value !== '' ? `client ${value.slice(0, 128)}` : ctx.peer;
}

/**
 * ModelHost handlers: validate the request (libs/validation, against the model's context), then run the work as a
 * job of the model's queue in the engine (libs/engine) — sliced, cancellable, with the memory it uses locked for
 * the whole call — calling libs/lm and libs/memory.
 */
export function modelHostHandlers(
  models: ModelRegistry,
  memories: MemoryStore,
  engine: Engine,
  prefixCache: PrefixCache = new PrefixCache({ budgetBytes: DEFAULT_PREFIX_CACHE_BYTES }),
): Implementation<Definition> {
  const full = new FullTraining(models, memories);
  // Cached prefixes never outlive what they were computed with (their namespaces also make stale ones unreachable).
  models.onEvict((held) => prefixCache.drop(modelTag(held.id)));
  memories.onChange((held) => prefixCache.drop(memoryTag(held.serial)));
  /** The context of a loaded model (none when it is not loaded: the store then answers NOT_FOUND). */
  const contextOf = (modelId: string): ValidationContext => {
    const held = models.list().find((m) => m.id === modelId);
    return held ? modelContext(held.model.config) : {};
  };
  const contextOfMemory = (memoryId: string): ValidationContext => {
    const held = memories.list().find((m) => m.id === memoryId);
    return held ? contextOf(held.modelId) : {};
  };
  const resolveMemory = (held: HeldModel, selection: modelHost.MemorySelection | undefined): MemoryBinding => memories.binding(held, selection);
  // Unset or negative = no document: a document-wise memory then takes its mask from the row's own tokens.
  const docId = (index: number | undefined): number | undefined => (index !== undefined && index >= 0 ? index : undefined);
  /** Runs `work` as a job of the queue `queue` (a model id), holding `locks` from its first slice to its end. */
  const job = <T>(ctx: CallContext, method: string, queue: string, work: (job: Job) => Promise<T>, locks: LockRequest[] = []): Promise<T> =>
    engine.run(
      {
        queue,
        queueLabel: `model "${queue}"`,
        client: clientOf(ctx),
        label: `${method} from ${clientOf(ctx)}`,
        signal: ctx.signal,
        deadline: ctx.deadline,
        locks,
      },
      work,
    );
  /**
   * The locks a call running the model's weights reads under: the model's (a full-parameter TrainStep writes it)
   * and `binding`'s memory's, when it uses one.
   */
  const reading = (held: HeldModel, binding: MemoryBinding = {}): LockRequest[] => [
    { lock: held.lock, mode: 'read' },
    ...(binding.memory ? [{ lock: binding.memory.lock, mode: 'read' as const }] : []),
  ];
  return {
    async loadModel(request, ctx) {
      validate.loadModel(request);
      let optimizerRestored = false;
      const prepare = (held: HeldModel) => {
        optimizerRestored = full.restore(held, request);
      };
      const { held, alreadyLoaded } = await job(ctx, 'LoadModel', request.modelId || request.path, (j) => models.load(request, j, prepare));
      return { model: models.info(held, engine.queueLength(held.id)), alreadyLoaded, optimizerRestored };
    },
    async listModels(request) {
      validate.listModels(request);
      return { models: models.list().map((m) => models.info(m, engine.queueLength(m.id))) };
    },
    async getModelInfo(request) {
      validate.getModelInfo(request);
      const held = models.get(request.modelId);
      return { model: models.info(held, engine.queueLength(held.id)) };
    },
    async unloadModel(request) {
      validate.unloadModel(request);
      const held = models.peek(request.modelId);
      // The model leaves the registry at once (no new call or memory can use it); it and each of its memories
      // are disposed once the calls using them have ended.
      const unloading = models.unload(held);
      const deletedMemories = await memories.deleteForModel(held.id);
      await unloading;
      prefixCache.drop(modelTag(held.id));
      return { deletedMemories };
    },
    async tokenize(request, ctx) {
      validate.tokenize(request);
      const held = models.get(request.modelId);
      return { rows: await job(ctx, 'Tokenize', held.id, (j) => models.tokenize(held, request.texts, request.addBos, j)) };
    },
    async detokenize(request, ctx) {
      const held = models.get(request.modelId);
      validate.detokenize(request, modelContext(held.model.config));
      return { texts: await job(ctx, 'Detokenize', held.id, (j) => models.detokenize(held, request.rows, j)) };
    },
    async score(request, ctx) {
      const held = models.get(request.modelId);
      validate.score(request, modelContext(held.model.config));
      const binding = resolveMemory(held, request.memory);
      const docIds = request.items.map((i) => docId(i.documentIndex));
      // Items sharing a context share its pass; prefixes shared with other items or earlier calls come from the
      // prefix cache (libs/lm scoreShared). The namespaces are taken once the locks are held: a TrainStep queued
      // before this call has run by then.
      const results = await job(
        ctx,
        'Score',
        held.id,
        (j) =>
          scoreShared(
            held.model,
            request.items.map((item) => ({ context: item.context, continuation: item.continuation })),
            {
              batchSize: request.batchSize || 8,
              sliceTokens: SLICE_TOKENS,
              hooks: binding.hooks,
              docIds,
              signal: j.signal,
              nextSlice: j.nextSlice,
              prefixCache,
              namespaces: request.items.map((item, i) => scoreNamespace(held, binding, docIds[i], item.context)),
              cacheTags: [modelTag(held.id), ...(binding.memory ? [memoryTag(binding.memory.serial)] : [])],
            },
          ),
        reading(held, binding),
      );
      return { scores: results.map((r, i) => ({ logprob: r.logprob, tokens: request.items[i].continuation.length, greedy: r.greedy })) };
    },
    async generate(request, send, ctx) {
      const held = models.get(request.modelId);
      validate.generate(request, modelContext(held.model.config));
      const maxNewTokens = request.maxNewTokens || 64;
      const binding = resolveMemory(held, request.memory);
      await job(
        ctx,
        'Generate',
        held.id,
        async (j) => {
          const prompt = request.promptIds.length > 0 ? request.promptIds : held.tokenizer.encode(request.prompt, { bos: true });
          // prompt_ids are checked by the validator; a text prompt's ids exist only now.
          if (request.promptIds.length === 0) checkIds(prompt, held.model.config.vocabSize, 'prompt');
          const decoder = new StreamDecoder(held.tokenizer, { prev: prompt[prompt.length - 1] });
          let text = '';
          let reason = modelHost.FinishReason.FINISH_REASON_LENGTH;
          try {
            const result = await generate(held.model, prompt, {
              maxNewTokens,
              temperature: request.temperature,
              topP: request.topP || 1,
              // A non-zero seed that is 0 modulo 2^32 seeds the sampler with 2^32 (xorshift's state must not be 0).
              seed: request.seed === 0n ? undefined : seed32(request.seed) || 2 ** 32,
              hooks: binding.hooks,
              docIds: [docId(request.documentIndex)],
              signal: j.signal,
              nextSlice: j.nextSlice,
              onToken: async (id) => {
                const piece = decoder.push(id);
                text += piece;
                // A slow reader's backpressure is waited for without holding the engine.
                await j.outside(send({ id, text: piece, finishReason: modelHost.FinishReason.FINISH_REASON_UNSPECIFIED }));
                if (request.stop.some((s) => s !== '' && text.includes(s))) throw new StopGeneration();
              },
            });
            if (result.stopReason === 'stop_token') reason = modelHost.FinishReason.FINISH_REASON_EOS;
          } catch (error) {
            if (!(error instanceof StopGeneration)) throw error;
            reason = modelHost.FinishReason.FINISH_REASON_STOP;
          }
          const last = { id: -1, text: reason === modelHost.FinishReason.FINISH_REASON_STOP ? '' : decoder.flush(), finishReason: reason };
          await j.outside(send(last));
        },
        reading(held, binding),
      );
    },
    async documentLoss(request, ctx) {
      const held = models.get(request.modelId);
      validate.documentLoss(request, modelContext(held.model.config));
      const binding = resolveMemory(held, request.memory);
      const result = await job(
        ctx,
        'DocumentLoss',
        held.id,
        (j) =>
          documentLosses(
            held.model,
            request.rows.map((r) => ({ ids: r.ids, docId: docId(r.documentIndex) })),
            { batchSize: request.batchSize || 8, sliceTokens: SLICE_TOKENS, hooks: binding.hooks, signal: j.signal, nextSlice: j.nextSlice },
          ),
        reading(held, binding),
      );
      return { rowLoss: result.rowLoss, rowTokens: result.rowTokens, loss: result.loss, tokens: BigInt(result.tokens) };
    },
    async createMemory(request, ctx) {
      validate.createMemory(request, contextOf(request.modelId));
      const held = models.get(request.modelId);
      return { memory: memories.info(await job(ctx, 'CreateMemory', held.id, async () => memories.create(request))) };
    },
    async listMemories(request) {
      validate.listMemories(request);
      return { memories: memories.list(request.modelId || undefined).map((m) => memories.info(m)) };
    },
    async getMemory(request) {
      validate.getMemory(request);
      const held = memories.get(request.memoryId);
      const sets = request.includeEntrySets ? (held.memory.entrySets() ?? []) : [];
      return { memory: memories.info(held), entrySets: sets.map((s, i) => ({ documentIndex: i, entries: [...s] })) };
    },
    async deleteMemory(request) {
      validate.deleteMemory(request);
      // Answers once the calls using it have ended and its tensors are freed.
      await memories.delete(request.memoryId);
      return {};
    },
    async saveMemory(request, ctx) {
      validate.saveMemory(request);
      const held = memories.get(request.memoryId);
      // Read-locked: the weights and the optimizer state written are of one version.
      return job(ctx, 'SaveMemory', held.modelId, () => memories.save(request), [{ lock: held.lock, mode: 'read' }]);
    },
    async saveModel(request, ctx) {
      validate.saveModel(request);
      const held = models.get(request.modelId);
      // Read-locked: the weights and the optimizer state written are of one version.
      return job(ctx, 'SaveModel', held.id, () => full.save(held, request), reading(held));
    },
    async loadMemory(request, ctx) {
      validate.loadMemory(request);
      const model = models.get(request.modelId);
      const { held, optimizerRestored } = await job(ctx, 'LoadMemory', model.id, () => memories.load(request));
      return { memory: memories.info(held), optimizerRestored };
    },
    async trainStep(request, ctx) {
      if (request.modelId) {
        validate.trainStep(request, contextOf(request.modelId));
        const model = models.get(request.modelId);
        // The model's lock alone: calls running its weights that arrived before it finish first, later ones wait.
        return job(
          ctx,
          'TrainStep',
          model.id,
          async (j) => {
            // The weights change: prefixes computed with them are stale.
            prefixCache.drop(modelTag(model.id));
            return full.trainStep(model, request, j);
          },
          [{ lock: model.lock, mode: 'write' }],
        );
      }
      validate.trainStep(request, contextOfMemory(request.memoryId));
      const held = memories.get(request.memoryId);
      const model = models.get(held.modelId);
      // Write-locked: it waits for the calls reading the memory that arrived before it, and those after wait for it.
      return job(ctx, 'TrainStep', held.modelId, (j) => memories.trainStep(request, j), [
        { lock: model.lock, mode: 'read' },
        { lock: held.lock, mode: 'write' },
      ]);
    },
  };
}

/** Where client paths resolve: models and tokenizers in `model`, memory files in `memory`. */
export interface ModelHostRoots {
  model: string;
  memory: string;
}

/** The engine's settings: how many calls each model's queue holds, and the Score prefix cache's byte budget. */
export interface ModelHostEngineOptions {
  queueDepth: number;
  /** Default DEFAULT_PREFIX_CACHE_BYTES; 0 turns prefix caching off (items sharing a context still share its pass). */
  prefixCacheBytes?: number;
}

export function modelHostService(
  logger: Logger,
  backend: BackendChoice,
  roots: ModelHostRoots,
  engineOptions: ModelHostEngineOptions = { queueDepth: DEFAULT_QUEUE_DEPTH },
): HostedService<Definition> {
  logger.info({ backend: backend.name, tfBackend: backend.tfBackend, rejected: backend.rejected }, 'tensor backend');
  logger.info({ modelRoot: roots.model, memoryRoot: roots.memory }, 'roots');
  const prefixCacheBytes = engineOptions.prefixCacheBytes ?? DEFAULT_PREFIX_CACHE_BYTES;
  logger.info({ queueDepth: engineOptions.queueDepth, prefixCacheBytes }, 'engine');
  return {
    serviceName: serviceNames.modelHost,
    definition: modelHost.ModelHostService,
    implementation: (() => {
      const models = new ModelRegistry(backend, roots.model);
      const engine = new Engine({ queueDepth: engineOptions.queueDepth, depthSetting: '--queue-depth' });
      return modelHostHandlers(models, new MemoryStore(models, roots.memory), engine, new PrefixCache({ budgetBytes: prefixCacheBytes }));
    })(),
    protoFile: protoFiles.modelHost,
  };
}
