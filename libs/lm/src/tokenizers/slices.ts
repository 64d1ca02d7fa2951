import { betweenSlices, type SliceOptions } from '@memorize/tensor';
import type { EncodeOptions, Tokenizer } from './types.js';

/**
 * Longest run (UTF-16 code units) BPE merges over as one piece. Text is cut into segments at word boundaries
 * (see {@link segments}); a segment longer than this — a whitespace-free run of 4096+ characters, which no
 * natural text has — is cut every MAX_SEGMENT_LENGTH units, so its ids may differ from one unbounded merge at
 * those seams. Everything else encodes exactly as a single merge over the whole text would.
 */
export const MAX_SEGMENT_LENGTH = 4096;

/**
 * True when no piece holds a word boundary — a `marker` (the space, or SentencePiece's "▁") right after another
 * character — anywhere but at its start. Then no merge can ever join the tokens either side of such a boundary,
 * so BPE over the whole text equals BPE over each word separately (merges in one word never change the
 * candidates of another, and ties break by position within each word the same way).
 */
export function piecesKeepWordBoundaries(pieces: Iterable<string>, marker: string): boolean {
  for (const piece of pieces) {
    for (let i = piece.indexOf(marker, 1); i > 0; i = piece.indexOf(marker, i + 1)) {
      if (piece[i - 1] !== marker) return false;
    }
  }
  return true;
}

/**
 * Cuts `text` before every `marker` that follows a non-marker character (when `marker` is given), and inside any
 * run longer than `maxLength` (never between the two halves of a surrogate pair). The segments concatenate to `text`.
 */
export function* segments(text: string, marker: string | undefined, maxLength = MAX_SEGMENT_LENGTH): Generator<string> {
  const m = marker === undefined ? -1 : marker.charCodeAt(0);
  let start = 0;
  let prev = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const wordStart = c === m && prev !== m && i > start;
    const tooLong = i - start >= maxLength && !(c >= 0xdc00 && c <= 0xdfff);
    if (wordStart || tooLong) {
      yield text.slice(start, i);
      start = i;
    }
    prev = c;
  }
  if (start < text.length) yield text.slice(start);
}

/** A tokenizer that can encode a text as a sequence of parts whose concatenation is `encode(text, opts)`. */
export interface SlicedEncoder {
  encodeParts(text: string, opts?: EncodeOptions): Iterable<number[]>;
}

/** `signal` is checked and `nextSlice` awaited between slices (see SliceOptions). */
export interface BoundedEncodeOptions extends SliceOptions {
  /** Longest stretch of work between two yields to the event loop, milliseconds (default 10). */
  sliceMs?: number;
}

function hasParts(t: Tokenizer): t is Tokenizer & SlicedEncoder {
  return typeof (t as Partial<SlicedEncoder>).encodeParts === 'function';
}

/**
 * `tokenizer.encode(text, opts)` in slices of at most ~`sliceMs` with the event loop yielded between them, so a
 * server answers health checks and notices cancellation while a long text is tokenized. Same ids as encode.
 */
export async function encodeBounded(
  tokenizer: Tokenizer,
  text: string,
  opts: EncodeOptions = {},
  bounds: BoundedEncodeOptions = {},
): Promise<number[]> {
  const sliceMs = bounds.sliceMs ?? 10;
  bounds.signal?.throwIfAborted();
  if (!hasParts(tokenizer)) return tokenizer.encode(text, opts);
  const out: number[] = [];
  let sliceStart = performance.now();
  for (const part of tokenizer.encodeParts(text, opts)) {
    for (let i = 0; i < part.length; i++) out.push(part[i]);
    if (performance.now() - sliceStart >= sliceMs) {
      await betweenSlices(bounds);
      sliceStart = performance.now();
    }
  }
  return out;
}
