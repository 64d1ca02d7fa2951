/** Building memories for a base model and a corpus. */
import type { TransformerModel } from '@memorize/lm';
import { InvalidArgumentError } from '@memorize/errors';
import { kindLabel, resolveMemoryConfig, type MemoryConfig, type ResolvedMemoryConfig } from './config.js';
import { deriveSeed } from './hash.js';
import type { DocumentTokens } from './kind.js';
import { initMlp } from './mlp.js';
import { MemoryModule } from './module.js';
import { kindDefinition } from './registry.js';

export interface CreateMemoryOptions {
  /** Width d of the base model's residual stream. */
  dim: number;
  /** Base model block count (validates layer). */
  nLayers?: number;
  /** The corpus; document-wise kinds derive entry sets / keys from it. */
  documents?: readonly DocumentTokens[];
  /** Fingerprint of the base model; recorded in files so other models refuse them. */
  baseFingerprint?: string;
}

/** Resolves and validates a config for a kind (generic ranges, then the kind's own rules). */
export function validateMemoryConfig(config: MemoryConfig, nLayers?: number): ResolvedMemoryConfig {
  const c = resolveMemoryConfig(config, nLayers);
  const def = kindDefinition(c.kind);
  if (!def.modes.includes(c.mode)) {
    throw new InvalidArgumentError(`${kindLabel(c)} supports mode ${def.modes.join('|')}, got ${c.mode}`, 'mode');
  }
  def.validate?.(c);
  return c;
}

export function createMemory(config: MemoryConfig, options: CreateMemoryOptions): MemoryModule {
  const c = validateMemoryConfig(config, options.nLayers);
  if (!Number.isInteger(options.dim) || options.dim < 1) throw new InvalidArgumentError(`dim must be a positive integer, got ${options.dim}`, 'dim');
  const def = kindDefinition(c.kind);
  const documents = options.documents ?? [];
  if (def.documentWise && documents.length === 0) {
    throw new InvalidArgumentError(`${kindLabel(c)} is document-wise: give the corpus documents`, 'documents');
  }
  const mlp = initMlp({ d: options.dim, m: c.entries, layerNorm: c.layerNorm, gate: c.gate }, deriveSeed(c.seed, 'mlp/init'), {
    gateInit: c.gateInit,
    zeroInitDown: c.zeroInitDown,
    upBiasInit: c.upBiasInit,
  });
  const masker = def.createMasker?.(c, documents);
  const infos = documents.map((d, i) => ({ id: d.id ?? String(i), length: d.tokens.length }));
  return new MemoryModule(c, options.dim, mlp, masker, infos, options.baseFingerprint);
}

/** createMemory for a loaded model: its width, depth and fingerprint. */
export function createMemoryFor(model: TransformerModel, config: MemoryConfig, documents: readonly DocumentTokens[] = []): MemoryModule {
  return createMemory(config, { dim: model.config.dim, nLayers: model.config.nLayers, documents, baseFingerprint: model.fingerprint });
}
