/**
 * Memory files: safetensors holding the memory's tensors under PyTorch names (up.weight [m, d], up.bias [m],
 * down.weight [d, m], down.bias [d], ln.weight [d], ln.bias [d], gate [1]; document-wise kinds add theirs),
 * and in __metadata__ (strings; structured values JSON-encoded): format, kind, layer, d, m, mode, k, alpha,
 * seeds, gelu, layer_norm, gate, gate_init, zero_init_down, up_bias_init ('' = reference), the full config, documents, per-document entry sets (set kinds) and the
 * base model's fingerprint. Written atomically by writeSafetensors (temp file + rename).
 */
import { SafetensorsReader, writeSafetensors, type TensorToWrite } from '@memorize/tensor';
import { FailedPreconditionError, InvalidArgumentError } from '@memorize/errors';
import type { TransformerModel } from '@memorize/lm';
import { kindLabel, resolveMemoryConfig, type GeluVariant, type MemoryConfig, type ResolvedMemoryConfig } from './config.js';
import { validateMemoryConfig } from './create.js';
import { deriveSeed } from './hash.js';
import type { StoredMemory } from './kind.js';
import { mlpFileLayout, parameterFromFile, parameterToFile, type ParameterMap } from './mlp.js';
import { MemoryModule, type DocumentInfo } from './module.js';
import { kindDefinition } from './registry.js';

export const MEMORY_FILE_FORMAT = 'memorize.memory/v1';

/** The hash seeds actually derived from the config seed (recorded for inspection). */
export function derivedSeeds(c: ResolvedMemoryConfig): Record<string, number> {
  return {
    seed: c.seed,
    mlp_init: deriveSeed(c.seed, 'mlp/init'),
    simset_minhash: deriveSeed(c.seed, 'simset/minhash'),
    simset_gate: deriveSeed(c.seed, 'simset/gate'),
    random_token_gate: deriveSeed(c.seed, 'random/gate'),
  };
}

export function memoryMetadata(memory: MemoryModule): Record<string, string> {
  const c = memory.config;
  return {
    format: MEMORY_FILE_FORMAT,
    kind: c.kind,
    label: kindLabel(c),
    layer: String(c.layer),
    d: String(memory.dim),
    m: String(c.entries),
    mode: c.mode,
    k: String(c.shingleK),
    alpha: String(c.alpha),
    gelu: c.gelu,
    layer_norm: String(c.layerNorm),
    gate: String(c.gate),
    gate_init: String(c.gateInit),
    zero_init_down: String(c.zeroInitDown),
    up_bias_init: c.upBiasInit === null ? '' : String(c.upBiasInit),
    seeds: JSON.stringify(derivedSeeds(c)),
    config: JSON.stringify(c),
    documents: JSON.stringify(memory.documents),
    base_fingerprint: memory.baseFingerprint ?? '',
    ...(memory.masker?.metadata() ?? {}),
  };
}

export function saveMemory(path: string, memory: MemoryModule): void {
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, p] of memory.parameters()) tensors.set(name, { shape: p.fileShape, data: parameterToFile(p) });
  for (const [name, t] of memory.masker?.fileTensors() ?? []) tensors.set(name, t);
  writeSafetensors(path, tensors, memoryMetadata(memory));
}

/**
 * True when `path` is a safetensors file whose __metadata__.format is `format` (a memory file by default;
 * 'memorize.adamw/v1' for optimizer state). Only the header is read. Used by the no-overwrite rule.
 */
export function isMemorizeFile(path: string, format = MEMORY_FILE_FORMAT): boolean {
  try {
    const reader = new SafetensorsReader(path);
    try {
      return reader.header.metadata.format === format;
    } finally {
      reader.close();
    }
  } catch {
    return false;
  }
}

/** What the memory must match: a loaded model (width, depth, fingerprint). */
export interface BaseModelInfo {
  dim: number;
  nLayers: number;
  fingerprint: string;
}

export function baseInfo(model: TransformerModel): BaseModelInfo {
  return { dim: model.config.dim, nLayers: model.config.nLayers, fingerprint: model.fingerprint };
}

function readAll(path: string): StoredMemory & { names: string[] } {
  const reader = new SafetensorsReader(path);
  try {
    const tensors = new Map<string, { data: Float32Array; shape: number[] }>();
    for (const name of reader.names) {
      const t = reader.readFloat32(name);
      tensors.set(name, { data: t.data, shape: t.shape });
    }
    return { path, metadata: reader.header.metadata, tensor: (n) => tensors.get(n), names: reader.names };
  } finally {
    reader.close();
  }
}

function tensorFor(stored: StoredMemory, name: string, shape: number[]): Float32Array {
  const t = stored.tensor(name);
  if (!t) throw new InvalidArgumentError(`${stored.path}: missing tensor "${name}"`, name);
  // A scalar gate may be stored with shape [] (PyTorch nn.Parameter(torch.tensor(1.))).
  const same = t.shape.join(',') === shape.join(',') || (name === 'gate' && t.shape.length === 0 && shape.join(',') === '1');
  if (!same) throw new InvalidArgumentError(`${stored.path}: tensor "${name}" has shape [${t.shape}], expected [${shape}]`, name);
  return t.data;
}

function restoreMlp(stored: StoredMemory, c: ResolvedMemoryConfig, d: number): ParameterMap {
  const map: ParameterMap = new Map();
  for (const [name, l] of mlpFileLayout({ d, m: c.entries, layerNorm: c.layerNorm, gate: c.gate })) {
    map.set(name, parameterFromFile(tensorFor(stored, name, l.shape), l.shape, l.transposed));
  }
  return map;
}

function checkBase(path: string, fileFingerprint: string, d: number, layer: number, base: BaseModelInfo | undefined): void {
  if (!base) return;
  if (fileFingerprint && fileFingerprint !== base.fingerprint) {
    throw new FailedPreconditionError(
      `${path} was trained on base model ${fileFingerprint}, but the loaded model is ${base.fingerprint}; refusing to load it`,
      'memory',
    );
  }
  if (d !== base.dim) throw new FailedPreconditionError(`${path} has width d=${d}, the loaded model has ${base.dim}`, 'memory');
  if (layer >= base.nLayers)
    throw new FailedPreconditionError(`${path} sits after block ${layer}, the loaded model has ${base.nLayers} blocks`, 'memory');
}

/** Loads a memory file; with `base`, refuses files made for another model (FailedPreconditionError). */
export function loadMemory(path: string, base?: BaseModelInfo): MemoryModule {
  const stored = readAll(path);
  const md = stored.metadata;
  if (md.format !== MEMORY_FILE_FORMAT) {
    throw new InvalidArgumentError(`${path}: not a memory file (expected __metadata__.format ${MEMORY_FILE_FORMAT})`, 'format');
  }
  let raw: MemoryConfig;
  try {
    raw = JSON.parse(md.config ?? '') as MemoryConfig;
  } catch {
    throw new InvalidArgumentError(`${path}: metadata config is not valid JSON`, 'config');
  }
  const d = Number(md.d);
  if (!Number.isInteger(d) || d < 1) throw new InvalidArgumentError(`${path}: metadata d must be a positive integer`, 'd');
  const c = validateMemoryConfig(resolveMemoryConfig(raw));
  checkBase(path, md.base_fingerprint ?? '', d, c.layer, base);
  const def = kindDefinition(c.kind);
  let documents: DocumentInfo[] = [];
  if (md.documents) {
    try {
      documents = JSON.parse(md.documents) as DocumentInfo[];
    } catch {
      throw new InvalidArgumentError(`${path}: metadata documents is not valid JSON`, 'documents');
    }
    if (!Array.isArray(documents)) throw new InvalidArgumentError(`${path}: metadata documents must be a JSON list`, 'documents');
  }
  const mlp = restoreMlp(stored, c, d);
  const masker = def.restoreMasker?.(c, stored);
  return new MemoryModule(c, d, mlp, masker, documents, md.base_fingerprint || undefined);
}

export interface ImportOptions {
  layer: number;
  gelu?: GeluVariant;
  /** Recorded as the base fingerprint; without it the memory loads into any model of matching width. */
  base?: BaseModelInfo;
  seed?: number;
}

/**
 * Turns bare PyTorch-convention weights of the unstructured memory (up.weight [m, d], up.bias, down.weight,
 * down.bias, optional ln.weight/ln.bias and gate) into a MemoryModule. LayerNorm and gate are on when their
 * tensors are present.
 */
export function importPytorchMemory(weightsPath: string, options: ImportOptions): MemoryModule {
  const stored = readAll(weightsPath);
  const up = stored.tensor('up.weight');
  if (!up || up.shape.length !== 2) throw new InvalidArgumentError(`${weightsPath}: needs a 2-d tensor "up.weight" [m, d]`, 'up.weight');
  const [m, d] = up.shape;
  const hasLn = stored.names.includes('ln.weight') || stored.names.includes('ln.bias');
  const hasGate = stored.names.includes('gate');
  const known = new Set(['up.weight', 'up.bias', 'down.weight', 'down.bias', 'ln.weight', 'ln.bias', 'gate']);
  const extra = stored.names.filter((n) => !known.has(n));
  if (extra.length > 0) throw new InvalidArgumentError(`${weightsPath}: unexpected tensors ${extra.join(', ')} for kind memory`, extra[0]);
  const c = validateMemoryConfig(
    { kind: 'memory', layer: options.layer, entries: m, gelu: options.gelu, layerNorm: hasLn, gate: hasGate, seed: options.seed },
    options.base?.nLayers,
  );
  if (options.base) checkBase(weightsPath, '', d, c.layer, options.base);
  return new MemoryModule(c, d, restoreMlp(stored, c, d), undefined, [], options.base?.fingerprint);
}
