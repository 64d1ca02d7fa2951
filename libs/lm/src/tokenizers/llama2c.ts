import { InvalidArgumentError } from '@memorize/errors';
import { byteFallbackValue, bytesToKey, utf8Decode, utf8Encoder } from './bytes.js';
import { SEQUENCE_START, type EncodeOptions, type Tokenizer } from './types.js';
import { MinHeap } from './heap.js';
import { piecesKeepWordBoundaries, segments } from './slices.js';

/** run.c hard-codes these ids: BOS 1, EOS 2, and byte b at id b + 3. */
const LLAMA2C_BOS = 1;
const LLAMA2C_EOS = 2;
const BYTE_OFFSET = 3;
/** run.c starts its best-merge search at this score and only accepts strictly greater scores. */
const MERGE_SCORE_FLOOR = -1e10;
const WORD_CACHE_MAX_LENGTH = 64;
const WORD_CACHE_ENTRIES = 1 << 16;

export interface Llama2cVocab {
  maxTokenLength: number;
  pieces: Uint8Array[];
  scores: Float32Array;
}

/**
 * Parses a llama2.c tokenizer.bin: int32 max_token_length, then per token float32 score, int32 len, len bytes
 * (little endian). The file does not store the token count (run.c takes it from the checkpoint), so without
 * `expectedVocabSize` every entry up to the end of the file is read.
 */
export function parseLlama2cTokenizer(data: Uint8Array, file: string, expectedVocabSize?: number): Llama2cVocab {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const fail = (offset: number, field: string, why: string): never => {
    throw new InvalidArgumentError(`${file}: ${why} at byte offset ${offset} (${field})`, 'tokenizer');
  };
  if (data.byteLength < 4) fail(0, 'max_token_length', `truncated: ${data.byteLength} bytes`);
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0) fail(0, 'max_token_length', 'expected a positive int32');
  const pieces: Uint8Array[] = [];
  const scores: number[] = [];
  let offset = 4;
  while (offset < data.byteLength && (expectedVocabSize === undefined || pieces.length < expectedVocabSize)) {
    const i = pieces.length;
    if (offset + 4 > data.byteLength) fail(offset, `tokens[${i}].score`, 'truncated float32');
    scores.push(view.getFloat32(offset, true));
    offset += 4;
    if (offset + 4 > data.byteLength) fail(offset, `tokens[${i}].len`, 'truncated int32');
    const len = view.getInt32(offset, true);
    if (len < 0 || len > maxTokenLength) {
      fail(offset, `tokens[${i}].len`, `length outside [0, max_token_length=${maxTokenLength}]`);
    }
    offset += 4;
    if (offset + len > data.byteLength) {
      fail(offset, `tokens[${i}].bytes`, `truncated: ${len} bytes needed, ${data.byteLength - offset} left`);
    }
    pieces.push(data.slice(offset, offset + len));
    offset += len;
  }
  if (expectedVocabSize !== undefined && pieces.length < expectedVocabSize) {
    fail(offset, `tokens[${pieces.length}]`, `truncated: ${pieces.length} of ${expectedVocabSize} tokens present`);
  }
  if (expectedVocabSize !== undefined && offset < data.byteLength) {
    fail(offset, 'end of file', `${data.byteLength - offset} trailing bytes after ${expectedVocabSize} tokens`);
  }
  // encode's byte fallback relies on run.c's fixed layout: <0x00>..<0xFF> at ids 3..258.
  if (pieces.length < BYTE_OFFSET + 256) {
    fail(offset, `tokens[${pieces.length}]`, `only ${pieces.length} tokens; byte-fallback pieces need ids 3..258`);
  }
  for (let b = 0; b < 256; b++) {
    if (byteFallbackValue(pieces[b + BYTE_OFFSET]) !== b) {
      fail(4, `tokens[${b + BYTE_OFFSET}]`, `expected byte piece <0x${hex2(b)}>`);
    }
  }
  return { maxTokenLength, pieces, scores: Float32Array.from(scores) };
}

function hex2(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

/**
 * llama2.c's SentencePiece-derived BPE (run.c `encode`/`decode`), reproduced id for id. Pieces are byte strings;
 * a space is a literal ' ' (the exporter replaced '▁').
 */
export class Llama2cTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId = LLAMA2C_BOS;
  readonly eosId = LLAMA2C_EOS;
  private readonly pieces: Uint8Array[];
  private readonly scores: Float32Array;
  /** Lookup key per id: the piece as a C string would see it (up to the first NUL), as a binary string. */
  private readonly keys: string[];
  /** Byte string -> first id with that piece (run.c's bsearch over a sorted vocab; tok files have no duplicates). */
  private readonly idByKey = new Map<string, number>();
  /** (left id, right id) -> merged id or -1, filled lazily. */
  private readonly pairCache = new Map<number, number>();
  /** Codepoint -> its initial ids (one piece or its byte-fallback bytes), filled lazily. */
  private readonly codepointIds = new Map<string, number[]>();
  /** ' ' when no piece holds a space after a non-space (words encode independently), else undefined. */
  private readonly wordMarker: string | undefined;
  /** Word -> its ids, for words up to WORD_CACHE_MAX_LENGTH; cleared when it reaches WORD_CACHE_ENTRIES. */
  private readonly wordCache = new Map<string, number[]>();

  constructor(vocab: Llama2cVocab, file = 'tokenizer.bin') {
    this.pieces = vocab.pieces;
    this.scores = vocab.scores;
    this.vocabSize = vocab.pieces.length;
    this.keys = vocab.pieces.map((p) => {
      const nul = p.indexOf(0);
      return bytesToKey(nul < 0 ? p : p.subarray(0, nul));
    });
    this.keys.forEach((key, id) => {
      if (!this.idByKey.has(key)) this.idByKey.set(key, id);
    });
    if (!this.idByKey.has(' ')) {
      throw new InvalidArgumentError(`${file}: no " " piece, needed as the dummy prefix (pieces)`, 'tokenizer');
    }
    this.wordMarker = piecesKeepWordBoundaries(this.keys, ' ') ? ' ' : undefined;
  }

  /**
   * run.c's encode. One deliberate difference: run.c receives a C string and so stops at the first NUL;
   * here a NUL is text like any other and encodes through byte fallback as <0x00>, so no input is cut short.
   */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    for (const part of this.encodeParts(text, opts)) for (let i = 0; i < part.length; i++) out.push(part[i]);
    return out;
  }

  /**
   * {@link encode} as a sequence of parts (BOS, one part per word, EOS) whose concatenation is the encoding; parts
   * may be shared cached arrays, never to be mutated. run.c merges over the whole buffer at once; when no piece
   * holds a space after a non-space (tok512.bin and every SentencePiece export), no merge can cross a word
   * boundary, so merging word by word makes the same choices — in linear time with a per-word cache. BOS is a
   * part of its own (no piece ever concatenates with its "\n<s>\n"); runs over MAX_SEGMENT_LENGTH are cut.
   */
  *encodeParts(text: string, opts: EncodeOptions = {}): Generator<number[]> {
    if (opts.bos) yield [LLAMA2C_BOS];
    // run.c: add_dummy_prefix (the " " piece), but only for non-empty text.
    if (text.length > 0) for (const word of segments(' ' + text, this.wordMarker)) yield this.encodeWord(word);
    if (opts.eos) yield [LLAMA2C_EOS];
  }

  private encodeWord(word: string): number[] {
    const cacheable = word.length <= WORD_CACHE_MAX_LENGTH;
    if (cacheable) {
      const hit = this.wordCache.get(word);
      if (hit) return hit;
    }
    const tokens: number[] = [];
    // One lookup per codepoint; codepoints missing from the vocab fall back to their UTF-8 bytes. (run.c walks
    // raw bytes, but a JS string always encodes to valid UTF-8, so its codepoint grouping is exactly this.)
    for (const ch of word) {
      let ids = this.codepointIds.get(ch);
      if (ids === undefined) {
        const bytes = utf8Encoder.encode(ch);
        const id = this.idByKey.get(bytesToKey(bytes));
        ids = id !== undefined ? [id] : Array.from(bytes, (b) => b + BYTE_OFFSET);
        this.codepointIds.set(ch, ids);
      }
      for (const id of ids) tokens.push(id);
    }
    const merged = this.merge(tokens);
    if (cacheable) {
      if (this.wordCache.size >= WORD_CACHE_ENTRIES) this.wordCache.clear();
      this.wordCache.set(word, merged);
    }
    return merged;
  }

  /**
   * run.c repeatedly merges the adjacent pair whose concatenation is a piece with the highest score (the leftmost
   * such pair on ties; scores must exceed -1e10). A heap ordered by (score desc, original position asc) over a
   * linked list makes exactly the same choices in O(n log n) instead of O(n^2).
   */
  private merge(ids: number[]): number[] {
    const n = ids.length;
    if (n < 2) return ids;
    const tok = Int32Array.from(ids);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const version = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new MinHeap<PairCandidate>((a, b) => (a.score !== b.score ? a.score > b.score : a.left < b.left));
    const consider = (left: number): void => {
      const right = next[left];
      if (left < 0 || right < 0) return;
      const merged = this.mergedId(tok[left], tok[right]);
      if (merged < 0 || !(this.scores[merged] > MERGE_SCORE_FLOOR)) return;
      heap.push({ score: this.scores[merged], left, right, merged, leftVersion: version[left], rightVersion: version[right] });
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    while (heap.size > 0) {
      const c = heap.pop();
      const stale =
        !alive[c.left] || !alive[c.right] || next[c.left] !== c.right || version[c.left] !== c.leftVersion || version[c.right] !== c.rightVersion;
      if (stale) continue;
      tok[c.left] = c.merged;
      version[c.left]++;
      alive[c.right] = 0;
      const after = next[c.right];
      next[c.left] = after;
      if (after >= 0) prev[after] = c.left;
      consider(prev[c.left]);
      consider(c.left);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(tok[i]);
    return out;
  }

  private mergedId(left: number, right: number): number {
    const pairKey = left * this.vocabSize + right;
    let id = this.pairCache.get(pairKey);
    if (id === undefined) {
      id = this.idByKey.get(this.keys[left] + this.keys[right]) ?? -1;
      this.pairCache.set(pairKey, id);
    }
    return id;
  }

  decode(ids: number[]): string {
    const chunks: Uint8Array[] = [];
    let prev = SEQUENCE_START;
    for (const id of ids) {
      if (id === LLAMA2C_BOS || id === LLAMA2C_EOS) {
        prev = id;
        continue;
      }
      chunks.push(this.tokenBytes(prev, id));
      prev = id;
    }
    return utf8Decode(concatBytes(chunks));
  }

  tokenBytes(prev: number, id: number): Uint8Array {
    let piece = this.piece(id);
    // run.c: following BOS, the SentencePiece decoder strips the leading whitespace of the piece.
    if ((prev === LLAMA2C_BOS || prev === SEQUENCE_START) && piece[0] === 0x20) piece = piece.subarray(1);
    const byte = byteFallbackValue(piece);
    return byte >= 0 ? Uint8Array.of(byte) : piece;
  }

  decodeToken(prev: number, id: number): string {
    return utf8Decode(this.tokenBytes(prev, id));
  }

  idToPiece(id: number): string {
    return utf8Decode(this.piece(id));
  }

  /** The score run.c merges by (float32). */
  score(id: number): number {
    return this.scores[this.checkId(id)];
  }

  private piece(id: number): Uint8Array {
    return this.pieces[this.checkId(id)];
  }

  private checkId(id: number): number {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new InvalidArgumentError(`token id ${id} outside [0, ${this.vocabSize})`, 'id');
    }
    return id;
  }
}

interface PairCandidate {
  score: number;
  left: number;
  right: number;
  merged: number;
  leftVersion: number;
  rightVersion: number;
}

export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
