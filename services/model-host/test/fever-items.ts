/**
 * The Score workload of the evaluator, in-process: Score items of @memorize/testing's FEVER prompts (the evaluator's
 * prompts and options), FEVER pages as memory documents, and the handlers of one host.
 */
import { Metadata } from '@grpc/grpc-js';
import { modelHost } from '@memorize/contracts';
import { Engine } from '@memorize/engine';
import type { PrefixCache, Tokenizer } from '@memorize/lm';
import type { CallContext, Implementation } from '@memorize/service-kit';
import { feverFiles, jsonlPageTexts, type FeverPrompt } from '@memorize/testing';
import { MemoryStore } from '../src/memories.js';
import { ModelRegistry, withModelPins } from '../src/models.js';
import { modelHostHandlers, type Definition } from '../src/service.js';

/** Three Score items per prompt, in prompt order; `documentIndex(p)` names the prompt's page (default none). */
export function scoreItems(prompts: readonly FeverPrompt[], documentIndex: (p: number) => number = () => -1): modelHost.ScoreItem[] {
  return prompts.flatMap((p, i) =>
    p.options.map((continuation) => modelHost.ScoreItem.fromPartial({ context: p.context, continuation, documentIndex: documentIndex(i) })),
  );
}

/** Token windows of the first `pages` FEVER evidence pages (BOS first), as CreateMemory documents. */
export function pageDocuments(tokenizer: Tokenizer, pages: number, length: number): modelHost.MemoryDocument[] {
  return jsonlPageTexts(feverFiles.pages)
    .slice(0, pages)
    .map((text, documentIndex) =>
      modelHost.MemoryDocument.fromPartial({ documentIndex, ids: tokenizer.encode(text, { bos: true }).slice(0, length) }),
    );
}

export type Handlers = Required<Implementation<Definition>>;

/** A CallContext as the server builds one (no deadline). */
export function callContext(signal: AbortSignal = new AbortController().signal): CallContext {
  const noop = () => {};
  const logger = { info: noop, warn: noop, error: noop, debug: noop, child: () => logger } as unknown as CallContext['logger'];
  return { signal, deadline: null, peer: 'test', metadata: new Metadata(), logger };
}

/** One host's registry, memories and engine, with handlers over `caches` (one handler set per prefix cache). */
export function host(backend: ConstructorParameters<typeof ModelRegistry>[0], modelRoot: string, memoryRoot: string, caches: PrefixCache[]) {
  const models = new ModelRegistry(backend, modelRoot);
  const memories = new MemoryStore(models, memoryRoot);
  const engine = new Engine({ queueDepth: 64, depthSetting: '--queue-depth' });
  return { models, memories, handlers: caches.map((c) => withModelPins(modelHostHandlers(models, memories, engine, c)) as Handlers) };
}
