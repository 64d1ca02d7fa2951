/**
 * Memory configuration. Field for field the proto message memorize.v1.MemoryConfig (common.proto), with the
 * same defaults: an unset (or 0) field takes the documented default. The model-host translates between them.
 */
import { InvalidArgumentError } from '@memorize/errors';

export type MemoryKindName = 'memory' | 'dlp' | 'simset' | 'random' | 'doc-key';
export const MEMORY_KIND_NAMES: readonly MemoryKindName[] = ['memory', 'dlp', 'simset', 'random', 'doc-key'];
export type MaskMode = 'dim' | 'token';
export type GeluVariant = 'erf' | 'tanh';
export type KeyGenerator = 'linear' | 'nonlinear';
export type KeyActivation = 'tanh' | 'relu' | 'sigmoid';
/**
 * Where a document-wise memory takes its mask (proto MaskSource); chosen per call, not stored. 'none' is the
 * empty mask (no entry on): "this text is no corpus document", so a document-wise memory adds only its
 * output bias (no LayerNorm) for it. The proto has no value for it yet; it is a library/bench option.
 */
export type MaskSource = 'oracle' | 'context' | 'all' | 'none';

export interface MemoryConfig {
  kind: MemoryKindName;
  /** Block (0-based) after which the memory adds to the residual stream. */
  layer: number;
  /** m, the number of entries (hidden units). Default 128; 1..65536. */
  entries?: number;
  /** Default 'dim'. */
  mode?: MaskMode;
  /** Shingle length k (simset, token mode). Default 2; 1..16. */
  shingleK?: number;
  /** Soft-mask strength: k = 1 - alpha (1 - mask). Default 1 (hard mask). */
  alpha?: number;
  /** Seed for hashing, random sets, document keys and initialisation. Default 0. */
  seed?: number;
  /** LayerNorm on the memory output. Default true. */
  layerNorm?: boolean;
  /** Learned scalar output gate. Default true. */
  gate?: boolean;
  /**
   * Initial value of the gate. Default 1 (the reference). A small value (ReZero-style) keeps an untrained
   * memory from perturbing a base model whose residual stream is small next to a unit-RMS LayerNorm output.
   * Proto `optional`: 0 is a real value (the untrained memory then adds nothing).
   */
  gateInit?: number;
  /** Initialise W_down and b_down to zero (LoRA-style): without LayerNorm the untrained memory adds 0. Default false. */
  zeroInitDown?: boolean;
  /**
   * Initialise every b_up entry to this value instead of the reference U(-1/sqrt(d), 1/sqrt(d)) draw. Negative
   * (e.g. -1.5) starts GELU(W_up h + b_up) near 0 for every input, so an entry fires only where training moved
   * its key towards the input: sparse, content-addressed entries. null/unset = the reference init. Proto
   * `optional double up_bias_init` (0 is a real value).
   */
  upBiasInit?: number | null;
  /** Default 'erf' (exact GELU). */
  gelu?: GeluVariant;
  /** simset: threshold p in (0, 1]; 0/unset = mean set size matches dlp's. */
  setProbability?: number;
  /** doc-key: dimension of the fixed random document keys. Default 64. */
  keyDim?: number;
  /** doc-key: default 'linear'. */
  keyGenerator?: KeyGenerator;
  /** doc-key: default 'sigmoid'. */
  keyActivation?: KeyActivation;
  /** doc-key: weight of relu(tau - CE(x | K_neg)). Default 1. */
  guidanceWeight?: number;
  /** doc-key: margin tau in nats per token. Default 3. */
  guidanceMargin?: number;
}

export type ResolvedMemoryConfig = Required<MemoryConfig>;

export const MEMORY_DEFAULTS: Omit<ResolvedMemoryConfig, 'kind' | 'layer'> = {
  entries: 128,
  mode: 'dim',
  shingleK: 2,
  alpha: 1,
  seed: 0,
  layerNorm: true,
  gate: true,
  gateInit: 1,
  zeroInitDown: false,
  upBiasInit: null,
  gelu: 'erf',
  setProbability: 0,
  keyDim: 64,
  keyGenerator: 'linear',
  keyActivation: 'sigmoid',
  guidanceWeight: 1,
  guidanceMargin: 3,
};

function int(value: number, field: string, lo: number, hi: number): number {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new InvalidArgumentError(`${field} must be an integer in [${lo}, ${hi}], got ${value}`, field);
  }
  return value;
}

function oneOf<T extends string>(value: T, field: string, allowed: readonly T[]): T {
  if (!allowed.includes(value)) throw new InvalidArgumentError(`${field} must be one of ${allowed.join('|')}, got "${value}"`, field);
  return value;
}

/** Fills defaults (0 / undefined = default, as in proto3) and validates every field. */
export function resolveMemoryConfig(c: MemoryConfig, nLayers?: number): ResolvedMemoryConfig {
  const pick = <K extends keyof typeof MEMORY_DEFAULTS>(k: K): ResolvedMemoryConfig[K] => {
    const v = c[k];
    return (v === undefined || v === 0 ? MEMORY_DEFAULTS[k] : v) as ResolvedMemoryConfig[K];
  };
  const kind = oneOf(c.kind, 'kind', MEMORY_KIND_NAMES);
  const layer = int(c.layer, 'layer', 0, nLayers === undefined ? 1 << 20 : nLayers - 1);
  // alpha, guidance weight and margin are proto `optional`: 0 is a real value there, only undefined defaults.
  const alpha = c.alpha ?? MEMORY_DEFAULTS.alpha;
  if (!(alpha >= 0 && alpha <= 1)) throw new InvalidArgumentError(`alpha must be in [0, 1], got ${alpha}`, 'alpha');
  const setProbability = c.setProbability ?? 0;
  if (!(setProbability >= 0 && setProbability <= 1)) {
    throw new InvalidArgumentError(`setProbability must be in (0, 1] (0 = match dlp), got ${setProbability}`, 'setProbability');
  }
  const gateInit = c.gateInit ?? MEMORY_DEFAULTS.gateInit;
  if (!Number.isFinite(gateInit)) throw new InvalidArgumentError(`gateInit must be finite, got ${gateInit}`, 'gateInit');
  const upBiasInit = c.upBiasInit ?? null;
  if (upBiasInit !== null && !Number.isFinite(upBiasInit))
    throw new InvalidArgumentError(`upBiasInit must be finite, got ${upBiasInit}`, 'upBiasInit');
  const seed = c.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new InvalidArgumentError(`seed must be a non-negative integer, got ${seed}`, 'seed');
  const guidanceWeight = c.guidanceWeight ?? MEMORY_DEFAULTS.guidanceWeight;
  const guidanceMargin = c.guidanceMargin ?? MEMORY_DEFAULTS.guidanceMargin;
  if (!(guidanceWeight >= 0) || !Number.isFinite(guidanceWeight))
    throw new InvalidArgumentError(`guidanceWeight must be >= 0, got ${guidanceWeight}`, 'guidanceWeight');
  if (!Number.isFinite(guidanceMargin)) throw new InvalidArgumentError(`guidanceMargin must be finite, got ${guidanceMargin}`, 'guidanceMargin');
  return {
    kind,
    layer,
    entries: int(pick('entries'), 'entries', 1, 65536),
    mode: oneOf(pick('mode'), 'mode', ['dim', 'token']),
    shingleK: int(pick('shingleK'), 'shingleK', 1, 16),
    alpha,
    seed,
    layerNorm: c.layerNorm ?? MEMORY_DEFAULTS.layerNorm,
    gate: c.gate ?? MEMORY_DEFAULTS.gate,
    gateInit,
    zeroInitDown: c.zeroInitDown ?? MEMORY_DEFAULTS.zeroInitDown,
    upBiasInit,
    gelu: oneOf(pick('gelu'), 'gelu', ['erf', 'tanh']),
    setProbability,
    keyDim: int(pick('keyDim'), 'keyDim', 1, 65536),
    keyGenerator: oneOf(pick('keyGenerator'), 'keyGenerator', ['linear', 'nonlinear']),
    keyActivation: oneOf(pick('keyActivation'), 'keyActivation', ['tanh', 'relu', 'sigmoid']),
    guidanceWeight,
    guidanceMargin,
  };
}

/** "simset-2" -> {kind: 'simset', shingleK: 2}; other names pass through ("doc-key", "dlp", ...). */
export function parseKindName(name: string): { kind: MemoryKindName; shingleK?: number } {
  const m = /^simset-(\d+)$/.exec(name);
  if (m) return { kind: 'simset', shingleK: Number(m[1]) };
  const normalized = name === 'dockey' || name === 'doc_key' ? 'doc-key' : name;
  return { kind: oneOf(normalized as MemoryKindName, 'kind', MEMORY_KIND_NAMES) };
}

/** Display name: simset carries its k ("simset-2"). */
export function kindLabel(c: Pick<ResolvedMemoryConfig, 'kind' | 'shingleK'>): string {
  return c.kind === 'simset' ? `simset-${c.shingleK}` : c.kind;
}
