import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadModel, loadTokenizer, type Tokenizer, type TransformerModel } from '@memorize/lm';
import { InvalidArgumentError, NotFoundError, type BackendChoice } from '@memorize/tensor';
import type { modelHost } from '@memorize/contracts';

/** A base model held by the host with its tokenizer. */
export interface HeldModel {
  id: string;
  path: string;
  model: TransformerModel;
  tokenizer: Tokenizer;
}

/** Where a model's tokenizer is when the caller does not say: the HF folder, or tokenizer.bin / tok*.bin beside a .bin. */
export function defaultTokenizerPath(modelPath: string): string {
  if (statSync(modelPath).isDirectory()) return modelPath;
  const folder = dirname(modelPath);
  if (existsSync(join(folder, 'tokenizer.bin'))) return join(folder, 'tokenizer.bin');
  // llama2.c's small models ship their tokenizer as tok<vocab>.bin (e.g. stories260K + tok512.bin).
  const candidates = readdirSync(folder).filter((f) => /^tok.*\.bin$/.test(f));
  if (candidates.length === 1) return join(folder, candidates[0]);
  throw new InvalidArgumentError(`no tokenizer given and no tokenizer.bin (or a single tok*.bin) beside ${modelPath}`, 'tokenizer_path');
}

/** The base models loaded in this process, by id. Loading the same path twice returns the held model. */
export class ModelRegistry {
  private readonly models = new Map<string, HeldModel>();

  constructor(private readonly backend: BackendChoice) {}

  async load(request: modelHost.LoadModelRequest): Promise<{ held: HeldModel; alreadyLoaded: boolean }> {
    if (!request.path) throw new InvalidArgumentError('path is required (an HF folder or a llama2.c .bin)', 'path');
    const path = resolve(request.path);
    if (!existsSync(path)) throw new NotFoundError(`no such model: ${request.path}`, 'path');
    if (request.modelId && !/^[A-Za-z0-9._-]{1,128}$/.test(request.modelId)) {
      throw new InvalidArgumentError('model_id must match [A-Za-z0-9._-]{1,128}', 'model_id');
    }
    for (const held of this.models.values()) {
      if (held.path === path && (!request.modelId || request.modelId === held.id)) return { held, alreadyLoaded: true };
    }
    const model = loadModel(path);
    const tokenizer = await loadTokenizer(request.tokenizerPath ? resolve(request.tokenizerPath) : defaultTokenizerPath(path), {
      vocabSize: model.config.vocabSize,
    });
    const id = request.modelId || model.fingerprint.slice(0, 12);
    const existing = this.models.get(id);
    if (existing) {
      if (existing.model.fingerprint === model.fingerprint) return { held: existing, alreadyLoaded: true };
      throw new InvalidArgumentError(`model_id "${id}" already holds a different model (${existing.path})`, 'model_id');
    }
    const held = { id, path, model, tokenizer };
    this.models.set(id, held);
    return { held, alreadyLoaded: false };
  }

  get(id: string, field = 'model_id'): HeldModel {
    if (!id) throw new InvalidArgumentError(`${field} is required`, field);
    const held = this.models.get(id);
    if (!held) throw new NotFoundError(`no model "${id}" is loaded (LoadModel first)`, field);
    return held;
  }

  list(): HeldModel[] {
    return [...this.models.values()];
  }

  unload(id: string): HeldModel {
    const held = this.get(id);
    this.models.delete(id);
    held.model.dispose?.();
    return held;
  }

  info(held: HeldModel): modelHost.ModelInfo {
    const c = held.model.config;
    return {
      modelId: held.id,
      path: held.path,
      architecture: c.arch,
      vocabSize: c.vocabSize,
      hiddenSize: c.dim,
      layers: c.nLayers,
      heads: c.nHeads,
      kvHeads: c.nKvHeads,
      maxLength: c.maxSeqLen,
      fingerprint: held.model.fingerprint,
      parameters: held.model.parameterCount,
      backend: this.backend.tfBackend,
      bosId: held.tokenizer.bosId,
      eosId: held.tokenizer.eosId,
    };
  }
}

/** Checks every id of a row against the vocabulary, naming the offending field. */
export function checkIds(ids: readonly number[], vocabSize: number, field: string, minLength = 1): void {
  if (ids.length < minLength) throw new InvalidArgumentError(`${field} needs at least ${minLength} token(s)`, field);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new InvalidArgumentError(`${field}[${i}] = ${id} is outside the vocabulary [0, ${vocabSize})`, field);
    }
  }
}
