import { SEQUENCE_START, type Tokenizer } from './types.js';

export interface StreamDecoderOptions {
  /** The token before the first pushed id (default: start of sequence, decoded like "after BOS"). */
  prev?: number;
  /** Emit nothing for BOS and EOS ids (default true). run.c stops at BOS; SentencePiece never prints controls. */
  skipBosEos?: boolean;
  /**
   * Drop single-byte pieces that are ASCII control characters other than whitespace, like run.c's `safe_printf`
   * (default false). Bytes >= 0x80 are always kept: they are parts of UTF-8 characters split by byte fallback,
   * which run.c's `safe_printf` drops but which belong in the text.
   */
  printableOnly?: boolean;
}

/**
 * Turns a stream of generated token ids into text chunks. Byte-fallback tokens can split one UTF-8 character
 * over several ids; the bytes are held back until the character is complete, so every chunk is valid text and
 * the concatenation of all chunks (plus {@link flush}) equals the decoded byte stream.
 */
export class StreamDecoder {
  private prev: number;
  private readonly skipBosEos: boolean;
  private readonly printableOnly: boolean;
  private readonly utf8 = new TextDecoder('utf-8');

  constructor(
    private readonly tokenizer: Tokenizer,
    opts: StreamDecoderOptions = {},
  ) {
    this.prev = opts.prev ?? SEQUENCE_START;
    this.skipBosEos = opts.skipBosEos ?? true;
    this.printableOnly = opts.printableOnly ?? false;
  }

  /** The text that became complete with token `id` (possibly empty). */
  push(id: number): string {
    const prev = this.prev;
    this.prev = id;
    if (this.skipBosEos && (id === this.tokenizer.bosId || id === this.tokenizer.eosId)) return '';
    const bytes = this.tokenizer.tokenBytes(prev, id);
    if (this.printableOnly && bytes.length === 1 && isUnprintableAscii(bytes[0])) return '';
    return this.utf8.decode(bytes, { stream: true });
  }

  /** Ends the stream: an incomplete trailing UTF-8 sequence becomes U+FFFD. */
  flush(): string {
    return this.utf8.decode();
  }
}

function isUnprintableAscii(b: number): boolean {
  const isSpace = b === 0x20 || (b >= 0x09 && b <= 0x0d);
  return b < 0x80 && !isSpace && (b < 0x20 || b === 0x7f);
}
