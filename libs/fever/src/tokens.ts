/** Tokenisation and chunking of documents, and k-shingle sets of token ids. */
import { InvalidArgumentError } from '@memorize/tensor';

/** The only tokenizer surface the pipeline needs (libs/lm's tokenizers satisfy it). */
export interface TextTokenizer {
  encode(text: string, opts?: { bos?: boolean }): number[];
}

export interface DocumentText {
  id: string;
  text: string;
}

export interface TokenizedDocument {
  id: string;
  /** Position of the document in the corpus. */
  index: number;
  /** Tokens of the document text with a leading BOS. */
  tokens: number[];
}

export interface Chunk {
  /** The page id the chunk comes from. */
  docId: string;
  docIndex: number;
  /** Position of the chunk within its document. */
  chunkIndex: number;
  tokens: number[];
}

export function tokenizeDocuments(docs: readonly DocumentText[], tokenizer: TextTokenizer): TokenizedDocument[] {
  return docs.map((doc, index) => ({ id: doc.id, index, tokens: tokenizer.encode(doc.text, { bos: true }) }));
}

/** Splits each document (BOS + tokens) into consecutive windows of at most maxLength tokens. */
export function chunkDocuments(docs: readonly TokenizedDocument[], maxLength: number): Chunk[] {
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw new InvalidArgumentError(`maxLength must be a positive integer (got ${maxLength})`, 'maxLength');
  }
  const out: Chunk[] = [];
  for (const doc of docs) {
    for (let start = 0, chunkIndex = 0; start < doc.tokens.length; start += maxLength, chunkIndex++) {
      out.push({ docId: doc.id, docIndex: doc.index, chunkIndex, tokens: doc.tokens.slice(start, start + maxLength) });
    }
  }
  return out;
}

/** A k-shingle's stable key: its token ids joined by spaces ("12 7 99"). Exact, no collisions. */
export function shingleKey(ids: readonly number[]): string {
  return ids.join(' ');
}

/**
 * The set of k-shingles (k consecutive token ids) of a token sequence, as stable string keys. A sequence
 * shorter than k (but non-empty) yields one shingle: the whole sequence.
 */
export function shingleSet(tokens: readonly number[], k: number): Set<string> {
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError(`k must be a positive integer (got ${k})`, 'k');
  const out = new Set<string>();
  if (tokens.length === 0) return out;
  if (tokens.length < k) {
    out.add(shingleKey(tokens));
    return out;
  }
  for (let i = 0; i + k <= tokens.length; i++) out.add(shingleKey(tokens.slice(i, i + k)));
  return out;
}

/**
 * 32-bit hash of a shingle (FNV-1a over the ids' little-endian bytes): a stable number per shingle for
 * MinHash-style uses. Different shingles may collide (rarely); use shingleKey when exactness matters.
 */
export function shingleHash(ids: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const id of ids) {
    for (let b = 0; b < 4; b++) {
      h ^= (id >>> (8 * b)) & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h >>> 0;
}

/** Sorted unique 32-bit shingle hashes of a sequence (same shingles as shingleSet). */
export function shingleHashes(tokens: readonly number[], k: number): Uint32Array {
  if (!Number.isInteger(k) || k < 1) throw new InvalidArgumentError(`k must be a positive integer (got ${k})`, 'k');
  const set = new Set<number>();
  if (tokens.length > 0 && tokens.length < k) set.add(shingleHash(tokens));
  for (let i = 0; i + k <= tokens.length; i++) set.add(shingleHash(tokens.slice(i, i + k)));
  return Uint32Array.from([...set].sort((a, b) => a - b));
}
