/**
 * A byte-level HF tokenizer.json for synthetic worlds: BPE with the 256 byte symbols and no merges, so
 * every text encodes (one token per UTF-8 byte) and small models get a tiny vocabulary.
 * Ids: 0 <unk>, 1 <s> (BOS), 2 </s> (EOS), 3 + byte.
 */

export interface HfTokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: Array<{ id: number; content: string; single_word: boolean; lstrip: boolean; rstrip: boolean; normalized: boolean; special: boolean }>;
  normalizer: null;
  pre_tokenizer: { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean };
  post_processor: null;
  decoder: { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean };
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: string;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: boolean;
    byte_fallback: boolean;
    vocab: Record<string, number>;
    merges: string[];
  };
}

export const SPECIAL_TOKENS = { unk: 0, bos: 1, eos: 2 } as const;
export const BYTE_OFFSET = 3;

/** GPT-2's reversible byte -> printable unicode character map used by ByteLevel pre-tokenizers. */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const out = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    out[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return out;
}

export function byteLevelTokenizerJson(): HfTokenizerJson {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  bytesToUnicode().forEach((ch, b) => (vocab[ch] = BYTE_OFFSET + b));
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const byteLevel = { type: 'ByteLevel' as const, add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: [],
    },
  };
}

/** tokenizer_config.json companion: no clean-up of spaces, so decode(encode(text)) === text. */
export function byteLevelTokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    add_bos_token: true,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
  };
}

/** The same encoding in plain TS (no tokenizer library): BOS optional, then 3 + each UTF-8 byte. */
export function encodeBytes(text: string, opts: { bos?: boolean } = {}): number[] {
  const bytes = Buffer.from(text, 'utf8');
  const out: number[] = opts.bos ? [SPECIAL_TOKENS.bos] : [];
  for (const b of bytes) out.push(BYTE_OFFSET + b);
  return out;
}
