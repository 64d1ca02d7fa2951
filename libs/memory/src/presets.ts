/**
 * Memory presets for memorization runs: the reference architecture (DESIGN.md) and the variants recommended
 * for small residual streams (measured by bench/memory/memorize-demo.ts). A preset fixes how a memory of a
 * kind is initialised (and, for the unstructured kind, the anchor term); presetMemoryConfig and presetAnchor
 * apply it to one kind.
 */
import { parseKindName, type MemoryConfig } from './config.js';
import type { AnchorOptions } from './run.js';

export interface MemoryPreset {
  layerNorm: boolean;
  gateInit: number;
  zeroInitDown: boolean;
  /** simset only: entries m and threshold p (sparse sets in a wider memory); undefined = the global values. */
  simsetEntries?: number;
  simsetSetProbability?: number;
  /**
   * Unstructured kind only: b_up initialised to this value (config upBiasInit; negative = sparse keys) and the
   * anchor term (trainer anchorWeight) on `anchorSamples` base-model samples of `anchorTokens` tokens.
   */
  memoryUpBiasInit?: number;
  memoryAnchorWeight?: number;
  anchorSamples?: number;
  anchorTokens?: number;
}

export type PresetName = 'reference' | 'stable' | 'anchored';

export const PRESETS: Record<PresetName, MemoryPreset> = {
  reference: { layerNorm: true, gateInit: 1, zeroInitDown: false },
  // simset: m = 512, p = 0.05 keeps a document's set near dlp's 32 entries (at m = 128, 4 documents) while an
  // unrelated text's context set hits few trained entries (expected overlap with a document's set ~ p).
  stable: { layerNorm: false, gateInit: 0, zeroInitDown: false, simsetEntries: 512, simsetSetProbability: 0.05 },
  // 'stable' plus, for the unstructured memory (which has no mask and so meets every text): b_up = -1.5
  // (an entry fires only where training moved its key onto the input) and 4 x KL(base || base + memory) on
  // 64 samples of 48 tokens drawn from the base model itself (keeps typical text unchanged; no outside corpus).
  // With 16 samples the outside change depends on which samples were drawn (+3..+12.5% over 2 sets x 3 seeds);
  // 64 gave +1.9..+8.5%. The anchor forward makes a 300-step run ~10x slower (~170 s instead of ~15 s).
  anchored: {
    layerNorm: false,
    gateInit: 0,
    zeroInitDown: false,
    simsetEntries: 512,
    simsetSetProbability: 0.05,
    memoryUpBiasInit: -1.5,
    memoryAnchorWeight: 4,
    anchorSamples: 64,
    anchorTokens: 48,
  },
};

/** What a preset leaves open: where the memory goes, its seed and the global m / p (simset may override them). */
export interface PresetMemoryOptions {
  layer: number;
  seed: number;
  /** Memory entries m (undefined = the config default). */
  entries?: number;
  /** simset / random threshold p (undefined or 0 = match dlp's mean set size). */
  setProbability?: number;
}

/** The MemoryConfig of a kind ("memory", "dlp", "simset-2", ...) under a preset. */
export function presetMemoryConfig(kindName: string, preset: MemoryPreset, o: PresetMemoryOptions): MemoryConfig {
  const kind = parseKindName(kindName);
  const simset = kind.kind === 'simset';
  return {
    ...kind,
    layer: o.layer,
    seed: o.seed,
    entries: (simset ? preset.simsetEntries : undefined) ?? o.entries,
    setProbability: (simset ? preset.simsetSetProbability : undefined) ?? o.setProbability,
    layerNorm: preset.layerNorm,
    gateInit: preset.gateInit,
    zeroInitDown: preset.zeroInitDown,
    upBiasInit: kind.kind === 'memory' ? preset.memoryUpBiasInit : undefined,
  };
}

/** The anchor term a preset gives a kind (the unstructured kind only), or undefined when it has none. */
export function presetAnchor(kindName: string, preset: MemoryPreset): AnchorOptions | undefined {
  const weight = parseKindName(kindName).kind === 'memory' ? (preset.memoryAnchorWeight ?? 0) : 0;
  return weight > 0 ? { weight, samples: preset.anchorSamples, tokens: preset.anchorTokens } : undefined;
}
