/**
 * A memory module: the MLP of mlp.ts, optionally masked per document by the kind's Masker, applied as a
 * hook right after block `layer` of a TransformerModel.
 */
import type { HookContext, LayerHook } from '@memorize/lm';
import { tf } from '@memorize/tensor';
import { InvalidArgumentError, NotFoundError } from '@memorize/errors';
import type { MaskSource, ResolvedMemoryConfig } from './config.js';
import type { Masker, RowMaskRequest } from './masker.js';
import { applyMlp, type MlpShape, type ParameterMap } from './mlp.js';
import { kindDefinition } from './registry.js';

export interface DocumentInfo {
  id: string;
  /** Token count the entry assignment saw. */
  length: number;
}

export interface MemoryHookOptions {
  /**
   * Mask source for every row. Default per row: the kind's policy (KindDefinition.defaultMaskSource) for a
   * row whose forward call's docIds names a document or names none, e.g. dlp 'oracle' / 'none', simset dim
   * 'oracle' / 'context'; 'none' = no entry on (text that is no corpus document). Ignored by the
   * unstructured kind, which has no mask.
   */
  maskSource?: MaskSource;
  /** doc-key: explicit key vectors per row (undefined rows use maskSource); the guidance loss's negatives. */
  rowKeys?: readonly (Float32Array | undefined)[];
}

export class MemoryModule {
  private readonly docIndex: Map<string, number>;

  constructor(
    readonly config: ResolvedMemoryConfig,
    /** Width d of the residual stream. */
    readonly dim: number,
    readonly mlp: ParameterMap,
    readonly masker: Masker | undefined,
    readonly documents: readonly DocumentInfo[],
    /** Fingerprint of the base model the memory belongs to; undefined = any model of width `dim`. */
    readonly baseFingerprint: string | undefined,
  ) {
    this.docIndex = new Map(documents.map((d, i) => [d.id, i]));
  }

  get layer(): number {
    return this.config.layer;
  }

  get shape(): MlpShape {
    return { d: this.dim, m: this.config.entries, layerNorm: this.config.layerNorm, gate: this.config.gate };
  }

  /** Every trainable tensor, by PyTorch name. */
  parameters(): ParameterMap {
    const all: ParameterMap = new Map(this.mlp);
    for (const [name, p] of this.masker?.parameters() ?? []) all.set(name, p);
    return all;
  }

  variables(): tf.Variable[] {
    return [...this.parameters().values()].map((p) => p.variable);
  }

  get parameterCount(): number {
    return this.variables().reduce((a, v) => a + v.size, 0);
  }

  /** Per-document entry sets (set-based kinds). */
  entrySets(): Uint32Array[] | undefined {
    return this.masker?.entrySets();
  }

  /** Index of a document named by a forward call's docIds entry (number = index, string = id). */
  documentIndex(id: string | number): number {
    if (typeof id === 'number') {
      if (!Number.isInteger(id) || id < 0 || id >= this.documents.length) {
        throw new InvalidArgumentError(`document index ${id} outside [0, ${this.documents.length})`, 'documentIndex');
      }
      return id;
    }
    const i = this.docIndex.get(id);
    if (i === undefined) throw new NotFoundError(`memory has no document "${id}"`, 'documentId');
    return i;
  }

  /**
   * The mask source a row gets when the caller names none (the kind's policy): `hasDocument` = the row
   * carries a corpus document id. Undefined for the unstructured kind (no mask).
   */
  defaultMaskSource(hasDocument: boolean): MaskSource | undefined {
    return kindDefinition(this.config.kind).defaultMaskSource?.(this.config, hasDocument);
  }

  private rowRequests(ctx: HookContext, options: MemoryHookOptions): RowMaskRequest[] {
    const out: RowMaskRequest[] = [];
    for (let r = 0; r < ctx.batchSize; r++) {
      const key = options.rowKeys?.[r];
      if (key) {
        out.push({ source: 'key', key });
        continue;
      }
      const docId = ctx.docIds?.[r];
      const source = options.maskSource ?? this.defaultMaskSource(docId !== undefined);
      if (source === undefined) throw new Error(`kind ${this.config.kind} has a mask but defines no defaultMaskSource`);
      if (source === 'all' || source === 'none') out.push({ source });
      else if (source === 'oracle' && this.config.mode === 'dim') {
        if (docId === undefined) throw new InvalidArgumentError(`row ${r}: mask source oracle needs a document id`, 'docIds');
        out.push({ source: 'oracle', document: this.documentIndex(docId) });
      } else {
        // Context (and every token-mode row): the row's real tokens, cached ones first, padding removed.
        const past = ctx.pastTokens[r].filter((_, i) => ctx.pastAttentionMask?.[r]?.[i] !== 0);
        const chunk = ctx.tokens[r].filter((_, i) => ctx.attentionMask[r][i] !== 0);
        // In dim mode the set comes from the row's prompt when the caller gives one (scoring, generation),
        // so every candidate continuation and every generated step sees the same mask.
        const prompt = this.config.mode === 'dim' ? ctx.rowContext?.[r] : undefined;
        out.push({ source: 'context', tokens: prompt ?? [...past, ...chunk], chunkMask: ctx.attentionMask[r] });
      }
    }
    return out;
  }

  /** h + M(h). Differentiable with respect to the memory's variables. */
  apply(h: tf.Tensor3D, ctx: HookContext, options: MemoryHookOptions = {}): tf.Tensor3D {
    if (h.shape[2] !== this.dim) {
      throw new InvalidArgumentError(`memory width ${this.dim} does not match the residual stream's ${h.shape[2]}`, 'memory');
    }
    let mask: tf.Tensor3D | undefined;
    if (this.masker) {
      const requests = this.rowRequests(ctx, options);
      mask = this.masker.mask(requests, ctx);
      const alpha = this.config.alpha;
      // Soft mask k = 1 - alpha (1 - mask); alpha = 1 leaves the mask untouched (bitwise). The bias softens a
      // document's set only: 'all' and 'none' rows keep their literal meaning (every entry / no entry on).
      if (alpha !== 1) {
        const soft = tf.sub(1, tf.mul(alpha, tf.sub(1, mask))) as tf.Tensor3D;
        const literal = requests.map((r) => r.source === 'all' || r.source === 'none');
        mask = literal.some(Boolean) ? (tf.where(tf.tensor3d(literal, [literal.length, 1, 1], 'bool'), mask, soft) as tf.Tensor3D) : soft;
      }
    }
    return applyMlp(h, this.mlp, this.shape, this.config.gelu, mask);
  }

  hook(options: MemoryHookOptions = {}): LayerHook {
    return (h, ctx) => this.apply(h, ctx, options);
  }

  /** The hooks map for TransformerModel.forward / documentLoss. */
  hooks(options: MemoryHookOptions = {}): Map<number, LayerHook> {
    return new Map([[this.layer, this.hook(options)]]);
  }

  dispose(): void {
    for (const p of this.parameters().values()) p.variable.dispose();
    this.masker?.dispose();
  }
}

/** Hooks for an optional memory: an empty map without one (the base model's forward, unchanged). */
export function memoryHooks(memory: MemoryModule | undefined, options: MemoryHookOptions = {}): Map<number, LayerHook> {
  return memory ? memory.hooks(options) : new Map();
}
