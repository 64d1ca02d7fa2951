import { AsyncLocalStorage } from 'node:async_hooks';
import {
  checkTokenIds,
  encodeBounded,
  HF_CONFIG_FIELDS,
  LLAMA2C_HEADER_FIELDS,
  loadModelInSlices,
  loadTokenizer,
  resolveTokenizerPath,
  type ConfigSource,
  type ModelConfig,
  type Tokenizer,
  type TransformerModel,
} from '@memorize/lm';
import { checkModelConfigLimits, type ModelBytes } from '@memorize/validation';
import { ByteBudgetCache, defaultCacheBytes, type Implementation } from '@memorize/service-kit';
import { checkFolderLinksInRoot, fileOrFolder, inClientTerms, resolveInRoot, shownInRoot, type ClientFile } from '@memorize/files';

export { checkTokenIds as checkIds };
import { RwLock, UseCount, type Release } from '@memorize/engine';
import type { FullTrainer } from '@memorize/memory';
import { betweenSlices, type BackendChoice, type SliceOptions } from '@memorize/tensor';
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
  /** Bytes of the weights (float32) and RoPE tables: what counts against --model-cache-bytes. */
  bytes: number;
  /** Calls using the model right now (see {@link withModelPins}); a model in use is never evicted or disposed. */
  uses: UseCount;
  /** Real path of the tokenizer it was loaded with (SaveModel copies it into the folder it writes). */
  tokenizerPath: string;
  /** The fingerprint of the weights as loaded; model.fingerprint moves on with full-parameter training. */
  loadedFingerprint: string;
  /**
   * Calls that run the weights (Score, Generate, DocumentLoss, memory TrainStep, SaveModel) share it; a
   * full-parameter TrainStep takes it alone, so no call sees the weights change under it.
   */
  lock: RwLock;
  /** The full-parameter trainer (variables and AdamW moments) once a full TrainStep ran or LoadModel restored one. */
  trainer?: FullTrainer;
  /** Its hyper-parameters (JSON), to notice when a request changes them. */
  trainerOptions?: string;
}

/** The call in progress (its method name) and the models it touched, each held until the call settles. */
interface CallScope {
  label: string;
  held: Map<HeldModel, Release>;
}
const callScope = new AsyncLocalStorage<CallScope>();

/**
 * Runs every handler of `implementation` in its own scope: each model the call looks up through
 * {@link ModelRegistry.get} is held (never evicted or disposed, so its tensors stay alive) until the call settles.
 */
export function withModelPins<D>(implementation: Implementation<D>): Implementation<D> {
  const wrapped: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(implementation)) {
    const fn = handler as (...args: unknown[]) => Promise<unknown>;
    const label = name.charAt(0).toUpperCase() + name.slice(1);
    wrapped[name] = (...args: unknown[]) => {
      const scope: CallScope = { label, held: new Map() };
      return callScope.run(scope, async () => {
        try {
          return await fn(...args);
        } finally {
          for (const release of scope.held.values()) release();
        }
      });
    };
  }
  return wrapped as Implementation<D>;
}

/**
 * Sane dimensions, and weights + RoPE tables within free memory, before the loader allocates anything:
 * INVALID_ARGUMENT naming the config field (max_position_embeddings, seq_len) and the file, or RESOURCE_EXHAUSTED.
 */
export function checkConfig(config: ModelConfig, source: ConfigSource): void {
  checkConfigBytes(config, source);
}

function checkConfigBytes(config: ModelConfig, source: ConfigSource): ModelBytes {
  return checkModelConfigLimits(config, { source: source.path, fields: source.format === 'hf' ? HF_CONFIG_FIELDS : LLAMA2C_HEADER_FIELDS });
}

/** A load in progress holds its bytes under a key no model id can take (ids match [A-Za-z0-9._-]). */
const reservationKey = (n: number): string => `\u0000loading ${n}`;

/**
 * The base models loaded in this process, by id. Loading the same path twice returns the held model. The held
 * models stay within a byte budget (--model-cache-bytes, weights and RoPE tables as the configuration says, checked
 * before anything is allocated): a load past it evicts the least recently used models that no call is using and
 * that nothing protects (see {@link protect}), or answers RESOURCE_EXHAUSTED when that cannot make room. Every call
 * naming a model counts as a use.
 */
export class ModelRegistry {
  /** Budget of new registries, bytes; model-host's main sets it from --model-cache-bytes. */
  static defaultBudgetBytes = defaultCacheBytes.modelCacheBytes;
  private readonly models: ByteBudgetCache<string, HeldModel | undefined>;
  private readonly protectors: Array<(id: string) => boolean> = [];
  private readonly evictListeners: Array<(held: HeldModel) => void> = [];
  private reservations = 0;

  /** `modelRoot`: every client model and tokenizer path resolves inside it (--model-root). */
  constructor(
    private readonly backend: BackendChoice,
    readonly modelRoot: string,
    budgetBytes = ModelRegistry.defaultBudgetBytes,
  ) {
    this.models = new ByteBudgetCache<string, HeldModel | undefined>({
      budgetBytes,
      budgetName: '--model-cache-bytes',
      noun: 'model',
      // Reservations of loads in progress have no model and are never evicted.
      // Nor is a model under full-parameter training: its trained weights and optimizer exist nowhere else.
      canEvict: (id, held) => held !== undefined && held.uses.count === 0 && !held.trainer && !this.protectors.some((p) => p(id)),
      onEvict: (_id, held) => {
        held!.model.dispose();
        for (const listener of this.evictListeners) listener(held!);
      },
    });
  }

  /** Keeps models for which `isProtected(id)` is true from eviction (e.g. models that memories are bound to). */
  protect(isProtected: (id: string) => boolean): void {
    this.protectors.push(isProtected);
  }

  /** Called after a model is evicted (its tensors already disposed). */
  onEvict(listener: (held: HeldModel) => void): void {
    this.evictListeners.push(listener);
  }

  /** Bytes held (and reserved by loads in progress) and the budget. */
  get usage(): { usedBytes: number; budgetBytes: number; models: number } {
    return { usedBytes: this.models.usedBytes, budgetBytes: this.models.budgetBytes, models: this.list().length };
  }

  /** A client path inside the model root: a regular file or a folder whose links stay inside the root. */
  private resolve(clientPath: string, field: string): ClientFile {
    const path = resolveInRoot(this.modelRoot, clientPath, field);
    if (fileOrFolder(path, field, { noFollow: true, shown: clientPath }) === 'folder') checkFolderLinksInRoot(this.modelRoot, path, field);
    return { field, client: clientPath, path };
  }

  private readonly loading = new Map<string, Promise<{ held: HeldModel; alreadyLoaded: boolean }>>();

  /**
   * LoadModel's work; `slices` lets the loader yield between tensors and stop when the call is cancelled. `prepare`
   * runs on a newly loaded model before any other call can see it (LoadModel restores the optimizer there); when it
   * throws, the model is disposed and the load fails.
   */
  async load(
    request: modelHost.LoadModelRequest,
    slices: SliceOptions = {},
    prepare?: (held: HeldModel) => void,
  ): Promise<{ held: HeldModel; alreadyLoaded: boolean }> {
    const path = this.resolve(request.path, 'path').path;
    for (const held of this.list()) {
      // A model trained since its load no longer is that checkpoint.
      const pristine = held.model.fingerprint === held.loadedFingerprint;
      if (held.path === path && pristine && (!request.modelId || request.modelId === held.id)) return { held, alreadyLoaded: true };
    }
    // Concurrent loads of the same path and name share one load instead of reading the weights twice.
    const key = `${path}\u0000${request.modelId}`;
    const pending = this.loading.get(key);
    if (pending) return { ...(await pending), alreadyLoaded: true };
    const load = this.loadNew(path, request, slices, prepare).finally(() => this.loading.delete(key));
    this.loading.set(key, load);
    return load;
  }

  private async loadNew(
    path: string,
    request: modelHost.LoadModelRequest,
    slices: SliceOptions,
    prepare?: (held: HeldModel) => void,
  ): Promise<{ held: HeldModel; alreadyLoaded: boolean }> {
    const root = this.modelRoot;
    const modelFile: ClientFile = { field: 'path', client: request.path, path };
    // Limits, then room in the budget (evicting if needed) before the loader allocates anything.
    const reservation = reservationKey(this.reservations++);
    let bytes: ModelBytes | undefined;
    const reserve = (config: ModelConfig, source: ConfigSource): void => {
      bytes = checkConfigBytes(config, source);
      this.models.reserve(bytes.weightAndRopeBytes);
      this.models.set(reservation, undefined, bytes.weightAndRopeBytes);
    };
    let model: TransformerModel;
    try {
      // One block per slice: health answers while a large checkpoint loads, and a cancelled load frees what it made.
      model = await inClientTerms(root, [modelFile], () => loadModelInSlices(path, { checkConfig: reserve, ...slices }));
    } finally {
      this.models.delete(reservation);
    }
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
      const existing = this.models.peek(id);
      if (existing) {
        if (existing.model.fingerprint !== model.fingerprint) {
          const trained = existing.model.fingerprint !== existing.loadedFingerprint ? ', trained since its load' : '';
          throw new InvalidArgumentError(`model_id "${id}" already holds a different model (${existing.shown}${trained})`, 'model_id');
        }
        model.dispose();
        return { held: existing, alreadyLoaded: true };
      }
      const held: HeldModel = {
        id,
        path,
        shown: shownInRoot(root, path),
        model,
        tokenizer,
        bytes: bytes!.weightAndRopeBytes,
        uses: new UseCount(),
        tokenizerPath: tokenizerFile.path,
        loadedFingerprint: model.fingerprint,
        lock: new RwLock(),
      };
      prepare?.(held);
      // The reservation was just released: this takes its place (a concurrent load may have pushed the total over).
      this.models.set(id, held, held.bytes);
      return { held, alreadyLoaded: false };
    } catch (error) {
      model.dispose();
      throw error;
    }
  }

  get(id: string, field = 'model_id'): HeldModel {
    if (!id) throw new InvalidArgumentError(`${field} is required`, field);
    const held = this.models.get(id);
    if (!held) {
      if (this.models.wasEvicted(id)) {
        throw new NotFoundError(
          `model "${id}" was evicted to make room for other models (--model-cache-bytes ${this.models.budgetBytes}); LoadModel it again`,
          field,
        );
      }
      throw new NotFoundError(`no model "${id}" is loaded (LoadModel first)`, field);
    }
    // Held until the current call ends (when the handlers run under withModelPins).
    const scope = callScope.getStore();
    if (scope && !scope.held.has(held)) scope.held.set(held, held.uses.acquire(scope.label));
    return held;
  }

  /** Held models, least recently used first. */
  list(): HeldModel[] {
    return this.models.values().filter((held): held is HeldModel => held !== undefined);
  }

  /** The held model, without counting a use or holding it (for UnloadModel). */
  peek(id: string, field = 'model_id'): HeldModel {
    if (!id) throw new InvalidArgumentError(`${field} is required`, field);
    const held = this.models.peek(id);
    if (!held) throw new NotFoundError(`no model "${id}" is loaded`, field);
    return held;
  }

  /**
   * Removes the model at once (new calls naming it answer NOT_FOUND), waits until the calls using it have ended,
   * then disposes every tensor it holds (weights; its RoPE tables are plain arrays, freed by GC). A call that is
   * itself holding the model must not unload it.
   */
  async unload(held: HeldModel): Promise<void> {
    if (this.models.peek(held.id) === held) this.models.delete(held.id);
    await held.uses.whenUnused();
    held.trainer?.dispose();
    held.model.dispose();
  }

  /** Tokenize's work: each text in slices of ~10 ms (see SliceOptions), stopping when `slices.signal` aborts. */
  async tokenize(
    held: HeldModel,
    texts: string[],
    bos: boolean,
    slices: SliceOptions = {},
  ): Promise<Array<{ ids: number[]; documentIndex: number; weights: number[] }>> {
    const rows: Array<{ ids: number[]; documentIndex: number; weights: number[] }> = [];
    for (const text of texts) rows.push({ ids: await encodeBounded(held.tokenizer, text, { bos }, slices), documentIndex: -1, weights: [] });
    return rows;
  }

  /**
   * Detokenize's work: row by row, a slice ending whenever it has run 10 ms (see SliceOptions), stopping when
   * `slices.signal` aborts. (One row decodes in one piece: a decoder's output for a cut row can differ at the cut.)
   */
  async detokenize(held: HeldModel, rows: ReadonlyArray<{ ids: number[] }>, slices: SliceOptions = {}): Promise<string[]> {
    const texts: string[] = [];
    let sliceStart = performance.now();
    for (const row of rows) {
      texts.push(held.tokenizer.decode(row.ids));
      if (performance.now() - sliceStart >= 10) {
        await betweenSlices(slices);
        sliceStart = performance.now();
      }
    }
    return texts;
  }

  /** The model as clients see it; `queuedCalls` is its queue's length in the engine now. */
  info(held: HeldModel, queuedCalls = 0): modelHost.ModelInfo {
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
      // tfjs's name, or ours where it says more (wasm-blas runs on tfjs's wasm backend).
      backend: this.backend.name === 'wasm-blas' ? 'wasm-blas' : this.backend.tfBackend,
      bosId: held.tokenizer.bosId,
      eosId: held.tokenizer.eosId,
      queuedCalls,
    };
  }
}
