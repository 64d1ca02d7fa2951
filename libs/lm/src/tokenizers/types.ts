/** Options for {@link Tokenizer.encode}. Both default to false, as in llama2.c run.c's `encode(t, text, bos, eos, ...)`. */
export interface EncodeOptions {
  /** Prepend exactly one BOS id. */
  bos?: boolean;
  /** Append exactly one EOS id. */
  eos?: boolean;
}

/**
 * `prev` value meaning "nothing precedes this token" (start of a sequence). Pieces are decoded there as they are
 * after BOS: SentencePiece-style tokenizers drop the dummy-prefix space of the first piece.
 */
export const SEQUENCE_START = -1;

/** A text <-> token id mapping shared by the llama2.c and Hugging Face tokenizers. */
export interface Tokenizer {
  readonly vocabSize: number;
  /** Id of the beginning-of-sequence token, or -1 when the tokenizer has none. */
  readonly bosId: number;
  /** Id of the end-of-sequence token, or -1 when the tokenizer has none. */
  readonly eosId: number;
  /** Token ids of `text`; no special tokens unless asked for through `opts`. */
  encode(text: string, opts?: EncodeOptions): number[];
  /**
   * Text of a whole sequence: BOS/EOS ids are dropped, the first piece is decoded as if it followed BOS, and
   * byte-fallback bytes are joined before UTF-8 decoding.
   */
  decode(ids: number[]): string;
  /**
   * The raw bytes token `id` stands for when it follows token `prev` (llama2.c run.c `decode`): the leading space
   * of the piece is dropped after BOS (or at {@link SEQUENCE_START}) and `<0xNN>` pieces become the byte NN.
   * This is the primitive streaming is built on (see StreamDecoder).
   */
  tokenBytes(prev: number, id: number): Uint8Array;
  /**
   * {@link tokenBytes} as a string. A lone byte-fallback byte of a multi-byte UTF-8 character decodes to U+FFFD
   * here; use StreamDecoder to print generated tokens.
   */
  decodeToken(prev: number, id: number): string;
  /** The vocabulary entry of `id` as stored by the tokenizer (e.g. " Once" for tok512.bin, "▁Once" for tokenizer.json). */
  idToPiece(id: number): string;
}
