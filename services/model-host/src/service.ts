import { modelHost, protoFiles, seed32, serviceNames } from '@memorize/contracts';
import { documentLoss, generate, scoreContinuations, StreamDecoder } from '@memorize/lm';
import { padRows } from '@memorize/memory';
import type { HostedService, Implementation, Logger } from '@memorize/service-kit';
import { tf, yieldToEventLoop, type BackendChoice } from '@memorize/tensor';
import { modelContext, validators, type ValidationContext } from '@memorize/validation';
import { MemoryStore, type MemoryBinding } from './memories.js';
import { checkIds, ModelRegistry, type HeldModel } from './models.js';

export type Definition = typeof modelHost.ModelHostService;
const validate = validators.modelHost;

class StopGeneration extends Error {}

/** ModelHost handlers: validate the request (libs/validation, against the model's context), call libs/lm. */
export function modelHostHandlers(models: ModelRegistry, memories: MemoryStore): Implementation<Definition> {
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
  return {
    async loadModel(request) {
      validate.loadModel(request);
      const { held, alreadyLoaded } = await models.load(request);
      return { model: models.info(held), alreadyLoaded };
    },
    async listModels(request) {
      validate.listModels(request);
      return { models: models.list().map((m) => models.info(m)) };
    },
    async getModelInfo(request) {
      validate.getModelInfo(request);
      return { model: models.info(models.get(request.modelId)) };
    },
    async unloadModel(request) {
      validate.unloadModel(request);
      models.get(request.modelId);
      const deletedMemories = memories.deleteForModel(request.modelId);
      models.unload(request.modelId);
      return { deletedMemories };
    },
    async tokenize(request, ctx) {
      validate.tokenize(request);
      const held = models.get(request.modelId);
      // In slices with the event loop yielded between them; stops when the call is cancelled.
      return { rows: await models.tokenize(held, request.texts, request.addBos, ctx.signal) };
    },
    async detokenize(request, ctx) {
      const held = models.get(request.modelId);
      validate.detokenize(request, modelContext(held.model.config));
      return { texts: await models.detokenize(held, request.rows, ctx.signal) };
    },
    async score(request) {
      const held = models.get(request.modelId);
      validate.score(request, modelContext(held.model.config));
      const binding = resolveMemory(held, request.memory);
      const results = await scoreContinuations(
        held.model,
        request.items.map((item) => ({ context: item.context, continuation: item.continuation })),
        {
          batchSize: request.batchSize || 8,
          hooks: binding.hooks,
          docIds: request.items.map((i) => docId(i.documentIndex)),
        },
      );
      return { scores: results.map((r, i) => ({ logprob: r.logprob, tokens: request.items[i].continuation.length, greedy: r.greedy })) };
    },
    async generate(request, send, ctx) {
      const held = models.get(request.modelId);
      validate.generate(request, modelContext(held.model.config));
      const maxNewTokens = request.maxNewTokens || 64;
      const prompt = request.promptIds.length > 0 ? request.promptIds : held.tokenizer.encode(request.prompt, { bos: true });
      // prompt_ids are checked by the validator; a text prompt's ids exist only now.
      if (request.promptIds.length === 0) checkIds(prompt, held.model.config.vocabSize, 'prompt');
      const binding = resolveMemory(held, request.memory);
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
          onToken: async (id) => {
            if (ctx.signal.aborted) throw ctx.signal.reason;
            const piece = decoder.push(id);
            text += piece;
            await send({ id, text: piece, finishReason: modelHost.FinishReason.FINISH_REASON_UNSPECIFIED });
            if (request.stop.some((s) => s !== '' && text.includes(s))) throw new StopGeneration();
          },
        });
        if (result.stopReason === 'stop_token') reason = modelHost.FinishReason.FINISH_REASON_EOS;
      } catch (error) {
        if (!(error instanceof StopGeneration)) throw error;
        reason = modelHost.FinishReason.FINISH_REASON_STOP;
      }
      await send({ id: -1, text: reason === modelHost.FinishReason.FINISH_REASON_STOP ? '' : decoder.flush(), finishReason: reason });
    },
    async documentLoss(request) {
      const held = models.get(request.modelId);
      validate.documentLoss(request, modelContext(held.model.config));
      const binding = resolveMemory(held, request.memory);
      const batchSize = request.batchSize || 8;
      const rowLoss: number[] = [];
      const rowTokens: number[] = [];
      for (let s = 0; s < request.rows.length; s += batchSize) {
        const batch = request.rows.slice(s, s + batchSize);
        const padded = padRows(batch.map((r) => ({ ids: r.ids, documentIndex: docId(r.documentIndex) })));
        const result = documentLoss(held.model, padded.tokens, { attentionMask: padded.attentionMask, hooks: binding.hooks, docIds: padded.docIds });
        const perRow = await result.perRow.data();
        tf.dispose([result.loss, result.perRow]);
        rowLoss.push(...perRow);
        rowTokens.push(...result.tokenCounts);
        await yieldToEventLoop();
      }
      const tokens = rowTokens.reduce((a, b) => a + b, 0);
      const loss = rowLoss.reduce((a, l, i) => a + l * rowTokens[i], 0) / tokens;
      return { rowLoss, rowTokens, loss, tokens: BigInt(tokens) };
    },
    async createMemory(request) {
      validate.createMemory(request, contextOf(request.modelId));
      return { memory: memories.info(memories.create(request)) };
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
      memories.delete(request.memoryId);
      return {};
    },
    async saveMemory(request) {
      validate.saveMemory(request);
      return memories.save(request);
    },
    async loadMemory(request) {
      validate.loadMemory(request);
      return { memory: memories.info(await memories.load(request)) };
    },
    async trainStep(request) {
      validate.trainStep(request, contextOfMemory(request.memoryId));
      return memories.trainStep(request);
    },
  };
}

/** Where client paths resolve: models and tokenizers in `model`, memory files in `memory`. */
export interface ModelHostRoots {
  model: string;
  memory: string;
}

export function modelHostService(logger: Logger, backend: BackendChoice, roots: ModelHostRoots): HostedService<Definition> {
  logger.info({ backend: backend.name, tfBackend: backend.tfBackend, rejected: backend.rejected }, 'tensor backend');
  logger.info({ modelRoot: roots.model, memoryRoot: roots.memory }, 'roots');
  return {
    serviceName: serviceNames.modelHost,
    definition: modelHost.ModelHostService,
    implementation: (() => {
      const models = new ModelRegistry(backend, roots.model);
      return modelHostHandlers(models, new MemoryStore(models, roots.memory));
    })(),
    protoFile: protoFiles.modelHost,
  };
}
