/** What each kind folder provides; registry.ts lists one KindDefinition per kind. */
import type { MaskMode, MemoryKindName, ResolvedMemoryConfig } from './config.js';
import type { Masker } from './masker.js';

/** A corpus document as the memory sees it: token ids (BOS included when the producer added it). */
export interface DocumentTokens {
  id?: string;
  tokens: readonly number[];
}

/** Read access to a memory file's contents, for restoring a masker. */
export interface StoredMemory {
  path: string;
  metadata: Record<string, string>;
  tensor(name: string): { data: Float32Array; shape: number[] } | undefined;
}

export interface KindDefinition {
  name: MemoryKindName;
  /** One-line description (CLI help, inspect). */
  description: string;
  /** Masks entries per document (everything but 'memory'). */
  documentWise: boolean;
  /** Mask modes the kind supports. */
  modes: readonly MaskMode[];
  /** Kind-specific checks of a resolved config (throws InvalidArgumentError). */
  validate(c: ResolvedMemoryConfig): void;
  /** Entry assignment / keys for a corpus (document-wise kinds). */
  createMasker?(c: ResolvedMemoryConfig, documents: readonly DocumentTokens[]): Masker;
  /** The masker of a saved memory. */
  restoreMasker?(c: ResolvedMemoryConfig, stored: StoredMemory): Masker;
}
