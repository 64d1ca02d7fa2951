/** What each kind folder provides; registry.ts lists one KindDefinition per kind. */
import type { MaskMode, MaskSource, MemoryKindName, ResolvedMemoryConfig } from './config.js';
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
  /** Kind-specific checks of a resolved config (throws InvalidArgumentError); absent = none beyond the generic ones. */
  validate?(c: ResolvedMemoryConfig): void;
  /**
   * The mask source a row gets when the caller names none, by whether the row carries a corpus document id
   * (the one place this policy lives: hooks, losses, CLI and training runs all ask here). Absent for kinds
   * without a mask.
   */
  defaultMaskSource?(c: ResolvedMemoryConfig, hasDocument: boolean): MaskSource;
  /** Entry assignment / keys for a corpus (document-wise kinds). */
  createMasker?(c: ResolvedMemoryConfig, documents: readonly DocumentTokens[]): Masker;
  /** The masker of a saved memory. */
  restoreMasker?(c: ResolvedMemoryConfig, stored: StoredMemory): Masker;
}

/** The policy of kinds whose masks belong to documents: the document's own mask, and text that is no corpus document gets no entry. */
export const documentOrNone = (_c: ResolvedMemoryConfig, hasDocument: boolean): MaskSource => (hasDocument ? 'oracle' : 'none');
