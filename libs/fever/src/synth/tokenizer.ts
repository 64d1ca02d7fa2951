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

/**
 * A word-level HF tokenizer.json: the WordLevel model over a fixed vocabulary, the Whitespace pre-tokenizer
 * (words are runs of \w or of other non-space characters, so "1895." is "1895" "."), no decoder (tokens are
 * joined by single spaces). Ids: 0 <unk>, 1 <s> (BOS), 2 </s> (EOS), 3 <pad>, then the words in code-point order.
 */
export interface WordLevelTokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: HfTokenizerJson['added_tokens'];
  normalizer: null;
  pre_tokenizer: { type: 'Whitespace' };
  post_processor: null;
  decoder: null;
  model: { type: 'WordLevel'; vocab: Record<string, number>; unk_token: string };
}

export const WORD_SPECIAL_TOKENS = { unk: 0, bos: 1, eos: 2, pad: 3 } as const;
const WORD_SPECIALS = ['<unk>', '<s>', '</s>', '<pad>'] as const;

/** The words of `text` as the Whitespace pre-tokenizer cuts them (the HF library's pattern \w+|[^\w\s]+). */
export function wordsOf(text: string): string[] {
  return text.match(/\w+|[^\w\s]+/g) ?? [];
}

/** The text a word-level tokenizer decodes `text` to: its words joined by single spaces. */
export function wordLevelText(text: string): string {
  return wordsOf(text).join(' ');
}

export function wordLevelTokenizerJson(texts: Iterable<string>): WordLevelTokenizerJson {
  const words = new Set<string>();
  for (const text of texts) for (const word of wordsOf(text)) words.add(word);
  for (const special of WORD_SPECIALS) words.delete(special);
  const vocab: Record<string, number> = {};
  WORD_SPECIALS.forEach((t, id) => (vocab[t] = id));
  // Code-point order (not locale order): the same words give the same ids everywhere.
  [...words].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).forEach((word, i) => (vocab[word] = WORD_SPECIALS.length + i));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: WORD_SPECIALS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
  };
}

/** tokenizer_config.json companion of the word-level tokenizer. */
export function wordLevelTokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: '<pad>',
    add_bos_token: true,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
  };
}
