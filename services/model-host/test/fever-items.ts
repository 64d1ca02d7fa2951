/**
 * The Score workload the evaluator sends, in-process: FEVER 1-shot prompts (libs/fever's buildPrompt, the next
 * claim of paper_test.jsonl as the shot), the context tokenized BOS first, and the candidates " (a)", " (b)",
 * " (c)" tokenized as prompt + option with the prompt's tokens stripped; plus the handlers of one host.
 */
import { readFileSync } from 'node:fs';
import { Metadata } from '@grpc/grpc-js';
import { modelHost } from '@memorize/contracts';
import { Engine } from '@memorize/engine';
import { buildPrompt, isLabel, type Label } from '@memorize/fever';
import type { PrefixCache, Tokenizer } from '@memorize/lm';
import type { CallContext, Implementation } from '@memorize/service-kit';
import { feverFiles, jsonlPageTexts } from '@memorize/testing';
import { MemoryStore } from '../src/memories.js';
import { ModelRegistry, withModelPins } from '../src/models.js';
import { modelHostHandlers, type Definition } from '../src/service.js';

export interface FeverPrompt {
  claimId: number;
  label: Label;
  context: number[];
  options: number[][];
}

export function feverPrompts(tokenizer: Tokenizer, n: number): FeverPrompt[] {
  const lines = readFileSync(feverFiles.claims, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, n + 1)
    .map((l) => JSON.parse(l) as { id: number; claim: string; label: string });
  return lines.slice(0, n).map((test, i) => {
    const shot = lines[i + 1];
    if (!isLabel(test.label) || !isLabel(shot.label)) throw new Error(`claim ${test.id}: bad label`);
    const text = buildPrompt([{ claim: shot.claim, label: shot.label }], test.claim);
    const context = tokenizer.encode(text, { bos: true });
    const options = [' (a)', ' (b)', ' (c)'].map((o) => {
      const all = tokenizer.encode(text + o, { bos: true });
      let k = 0;
      while (k < context.length && all[k] === context[k]) k++;
      return all.slice(k);
    });
    return { claimId: test.id, label: test.label, context, options };
  });
}

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
