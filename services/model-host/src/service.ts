import { modelHost, protoFiles, serviceNames } from '@memorize/contracts';
import { documentLoss, generate, scoreContinuations, StreamDecoder, type LayerHook } from '@memorize/lm';
import type { HostedService, Implementation, Logger } from '@memorize/service-kit';
import { InvalidArgumentError, NotFoundError, tf, type BackendChoice } from '@memorize/tensor';
import { checkIds, ModelRegistry, type HeldModel } from './models.js';

export type Definition = typeof modelHost.ModelHostService;

const maxScoreItems = 4096;

/** Hooks and per-row document ids for a request's memory selection. */
export interface MemoryBinding {
  hooks?: ReadonlyMap<number, LayerHook>;
}

/** Resolves MemorySelection to hooks; memories plug in here (none = the pretrained model). */
export type MemoryResolver = (held: HeldModel, selection: modelHost.MemorySelection | undefined) => MemoryBinding;

const noMemories: MemoryResolver = (_held, selection) => {
  if (selection?.memoryId) throw new NotFoundError(`no memory "${selection.memoryId}"`, 'memory.memory_id');
  return {};
};

function positive(value: number, fallback: number, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (value === 0) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) throw new InvalidArgumentError(`${field} must be in 1..${max}`, field);
  return value;
}

/** Pads rows to one length; the mask marks real tokens. */
function padRows(rows: readonly (readonly number[])[], padId = 0): { tokens: number[][]; mask: number[][] } {
  const t = Math.max(...rows.map((r) => r.length));
  return {
    tokens: rows.map((r) => [...r, ...new Array(t - r.length).fill(padId)]),
    mask: rows.map((r) => [...r.map(() => 1), ...new Array(t - r.length).fill(0)]),
  };
}

class StopGeneration extends Error {}

/** ModelHost handlers: translate requests, validate ids, call libs/lm. */
export function modelHostHandlers(models: ModelRegistry, resolveMemory: MemoryResolver = noMemories): Implementation<Definition> {
  return {
    async loadModel(request) {
      const { held, alreadyLoaded } = await models.load(request);
      return { model: models.info(held), alreadyLoaded };
    },
    async listModels() {
      return { models: models.list().map((m) => models.info(m)) };
    },
    async getModelInfo(request) {
      return { model: models.info(models.get(request.modelId)) };
    },
    async unloadModel(request) {
      models.unload(request.modelId);
      return { deletedMemories: [] };
    },
    async tokenize(request) {
      const held = models.get(request.modelId);
      return { rows: request.texts.map((text) => ({ ids: held.tokenizer.encode(text, { bos: request.addBos }), documentIndex: -1 })) };
    },
    async detokenize(request) {
      const held = models.get(request.modelId);
      return {
        texts: request.rows.map((row, i) => {
          checkIds(row.ids, held.model.config.vocabSize, `rows[${i}].ids`, 0);
          return held.tokenizer.decode(row.ids);
        }),
      };
    },
    async score(request) {
      const held = models.get(request.modelId);
      if (request.items.length === 0) throw new InvalidArgumentError('items must not be empty', 'items');
      if (request.items.length > maxScoreItems) throw new InvalidArgumentError(`at most ${maxScoreItems} items per request`, 'items');
      const vocab = held.model.config.vocabSize;
      request.items.forEach((item, i) => {
        checkIds(item.context, vocab, `items[${i}].context`);
        checkIds(item.continuation, vocab, `items[${i}].continuation`);
      });
      const binding = resolveMemory(held, request.memory);
      const results = await scoreContinuations(
        held.model,
        request.items.map((item) => ({ context: item.context, continuation: item.continuation })),
        { batchSize: positive(request.batchSize, 8, 'batch_size', 256), hooks: binding.hooks, docIds: request.items.map((i) => i.documentIndex) },
      );
      return { scores: results.map((r, i) => ({ logprob: r.logprob, tokens: request.items[i].continuation.length, greedy: r.greedy })) };
    },
    async generate(request, send, ctx) {
      const held = models.get(request.modelId);
      const maxNewTokens = positive(request.maxNewTokens, 64, 'max_new_tokens', 4096);
      if (request.temperature < 0 || !Number.isFinite(request.temperature)) throw new InvalidArgumentError('temperature must be >= 0', 'temperature');
      if (request.topP < 0 || request.topP > 1) throw new InvalidArgumentError('top_p must be in (0, 1]', 'top_p');
      const prompt = request.promptIds.length > 0 ? request.promptIds : held.tokenizer.encode(request.prompt, { bos: true });
      checkIds(prompt, held.model.config.vocabSize, request.promptIds.length > 0 ? 'prompt_ids' : 'prompt');
      const binding = resolveMemory(held, request.memory);
      const decoder = new StreamDecoder(held.tokenizer, { prev: prompt[prompt.length - 1] });
      let text = '';
      let pending: Promise<void> = Promise.resolve();
      let stopped = false;
      try {
        const result = await generate(held.model, prompt, {
          maxNewTokens,
          temperature: request.temperature,
          topP: request.topP || 1,
          seed: request.seed === 0 ? undefined : request.seed,
          hooks: binding.hooks,
          docIds: [request.documentIndex],
          onToken: (id) => {
            if (ctx.signal.aborted) throw ctx.signal.reason;
            const piece = decoder.push(id);
            text += piece;
            pending = pending.then(() => send({ id, text: piece, finishReason: 0 }));
            if (request.stop.some((s) => s !== '' && text.includes(s))) throw new StopGeneration();
          },
        });
        await pending;
        const reason = result.stopReason === 'stop_token' ? modelHost.FinishReason.FINISH_REASON_EOS : modelHost.FinishReason.FINISH_REASON_LENGTH;
        await send({ id: -1, text: decoder.flush(), finishReason: reason });
      } catch (error) {
        if (!(error instanceof StopGeneration)) throw error;
        stopped = true;
      }
      if (stopped) {
        await pending;
        await send({ id: -1, text: '', finishReason: modelHost.FinishReason.FINISH_REASON_STOP });
      }
    },
    async documentLoss(request) {
      const held = models.get(request.modelId);
      if (request.rows.length === 0) throw new InvalidArgumentError('rows must not be empty', 'rows');
      request.rows.forEach((row, i) => checkIds(row.ids, held.model.config.vocabSize, `rows[${i}].ids`, 2));
      const binding = resolveMemory(held, request.memory);
      const batchSize = positive(request.batchSize, 8, 'batch_size', 256);
      const rowLoss: number[] = [];
      const rowTokens: number[] = [];
      for (let s = 0; s < request.rows.length; s += batchSize) {
        const batch = request.rows.slice(s, s + batchSize);
        const { tokens, mask } = padRows(batch.map((r) => r.ids));
        const result = documentLoss(held.model, tokens, { attentionMask: mask, hooks: binding.hooks, docIds: batch.map((r) => r.documentIndex) });
        const perRow = await result.perRow.data();
        tf.dispose([result.loss, result.perRow]);
        rowLoss.push(...perRow);
        rowTokens.push(...result.tokenCounts);
      }
      const tokens = rowTokens.reduce((a, b) => a + b, 0);
      const loss = rowLoss.reduce((a, l, i) => a + l * rowTokens[i], 0) / tokens;
      return { rowLoss, rowTokens, loss, tokens };
    },
  };
}

export function modelHostService(logger: Logger, backend: BackendChoice, resolveMemory?: MemoryResolver): HostedService<Definition> {
  logger.info({ backend: backend.name, tfBackend: backend.tfBackend, rejected: backend.rejected }, 'tensor backend');
  return {
    serviceName: serviceNames.modelHost,
    definition: modelHost.ModelHostService,
    implementation: modelHostHandlers(new ModelRegistry(backend), resolveMemory),
    protoFile: protoFiles.modelHost,
  };
}
