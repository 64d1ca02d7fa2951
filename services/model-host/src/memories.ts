import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { common, seed32, type modelHost } from '@memorize/contracts';
import { checkOverwrite, checkRegularFile, fsError, inClientTerms, resolveInRoot, shownInRoot } from '@memorize/files';
import {
  baseInfo,
  createMemoryFor,
  isMemorizeFile,
  lmLoss,
  loadMemory,
  sampleAnchorRows,
  MemoryTrainer,
  saveMemory,
  TRAINING_DEFAULTS,
  type MaskSource,
  type MemoryConfig,
  type MemoryModule,
  type FullTrainerOptions,
  type TrainerOptions,
} from '@memorize/memory';
import type { LayerHook } from '@memorize/lm';
import { tf } from '@memorize/tensor';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '@memorize/errors';
import type { HeldModel, ModelRegistry } from './models.js';
import { RwLock } from '@memorize/engine';
import type { SliceOptions } from '@memorize/tensor';

/** The hooks a request's memory selection adds to the forward pass (none = the pretrained model). */
export interface MemoryBinding {
  hooks?: ReadonlyMap<number, LayerHook>;
  /** The memory selected: its lock is read-held for the whole call, so every row sees one version. */
  memory?: HeldMemory;
  /** The selection's mask source (undefined = each row's kind default). */
  maskSource?: MaskSource;
}

/** A memory held by the host, attached to one base model, with its optimizer once trained. */
export interface HeldMemory {
  id: string;
  modelId: string;
  memory: MemoryModule;
  trainer?: MemoryTrainer;
  trainerOptions?: string;
  /** Base-model samples for the anchor term, drawn once when first asked for. */
  anchors?: number[][];
  /**
   * Readers (Score, DocumentLoss, Generate, SaveMemory) share it for their whole call; TrainStep and the disposal
   * of a deleted or replaced memory take it alone — so no call sees a memory change mid-call or a disposed tensor.
   */
  lock: RwLock;
  /** Unique per memory object in this process: a memory loaded or replaced under the same id gets a new one. */
  serial: number;
  /** Bumped by every TrainStep that changes the weights. */
  version: number;
}

let serials = 0;

const kindFromProto: Record<number, MemoryConfig['kind'] | undefined> = {
  [common.MemoryKind.MEMORY_KIND_MEMORY]: 'memory',
  [common.MemoryKind.MEMORY_KIND_DLP]: 'dlp',
  [common.MemoryKind.MEMORY_KIND_SIMSET]: 'simset',
  [common.MemoryKind.MEMORY_KIND_RANDOM]: 'random',
  [common.MemoryKind.MEMORY_KIND_DOC_KEY]: 'doc-key',
};
const kindToProto = Object.fromEntries(Object.entries(kindFromProto).map(([k, v]) => [v, Number(k)])) as Record<string, common.MemoryKind>;

const maskSourceFromProto: Record<number, MaskSource | undefined> = {
  [common.MaskSource.MASK_SOURCE_UNSPECIFIED]: undefined,
  [common.MaskSource.MASK_SOURCE_ORACLE]: 'oracle',
  [common.MaskSource.MASK_SOURCE_CONTEXT]: 'context',
  [common.MaskSource.MASK_SOURCE_ALL]: 'all',
  [common.MaskSource.MASK_SOURCE_NONE]: 'none',
};

function pick<T>(value: number, table: Record<number, T>, fallback: T, field: string): T {
  if (value === 0) return fallback;
  if (!(value in table)) throw new InvalidArgumentError(`${field} has an unknown value ${value}`, field);
  return table[value];
}

/** Proto MemoryConfig -> libs/memory MemoryConfig; unset fields keep the library's (reference) defaults. */
export function memoryConfigFromProto(c: common.MemoryConfig | undefined): MemoryConfig {
  if (!c) throw new InvalidArgumentError('config is required', 'config');
  const kind = kindFromProto[c.kind];
  if (!kind) throw new InvalidArgumentError('config.kind must be one of memory, dlp, simset, random, doc-key', 'config.kind');
  const config: MemoryConfig = { kind, layer: c.layer };
  if (c.entries) config.entries = c.entries;
  if (c.mode) config.mode = pick(c.mode, { 1: 'dim', 2: 'token' } as Record<number, 'dim' | 'token'>, 'dim', 'config.mode');
  if (c.shingleK) config.shingleK = c.shingleK;
  if (c.alpha !== undefined) config.alpha = c.alpha;
  if (c.seed) config.seed = seed32(c.seed);
  if (c.layerNorm !== undefined) config.layerNorm = c.layerNorm;
  if (c.gate !== undefined) config.gate = c.gate;
  if (c.gelu) config.gelu = pick(c.gelu, { 1: 'erf', 2: 'tanh' } as Record<number, 'erf' | 'tanh'>, 'erf', 'config.gelu');
  if (c.setProbability) config.setProbability = c.setProbability;
  if (c.keyDim) config.keyDim = c.keyDim;
  if (c.keyGenerator)
    config.keyGenerator = pick(
      c.keyGenerator,
      { 1: 'linear', 2: 'nonlinear' } as Record<number, 'linear' | 'nonlinear'>,
      'linear',
      'config.key_generator',
    );
  if (c.keyActivation)
    config.keyActivation = pick(
      c.keyActivation,
      { 1: 'tanh', 2: 'relu', 3: 'sigmoid' } as Record<number, 'tanh' | 'relu' | 'sigmoid'>,
      'sigmoid',
      'config.key_activation',
    );
  if (c.guidanceWeight !== undefined) config.guidanceWeight = c.guidanceWeight;
  if (c.guidanceMargin !== undefined) config.guidanceMargin = c.guidanceMargin;
  if (c.gateInit !== undefined) config.gateInit = c.gateInit;
  if (c.zeroInitDown) config.zeroInitDown = true;
  if (c.upBiasInit !== undefined) config.upBiasInit = c.upBiasInit;
  return config;
}

/** libs/memory resolved config -> proto, defaults filled in. */
export function memoryConfigToProto(memory: MemoryModule): common.MemoryConfig {
  const c = memory.config;
  return {
    kind: kindToProto[c.kind],
    layer: c.layer,
    entries: c.entries,
    mode: c.mode === 'token' ? common.MaskMode.MASK_MODE_TOKEN : common.MaskMode.MASK_MODE_DIM,
    shingleK: c.shingleK,
    alpha: c.alpha,
    seed: BigInt(c.seed),
    layerNorm: c.layerNorm,
    gate: c.gate,
    gelu: c.gelu === 'tanh' ? common.Gelu.GELU_TANH : common.Gelu.GELU_ERF,
    setProbability: c.setProbability,
    keyDim: c.keyDim,
    keyGenerator: c.keyGenerator === 'nonlinear' ? common.KeyGenerator.KEY_GENERATOR_NONLINEAR : common.KeyGenerator.KEY_GENERATOR_LINEAR,
    keyActivation: {
      tanh: common.KeyActivation.KEY_ACTIVATION_TANH,
      relu: common.KeyActivation.KEY_ACTIVATION_RELU,
      sigmoid: common.KeyActivation.KEY_ACTIVATION_SIGMOID,
    }[c.keyActivation],
    guidanceWeight: c.guidanceWeight,
    guidanceMargin: c.guidanceMargin,
    gateInit: c.gateInit,
    zeroInitDown: c.zeroInitDown,
    upBiasInit: c.upBiasInit ?? undefined,
  };
}

/** The AdamW and clipping settings of a TrainStep request (memory or full-parameter): unset fields take the reference defaults. */
export function optimizerOptions(request: Partial<modelHost.TrainStepRequest>): FullTrainerOptions {
  const d = TRAINING_DEFAULTS;
  return {
    weightDecay: request.weightDecay ?? d.weightDecay,
    gradClip: request.gradClip ?? d.gradClip,
    beta1: request.beta1 ?? d.beta1,
    beta2: request.beta2 ?? d.beta2,
    epsilon: request.epsilon ?? d.epsilon,
  };
}

/** The trainer settings of a memory TrainStep request: the optimizer's and the anchor term's weight. */
function trainerOptions(request: Partial<modelHost.TrainStepRequest>): TrainerOptions {
  return { ...optimizerOptions(request), anchorWeight: request.anchorKlWeight ?? 0 };
}

const namePattern = /^[A-Za-z0-9._-]{1,128}$/;

/** The memories held by the host, by name. */
export class MemoryStore {
  private readonly memories = new Map<string, HeldMemory>();
  private readonly changeListeners: Array<(held: HeldMemory) => void> = [];

  /** `memoryRoot`: every client memory path resolves inside it (--memory-root); created on the first save. */
  constructor(
    private readonly models: ModelRegistry,
    readonly memoryRoot: string,
  ) {
    // A model that memories are bound to is never evicted from the cache: they hold its fingerprint and hooks.
    models.protect((modelId) => this.list(modelId).length > 0);
  }

  /** Called when a memory's weights change (a TrainStep) or it is deleted or replaced. */
  onChange(listener: (held: HeldMemory) => void): void {
    this.changeListeners.push(listener);
  }

  private changed(held: HeldMemory): void {
    for (const listener of this.changeListeners) listener(held);
  }

  get(id: string, field = 'memory_id'): HeldMemory {
    if (!id) throw new InvalidArgumentError(`${field} is required`, field);
    const held = this.memories.get(id);
    if (!held) throw new NotFoundError(`no memory "${id}"`, field);
    return held;
  }

  list(modelId?: string): HeldMemory[] {
    return [...this.memories.values()].filter((m) => !modelId || m.modelId === modelId);
  }

  private add(id: string, modelId: string, memory: MemoryModule, replace = false): HeldMemory {
    if (!namePattern.test(id)) throw new InvalidArgumentError('memory_id must match [A-Za-z0-9._-]{1,128}', 'memory_id');
    const existing = this.memories.get(id);
    if (existing && !replace) throw new AlreadyExistsError(`memory "${id}" exists (delete it or pass replace)`, 'memory_id');
    // The old memory is disposed once the calls using it end; the new one serves new calls at once.
    if (existing) void this.delete(id);
    const held: HeldMemory = { id, modelId, memory, lock: new RwLock(), serial: ++serials, version: 0 };
    this.memories.set(id, held);
    return held;
  }

  create(request: modelHost.CreateMemoryRequest): HeldMemory {
    const model = this.models.get(request.modelId);
    if (this.memories.has(request.memoryId)) throw new AlreadyExistsError(`memory "${request.memoryId}" exists`, 'memory_id');
    const config = memoryConfigFromProto(request.config);
    // Documents are addressed by their corpus index, 0..n-1 once each (checked by the validator).
    const documents = [...request.documents].sort((a, b) => a.documentIndex - b.documentIndex);
    const memory = createMemoryFor(
      model.model,
      config,
      documents.map((d) => ({ id: String(d.documentIndex), tokens: d.ids })),
    );
    return this.add(request.memoryId, model.id, memory);
  }

  /**
   * Reads a memory file inside the memory root and, unless `skip_optimizer`, the optimizer state SaveMemory wrote
   * beside it (<path>.optim.safetensors), so that training resumes with the same AdamW moments and step.
   */
  async load(request: modelHost.LoadMemoryRequest): Promise<{ held: HeldMemory; optimizerRestored: boolean }> {
    const model = this.models.get(request.modelId);
    const root = this.memoryRoot;
    const path = resolveInRoot(root, request.path, 'path');
    checkRegularFile(path, 'path', { noFollow: true, shown: request.path });
    const memory = await inClientTerms(root, [{ field: 'path', client: request.path, path }], () => loadMemory(path, baseInfo(model.model)));
    let trainer: MemoryTrainer | undefined;
    try {
      const optim = `${path}.optim.safetensors`;
      if (!request.skipOptimizer && existsSync(optim)) {
        const shown = `${request.path}.optim.safetensors`;
        checkRegularFile(optim, 'path', { noFollow: true, shown });
        if (!isMemorizeFile(optim, 'memorize.adamw/v1')) {
          throw new InvalidArgumentError(`${shown} is not an optimizer-state file (pass skip_optimizer to load the memory without it)`, 'path');
        }
        trainer = new MemoryTrainer(model.model, memory, trainerOptions({}));
        await inClientTerms(root, [{ field: 'path', client: shown, path: optim }], () => trainer!.loadState(optim));
      }
      const held = this.add(request.memoryId || basename(path).replace(/\.safetensors$/, ''), model.id, memory, request.replace);
      if (trainer) {
        held.trainer = trainer;
        held.trainerOptions = JSON.stringify(trainerOptions({}));
      }
      return { held, optimizerRestored: trainer !== undefined };
    } catch (error) {
      trainer?.dispose();
      memory.dispose();
      throw error;
    }
  }

  /**
   * Writes a memory (and its optimizer state) inside the memory root, atomically. An existing file is
   * ALREADY_EXISTS unless `overwrite` is set, and even then only a memory file (optimizer-state file) is replaced.
   */
  async save(request: modelHost.SaveMemoryRequest): Promise<modelHost.SaveMemoryResponse> {
    const held = this.get(request.memoryId);
    const root = this.memoryRoot;
    mkdirSync(root, { recursive: true });
    const path = resolveInRoot(root, request.path, 'path');
    // Folders of the path are made inside the root (resolveInRoot checked the deepest existing one's real path).
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      throw fsError(error, 'path', request.path);
    }
    if (request.includeOptimizer && !held.trainer) {
      throw new InvalidArgumentError('the memory has no optimizer state yet (no TrainStep taken)', 'include_optimizer');
    }
    const optim = `${path}.optim.safetensors`;
    checkOverwrite(path, 'path', { overwrite: request.overwrite, isOurs: (p) => isMemorizeFile(p), what: 'a memory file', shown: request.path });
    if (request.includeOptimizer) {
      checkOverwrite(optim, 'path', {
        overwrite: request.overwrite,
        isOurs: (p) => isMemorizeFile(p, 'memorize.adamw/v1'),
        what: 'an optimizer-state file',
        shown: `${request.path}.optim.safetensors`,
      });
    }
    await inClientTerms(root, [{ field: 'path', client: request.path, path }], () => {
      saveMemory(path, held.memory);
      if (request.includeOptimizer) held.trainer!.saveState(optim);
    });
    return { path: shownInRoot(root, path), bytes: BigInt(statSync(path).size) };
  }

  /**
   * Removes the memory at once (new calls naming it answer NOT_FOUND); resolves once the calls using it have
   * ended and its tensors (and optimizer state) are disposed.
   */
  async delete(id: string): Promise<void> {
    const held = this.get(id);
    this.memories.delete(id);
    this.changed(held);
    const release = await held.lock.write('DeleteMemory');
    try {
      held.trainer?.dispose();
      held.memory.dispose();
    } finally {
      release();
    }
  }

  /** Frees every memory of a model (when it is unloaded), each once its calls have ended. */
  async deleteForModel(modelId: string): Promise<string[]> {
    const ids = this.list(modelId).map((m) => m.id);
    await Promise.all(ids.map((id) => this.delete(id)));
    return ids;
  }

  binding(held: HeldModel, selection: modelHost.MemorySelection | undefined): MemoryBinding {
    if (!selection?.memoryId) return {};
    const memory = this.get(selection.memoryId, 'memory.memory_id');
    if (memory.modelId !== held.id) {
      throw new InvalidArgumentError(`memory "${memory.id}" belongs to model "${memory.modelId}", not "${held.id}"`, 'memory.memory_id');
    }
    const maskSource = pick(selection.maskSource, maskSourceFromProto, undefined, 'memory.mask_source');
    return { hooks: memory.memory.hooks({ maskSource }), memory, maskSource };
  }

  /** One optimizer step (one slice; drawing the anchor samples the first time takes several). */
  async trainStep(request: modelHost.TrainStepRequest, slices: SliceOptions = {}): Promise<modelHost.TrainStepResponse> {
    const held = this.get(request.memoryId);
    const model = this.models.get(held.modelId);
    // Rows, rates and anchor settings are checked by the validator against the model's context.
    const rows = request.rows.map((row) => ({
      ids: row.ids,
      documentIndex: row.documentIndex !== undefined && row.documentIndex >= 0 ? row.documentIndex : undefined,
      weights: row.weights,
    }));
    if (request.anchorKlWeight > 0 && !held.anchors) {
      const count = request.anchorSamples || TRAINING_DEFAULTS.anchorSamples;
      const tokens = request.anchorSampleTokens || TRAINING_DEFAULTS.anchorTokens;
      // The default sample length may not fit a short-context model.
      if (tokens > model.model.config.maxSeqLen - 1) {
        throw new InvalidArgumentError(
          `anchor_sample_tokens (default ${TRAINING_DEFAULTS.anchorTokens}) must be below the model's context ${model.model.config.maxSeqLen}`,
          'anchor_sample_tokens',
        );
      }
      held.anchors = await sampleAnchorRows(model.model, { count, tokens, seed: held.memory.config.seed }, slices);
    }
    const options = trainerOptions(request);
    const key = JSON.stringify(options);
    if (options.anchorWeight) options.anchors = held.anchors;
    if (!held.trainer) {
      held.trainer = new MemoryTrainer(model.model, held.memory, options);
      held.trainerOptions = key;
    } else if (held.trainerOptions !== key) {
      // Hyper-parameters changed mid-run: keep the moments, take the new settings.
      const state = held.trainer.getState();
      const next = new MemoryTrainer(model.model, held.memory, options);
      next.setState(state);
      held.trainer.dispose();
      held.trainer = next;
      held.trainerOptions = key;
    }
    if (request.dryRun) {
      const loss = tf.tidy(() => lmLoss(model.model, rows, held.memory).loss.dataSync()[0]);
      return { loss, lmLoss: loss, gradNorm: 0, step: BigInt(held.trainer.steps), tokens: rows.reduce((a, r) => a + r.ids.length - 1, 0) };
    }
    // The weights change (even at learning rate 0 AdamW's step counts): what was computed with them is stale.
    held.version++;
    this.changed(held);
    const r = held.trainer.step(rows, request.learningRate, slices);
    return { loss: r.loss, lmLoss: r.lmLoss, gradNorm: r.gradNorm, step: BigInt(r.step), tokens: r.tokens };
  }

  info(held: HeldMemory): modelHost.MemoryInfo {
    const sets = held.memory.entrySets();
    return {
      memoryId: held.id,
      modelId: held.modelId,
      config: memoryConfigToProto(held.memory),
      documents: held.memory.documents.length,
      parameters: BigInt(held.memory.parameterCount),
      steps: BigInt(held.trainer?.steps ?? 0),
      meanSetSize: sets && sets.length ? sets.reduce((a, s) => a + s.length, 0) / sets.length : held.memory.config.entries,
      baseFingerprint: held.memory.baseFingerprint ?? '',
    };
  }
}
