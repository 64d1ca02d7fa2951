/**
 * Masks of document-wise memories. A Masker turns, for each batch row, where the mask should come from
 * (a corpus document, the row's own tokens, an explicit doc-key vector, "all entries" or "none") into the tensor
 * that multiplies the memory's hidden activations: [B, 1, m] (dim mode) or [B, T, m] (token mode), values
 * in [0, 1] before the soft-mask alpha is applied.
 */
import type { HookContext } from '@memorize/lm';
import { tf, type TensorToWrite } from '@memorize/tensor';
import { FailedPreconditionError, InvalidArgumentError } from '@memorize/errors';
import type { MaskMode } from './config.js';
import type { ParameterMap } from './mlp.js';

export type RowMaskRequest =
  /** The corpus document's mask (oracle). */
  | { source: 'oracle'; document: number }
  /**
   * Mask from the row's own real tokens (dim: their shingle set; token: per position). `chunkMask` marks
   * the chunk's real positions (token mode); `tokens` are the real tokens, cached ones first.
   */
  | { source: 'context'; tokens: readonly number[]; chunkMask: readonly number[] }
  /** All entries on. */
  | { source: 'all' }
  /** No entry on: the text is no corpus document. */
  | { source: 'none' }
  /** doc-key: an explicit document key vector (guidance loss negatives). */
  | { source: 'key'; key: Float32Array };

export interface Masker {
  readonly mode: MaskMode;
  readonly documentCount: number;
  /** Mask tensor for a batch; called inside the forward pass (and the gradient tape). */
  mask(rows: readonly RowMaskRequest[], ctx: HookContext): tf.Tensor3D;
  /** Trainable tensors of the masker (doc-key's key generator), PyTorch names. */
  parameters(): ParameterMap;
  /** Per-document entry sets, sorted (undefined when entries are soft, as for doc-key). */
  entrySets(): Uint32Array[] | undefined;
  /** Non-trainable tensors the file must carry (doc-key's fixed keys). */
  fileTensors(): Map<string, TensorToWrite>;
  /** Kind-specific metadata (strings). */
  metadata(): Record<string, string>;
  dispose(): void;
}

/** How a set-based kind (dlp, simset, random) computes masks without a document. */
export interface SetMaskerSpec {
  kind: string;
  m: number;
  mode: MaskMode;
  sets: Uint32Array[];
  /** dim mode, source context: the entry set of a token sequence (simset); absent = unsupported. */
  contextSet?: (tokens: readonly number[]) => Uint32Array;
  /**
   * token mode: writes the 0/1 mask of each of the last `t` positions of `tokens` into out[i * m + j].
   * Absent = the kind has no token mode.
   */
  positionMask?: (tokens: readonly number[], chunkMask: readonly number[], out: Float32Array, offset: number) => void;
  metadata: Record<string, string>;
}

/** Masks for dlp, simset and random: fixed per-document entry sets. */
export class SetMasker implements Masker {
  constructor(readonly spec: SetMaskerSpec) {
    if (spec.mode === 'token' && !spec.positionMask) throw new InvalidArgumentError(`kind ${spec.kind} has no token mode`, 'mode');
  }
  get mode(): MaskMode {
    return this.spec.mode;
  }
  get documentCount(): number {
    return this.spec.sets.length;
  }

  private writeSet(set: Uint32Array, out: Float32Array, offset: number): void {
    for (const j of set) out[offset + j] = 1;
  }

  mask(rows: readonly RowMaskRequest[], ctx: HookContext): tf.Tensor3D {
    const { m } = this.spec;
    const b = rows.length;
    const t = this.spec.mode === 'token' ? ctx.seqLen : 1;
    const out = new Float32Array(b * t * m);
    rows.forEach((row, r) => {
      const offset = r * t * m;
      if (row.source === 'all') {
        out.fill(1, offset, offset + t * m);
      } else if (row.source === 'none') {
        // Zeros: already there.
      } else if (this.spec.mode === 'token') {
        // Token mode needs no document: each position's mask comes from the shingle ending there.
        if (row.source !== 'context') throw new InvalidArgumentError(`${this.spec.kind} token mode takes its mask from the tokens`, 'maskSource');
        this.spec.positionMask!(row.tokens, row.chunkMask, out, offset);
      } else if (row.source === 'oracle') {
        const set = this.spec.sets[row.document];
        if (!set) throw new InvalidArgumentError(`document ${row.document} outside [0, ${this.spec.sets.length})`, 'documentIndex');
        this.writeSet(set, out, offset);
      } else if (row.source === 'context') {
        if (!this.spec.contextSet) {
          throw new FailedPreconditionError(`${this.spec.kind} cannot derive a mask from the context; use mask source oracle or all`, 'maskSource');
        }
        this.writeSet(this.spec.contextSet(row.tokens), out, offset);
      } else {
        throw new InvalidArgumentError(`${this.spec.kind} has no document keys`, 'maskSource');
      }
    });
    return tf.tensor3d(out, [b, t, m]);
  }

  parameters(): ParameterMap {
    return new Map();
  }
  entrySets(): Uint32Array[] {
    return this.spec.sets;
  }
  fileTensors(): Map<string, TensorToWrite> {
    return new Map();
  }
  metadata(): Record<string, string> {
    return { ...this.spec.metadata, entry_sets: JSON.stringify(this.spec.sets.map((s) => Array.from(s))) };
  }
  dispose(): void {}
}

/** Parses the entry_sets metadata written by SetMasker. */
export function parseEntrySets(json: string | undefined, m: number, where: string): Uint32Array[] {
  if (json === undefined) throw new InvalidArgumentError(`${where}: metadata has no entry_sets`, 'entry_sets');
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new InvalidArgumentError(`${where}: entry_sets is not valid JSON`, 'entry_sets');
  }
  if (!Array.isArray(raw)) throw new InvalidArgumentError(`${where}: entry_sets must be a list of lists`, 'entry_sets');
  return raw.map((set, i) => {
    if (!Array.isArray(set) || !set.every((j) => Number.isInteger(j) && j >= 0 && j < m)) {
      throw new InvalidArgumentError(`${where}: entry_sets[${i}] must list entries in [0, ${m})`, 'entry_sets');
    }
    return Uint32Array.from(set as number[]).sort();
  });
}
