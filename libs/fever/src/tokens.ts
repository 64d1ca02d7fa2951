/** Tokenisation and chunking of documents, and k-shingle keys of token ids. */
import { InvalidArgumentError } from '@memorize/errors';
import { yieldToEventLoop } from '@memorize/tensor';

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

export async function tokenizeDocuments(docs: readonly DocumentText[], tokenizer: TextTokenizer): Promise<TokenizedDocument[]> {
  // Document by document with the event loop yielded every 10 ms: a service building a large corpus keeps
  // answering health checks and other calls meanwhile.
  const out: TokenizedDocument[] = [];
  let sliceStart = performance.now();
  for (const [index, doc] of docs.entries()) {
    out.push({ id: doc.id, index, tokens: tokenizer.encode(doc.text, { bos: true }) });
    if (performance.now() - sliceStart >= 10) {
      await yieldToEventLoop();
      sliceStart = performance.now();
    }
  }
  return out;
}

/**
 * Splits each document (BOS + tokens) into consecutive windows of at most maxLength tokens. Every chunk has
 * at least two tokens (one prediction target), so it is a valid training row.
 */
export function chunkDocuments(docs: readonly TokenizedDocument[], maxLength: number): Chunk[] {
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw new InvalidArgumentError(`max_length must be a positive integer (got ${maxLength})`, 'max_length');
  }
  if (maxLength < 2) throw new InvalidArgumentError(`max_length must be at least 2 (a row needs a target), got ${maxLength}`, 'max_length');
  const out: Chunk[] = [];
  for (const doc of docs) {
    if (doc.tokens.length < 2) continue;
    for (let start = 0, chunkIndex = 0; start < doc.tokens.length; start += maxLength, chunkIndex++) {
      // A lone last token would be a row without a target: it takes its predecessor as context instead.
      const from = doc.tokens.length - start === 1 ? start - 1 : start;
      out.push({ docId: doc.id, docIndex: doc.index, chunkIndex, tokens: doc.tokens.slice(from, start + maxLength) });
    }
  }
  return out;
}

/** A k-shingle's stable key: its token ids joined by spaces ("12 7 99"). Exact, no collisions. */
export function shingleKey(ids: readonly number[]): string {
  return ids.join(' ');
}

// Numeric shingle hashes (for MinHash entry sets and the data service) live in @memorize/memory
// (shingleSetHashes): one definition, since memory files depend on it.
