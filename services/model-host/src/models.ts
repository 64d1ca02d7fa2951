import {
  checkTokenIds,
  loadModel,
  loadTokenizer,
  resolveTokenizerPath,
  type ConfigSource,
  type ModelConfig,
  type Tokenizer,
  type TransformerModel,
} from '@memorize/lm';
import { checkModelConfigLimits, HF_CONFIG_FIELDS, LLAMA2C_CONFIG_FIELDS } from '@memorize/validation';
import { checkFolderLinksInRoot, fileOrFolder, inClientTerms, resolveInRoot, shownInRoot, type ClientFile } from '@memorize/files';

export { checkTokenIds as checkIds };
import { type BackendChoice } from '@memorize/tensor';
import { InvalidArgumentError, NotFoundError } from '@memorize/errors';
import type { modelHost } from '@memorize/contracts';

/** A base model held by the host with its tokenizer. */
export interface HeldModel {
  id: string;
  /** Real path on the host (identity of the checkpoint). */
  path: string;
  /** The path relative to the model root, as reported to clients. */
  shown: string;
  model: TransformerModel;
  tokenizer: Tokenizer;
}

/**
 * Sane dimensions, and weights + RoPE tables within free memory, before the loader allocates anything:
 * INVALID_ARGUMENT naming the config field (max_position_embeddings, seq_len) and the file, or RESOURCE_EXHAUSTED.
 */
export function checkConfig(config: ModelConfig, source: ConfigSource): void {
  checkModelConfigLimits(config, { source: source.path, fields: source.format === 'hf' ? HF_CONFIG_FIELDS : LLAMA2C_CONFIG_FIELDS });
}

/** The base models loaded in this process, by id. Loading the same path twice returns the held model. */
export class ModelRegistry {
  private readonly models = new Map<string, HeldModel>();

  /** `modelRoot`: every client model and tokenizer path resolves inside it (--model-root). */
  constructor(
    private readonly backend: BackendChoice,
    readonly modelRoot: string,
  ) {}

  /** A client path inside the model root: a regular file or a folder whose links stay inside the root. */
  private resolve(clientPath: string, field: string): ClientFile {
    const path = resolveInRoot(this.modelRoot, clientPath, field);
    if (fileOrFolder(path, field, { noFollow: true, shown: clientPath }) === 'folder') checkFolderLinksInRoot(this.modelRoot, path, field);
    return { field, client: clientPath, path };
  }

  private readonly loading = new Map<string, Promise<{ held: HeldModel; alreadyLoaded: boolean }>>();

  async load(request: modelHost.LoadModelRequest): Promise<{ held: HeldModel; alreadyLoaded: boolean }> {
    const path = this.resolve(request.path, 'path').path;
    for (const held of this.models.values()) {
      if (held.path === path && (!request.modelId || request.modelId === held.id)) return { held, alreadyLoaded: true };
    }
    // Concurrent loads of the same path and name share one load instead of reading the weights twice.
    const key = `${path}\u0000${request.modelId}`;
    const pending = this.loading.get(key);
    if (pending) return { ...(await pending), alreadyLoaded: true };
    const load = this.loadNew(path, request).finally(() => this.loading.delete(key));
    this.loading.set(key, load);
    return load;
  }

  private async loadNew(path: string, request: modelHost.LoadModelRequest): Promise<{ held: HeldModel; alreadyLoaded: boolean }> {
    const root = this.modelRoot;
    const modelFile: ClientFile = { field: 'path', client: request.path, path };
    const model = await inClientTerms(root, [modelFile], () => loadModel(path, { checkConfig }));
    try {
      // An explicit tokenizer_path, or the one beside the model (which must be inside the root too).
      const tokenizerFile = request.tokenizerPath
        ? this.resolve(request.tokenizerPath, 'tokenizer_path')
        : await inClientTerms(root, [modelFile], () => {
            const beside = resolveTokenizerPath(path);
            return this.resolve(shownInRoot(root, beside), 'path');
          });
      const tokenizer = await inClientTerms(root, [tokenizerFile], () => loadTokenizer(tokenizerFile.path, { vocabSize: model.config.vocabSize }));
      const id = request.modelId || model.fingerprint.slice(0, 12);
      const existing = this.models.get(id);
      if (existing) {
        if (existing.model.fingerprint !== model.fingerprint) {
          throw new InvalidArgumentError(`model_id "${id}" already holds a different model (${existing.shown})`, 'model_id');
        }
        model.dispose();
        return { held: existing, alreadyLoaded: true };
      }
      const held = { id, path, shown: shownInRoot(root, path), model, tokenizer };
      this.models.set(id, held);
      return { held, alreadyLoaded: false };
    } catch (error) {
      model.dispose();
      throw error;
    }
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
    held.model.dispose();
    return held;
  }

  info(held: HeldModel): modelHost.ModelInfo {
    const c = held.model.config;
    return {
      modelId: held.id,
      path: held.shown,
      architecture: c.arch,
      vocabSize: c.vocabSize,
      hiddenSize: c.dim,
      layers: c.nLayers,
      heads: c.nHeads,
      kvHeads: c.nKvHeads,
      maxLength: c.maxSeqLen,
      fingerprint: held.model.fingerprint,
      parameters: BigInt(held.model.parameterCount),
      backend: this.backend.tfBackend,
      bosId: held.tokenizer.bosId,
      eosId: held.tokenizer.eosId,
    };
  }
}
