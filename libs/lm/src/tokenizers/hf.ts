import { Tokenizer as HfLibTokenizer } from '@huggingface/tokenizers';
import { InvalidArgumentError } from '@memorize/errors';
import { byteFallbackValue, utf8Decode, utf8Encoder } from './bytes.js';
import { SEQUENCE_START, type EncodeOptions, type Tokenizer } from './types.js';
import { MAX_SEGMENT_LENGTH, piecesKeepWordBoundaries, segments } from './slices.js';

/** The parts of tokenizer.json this wrapper reads itself (the library reads the rest). */
interface DecoderConfig {
  type?: string;
  decoders?: DecoderConfig[];
  pattern?: { String?: string };
  content?: string;
  replacement?: string;
  start?: number;
  prepend_scheme?: string;
  add_prefix_space?: boolean;
}
interface AddedTokenConfig {
  id: number;
  content: string;
  special?: boolean;
}
interface TemplatePiece {
  SpecialToken?: { id: string };
  Sequence?: { id: string };
}
interface TokenizerJson {
  model: { type?: string; vocab?: unknown; merges?: unknown[] };
  added_tokens?: AddedTokenConfig[];
  decoder?: DecoderConfig | null;
  post_processor?: { type?: string; single?: TemplatePiece[] } | null;
  normalizer?: NormalizerConfig | null;
  pre_tokenizer?: unknown;
}
/** tokenizer_config.json / special_tokens_map.json: a token is a string or an AddedToken-like object. */
export type SpecialTokenRef = string | { content?: string } | null | undefined;
export interface HfTokenizerConfig {
  bos_token?: SpecialTokenRef;
  eos_token?: SpecialTokenRef;
  clean_up_tokenization_spaces?: boolean;
  [key: string]: unknown;
}

/** How a single token turns into bytes, derived from the tokenizer.json decoder. */
type PieceDecoding =
  { kind: 'byte-level' } | { kind: 'sentencepiece'; spaceMarker: string; byteFallback: boolean; stripLeadingSpace: boolean } | { kind: 'library' };

/**
 * A Hugging Face tokenizer.json through @huggingface/tokenizers (normalizer, pre-tokenizer and model), with
 * special tokens handled here so that `encode(text, {bos: true})` adds exactly one BOS whatever the
 * post-processor does. Text is always plain text: a literal "<s>" in it is encoded as characters, as
 * SentencePiece and llama2.c do (HF's default would turn it into the BOS id).
 */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  private readonly lib: HfLibTokenizer;
  private readonly vocab: Map<string, number>;
  private readonly pieceById: string[] = [];
  private readonly specialIds = new Set<number>();
  private readonly pieceDecoding: PieceDecoding;
  private readonly cleanUpSpaces: boolean;
  private readonly byteLevelDecoder = byteLevelUnicodeToByte();
  /** The space marker words may be split before (see {@link encodeParts}), or undefined when that is not exact. */
  private readonly wordMarker: string | undefined;
  /** Set when long texts may be normalized chunk by chunk (see {@link normalizedWords}). */
  private readonly chunked: { marker: string; prefixLength: number } | undefined;

  constructor(json: unknown, config: HfTokenizerConfig = {}, file = 'tokenizer.json') {
    const tj = validateTokenizerJson(json, file);
    this.cleanUpSpaces = config.clean_up_tokenization_spaces ?? false;
    try {
      this.lib = new HfLibTokenizer(tj, { ...config, clean_up_tokenization_spaces: this.cleanUpSpaces });
    } catch {
      // The library's message may quote the file's content: name the file only.
      throw new InvalidArgumentError(
        `${file}: unsupported or malformed tokenizer (expected a tokenizer.json the tokenizers library accepts)`,
        'tokenizer',
      );
    }
    this.vocab = this.lib.get_vocab(true);
    let maxId = -1;
    for (const [piece, id] of this.vocab) {
      this.pieceById[id] = piece;
      maxId = Math.max(maxId, id);
    }
    this.vocabSize = maxId + 1;
    for (const t of tj.added_tokens ?? []) if (t.special) this.specialIds.add(t.id);
    this.bosId = this.resolveSpecial(config.bos_token, templateBos(tj), ['<s>', '<|begin_of_text|>', '<bos>']);
    this.eosId = this.resolveSpecial(config.eos_token, undefined, ['</s>', '<|end_of_text|>', '<|endoftext|>', '<eos>']);
    this.pieceDecoding = pieceDecodingOf(tj.decoder ?? null);
    this.wordMarker = wordMarkerOf(tj, this.pieceDecoding, this.vocab.keys());
    this.chunked = this.wordMarker === undefined ? undefined : chunkedNormalizing(tj, this.wordMarker, this.lib);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    for (const part of this.encodeParts(text, opts)) for (let i = 0; i < part.length; i++) ids.push(part[i]);
    return ids;
  }

  /**
   * {@link encode} as a sequence of parts whose concatenation is the encoding. The normalizer and pre-tokenizer
   * run over the whole text; each pre-tokenized word then goes to the model in segments: split before each
   * space marker that follows another character when no merge or piece can span such a boundary (so results are
   * unchanged, and the library's per-word cache applies — a whole text without a pre-tokenizer is otherwise one
   * word and merges at ~14 s/MB), and every MAX_SEGMENT_LENGTH units of a longer whitespace-free run.
   */
  *encodeParts(text: string, opts: EncodeOptions = {}): Generator<number[]> {
    if (opts.bos) yield [this.requireSpecial(this.bosId, 'bos')];
    // HF normalizers (Prepend "▁") leave empty input empty; the JS library would prepend anyway.
    if (text.length > 0) {
      const model = this.lib.model;
      if (!model) throw new InvalidArgumentError('tokenizer.json has no model', 'model');
      let batch: string[] = [];
      let batchLength = 0;
      const flush = (): number[] => {
        const ids: number[] = [];
        for (const token of model(batch)) {
          const id = this.vocab.get(token) ?? model.unk_token_id;
          if (id === undefined) throw new InvalidArgumentError(`no id for token ${JSON.stringify(token)} and no unk token`, 'text');
          ids.push(id);
        }
        batch = [];
        batchLength = 0;
        return ids;
      };
      for (const words of this.normalizedWords(text)) {
        for (const word of words) {
          for (const segment of segments(word, this.wordMarker)) {
            batch.push(segment);
            batchLength += segment.length;
            // Small parts (a few ms each), so that encodeBounded can yield between them.
            if (batch.length >= 64 || batchLength >= 2048) yield flush();
          }
        }
        if (batch.length > 0) yield flush();
      }
    }
    if (opts.eos) yield [this.requireSpecial(this.eosId, 'eos')];
  }

  /**
   * The pre-tokenized words of the normalized text, in pieces. When normalizing is per character (see
   * {@link chunkedNormalizing}) the text is normalized CHUNK_LENGTH characters at a time, cut before a space that
   * follows another character (a word boundary the segmentation cuts at anyway, so the ids are the same); else the
   * normalizer and pre-tokenizer run over the whole text at once.
   */
  private *normalizedWords(text: string): Generator<string[]> {
    const lib = this.lib;
    const chunked = this.chunked;
    if (!chunked || text.length <= CHUNK_LENGTH) {
      const normalized = lib.normalizer ? lib.normalizer(text) : text;
      yield lib.pre_tokenizer ? lib.pre_tokenizer(normalized, { section_index: 0 }) : [normalized];
      return;
    }
    for (let start = 0; start < text.length;) {
      let end = Math.min(start + CHUNK_LENGTH, text.length);
      const wordStart = (i: number): boolean => text[i] === ' ' && text[i - 1] !== ' ' && text[i - 1] !== chunked.marker;
      // A whitespace-free run is cut anyway, where the segmentation of the whole text would cut it too (every
      // MAX_SEGMENT_LENGTH units of normalized text, the prefix included), never between a surrogate pair.
      const limit = MAX_CHUNK_LENGTH - (start === 0 ? chunked.prefixLength : 0);
      while (end < text.length && !wordStart(end) && end - start < limit) end++;
      if (end < text.length && text[end] !== ' ' && /[\udc00-\udfff]/.test(text[end])) end++;
      const chunk = text.slice(start, end);
      const normalized = lib.normalizer ? lib.normalizer(chunk) : chunk;
      yield [start === 0 ? normalized : normalized.slice(chunked.prefixLength)];
      start = end;
    }
  }

  decode(ids: number[]): string {
    const kept = ids.filter((id) => id !== this.bosId && id !== this.eosId);
    if (kept.length === 0) return '';
    for (const id of kept) this.checkId(id);
    return this.lib.decode(kept, { skip_special_tokens: false, clean_up_tokenization_spaces: this.cleanUpSpaces });
  }

  tokenBytes(prev: number, id: number): Uint8Array {
    const piece = this.idToPiece(id);
    if (this.specialIds.has(id)) return utf8Encoder.encode(piece);
    const d = this.pieceDecoding;
    switch (d.kind) {
      case 'byte-level': {
        const out = new Uint8Array(piece.length);
        let n = 0;
        for (const ch of piece) {
          const b = this.byteLevelDecoder.get(ch);
          if (b === undefined) return utf8Encoder.encode(piece); // not a byte-level piece (e.g. an added token)
          out[n++] = b;
        }
        return out.subarray(0, n);
      }
      case 'sentencepiece': {
        let bytes = utf8Encoder.encode(piece.split(d.spaceMarker).join(' '));
        if (d.stripLeadingSpace && (prev === this.bosId || prev === SEQUENCE_START) && bytes[0] === 0x20) {
          bytes = bytes.subarray(1);
        }
        const byte = d.byteFallback ? byteFallbackValue(bytes) : -1;
        return byte >= 0 && bytes.length === 6 ? Uint8Array.of(byte) : bytes;
      }
      case 'library':
        return utf8Encoder.encode(this.lib.decode([id], { skip_special_tokens: false }));
    }
  }

  decodeToken(prev: number, id: number): string {
    return utf8Decode(this.tokenBytes(prev, id));
  }

  idToPiece(id: number): string {
    return this.pieceById[this.checkId(id)];
  }

  private checkId(id: number): number {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.pieceById[id] === undefined) {
      throw new InvalidArgumentError(`token id ${id} outside the vocabulary (size ${this.vocabSize})`, 'id');
    }
    return id;
  }

  private resolveSpecial(configured: SpecialTokenRef, fromTemplate: string | undefined, wellKnown: string[]): number {
    const name = typeof configured === 'string' ? configured : configured?.content;
    for (const candidate of [name, fromTemplate, ...wellKnown]) {
      if (candidate === undefined) continue;
      const id = this.vocab.get(candidate);
      if (id !== undefined) return id;
    }
    return -1;
  }

  private requireSpecial(id: number, which: string): number {
    if (id < 0) throw new InvalidArgumentError(`this tokenizer has no ${which} token`, which);
    return id;
  }
}

function validateTokenizerJson(json: unknown, file: string): TokenizerJson {
  const bad = (field: string, why: string): never => {
    throw new InvalidArgumentError(`${file}: ${why} (field ${field})`, 'tokenizer');
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('$', 'not a JSON object');
  const tj = json as Record<string, unknown>;
  const model = tj.model as Record<string, unknown> | undefined;
  if (typeof model !== 'object' || model === null) bad('model', 'missing');
  if (typeof model!.type !== 'string') bad('model.type', 'missing');
  if (typeof model!.vocab !== 'object' || model!.vocab === null) bad('model.vocab', 'missing');
  if (model!.type === 'BPE' && !Array.isArray(model!.merges)) bad('model.merges', 'missing');
  if (tj.added_tokens !== undefined) {
    if (!Array.isArray(tj.added_tokens)) bad('added_tokens', 'not an array');
    (tj.added_tokens as unknown[]).forEach((t, i) => {
      const at = t as Record<string, unknown>;
      if (typeof at?.id !== 'number' || typeof at?.content !== 'string') bad(`added_tokens[${i}]`, 'needs id and content');
    });
  }
  return {
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    added_tokens: [],
    ...tj,
  } as unknown as TokenizerJson;
}

function templateBos(tj: TokenizerJson): string | undefined {
  const single = tj.post_processor?.type === 'TemplateProcessing' ? tj.post_processor.single : undefined;
  return single?.[0]?.SpecialToken?.id;
}

function flattenDecoders(d: DecoderConfig | null): DecoderConfig[] {
  if (!d) return [];
  return d.type === 'Sequence' ? (d.decoders ?? []).flatMap((x) => flattenDecoders(x)) : [d];
}

function pieceDecodingOf(decoder: DecoderConfig | null): PieceDecoding {
  const steps = flattenDecoders(decoder);
  if (steps.some((s) => s.type === 'ByteLevel')) return { kind: 'byte-level' };
  const replace = steps.find((s) => s.type === 'Replace' && s.content === ' ' && s.pattern?.String !== undefined);
  const metaspace = steps.find((s) => s.type === 'Metaspace');
  const spaceMarker = replace?.pattern?.String ?? (metaspace ? (metaspace.replacement ?? '▁') : undefined);
  if (spaceMarker === undefined) return { kind: 'library' };
  const stripByStrip = steps.some((s) => s.type === 'Strip' && s.content === ' ' && (s.start ?? 0) > 0);
  const stripByMetaspace = metaspace !== undefined && metaspace.prepend_scheme !== 'never' && metaspace.add_prefix_space !== false;
  return {
    kind: 'sentencepiece',
    spaceMarker,
    byteFallback: steps.some((s) => s.type === 'ByteFallback'),
    stripLeadingSpace: stripByStrip || stripByMetaspace,
  };
}

/** Characters normalized at once (see HfTokenizer.normalizedWords); a chunk ends at the next word boundary. */
const CHUNK_LENGTH = 32 * 1024;
const MAX_CHUNK_LENGTH = 16 * MAX_SEGMENT_LENGTH;

/**
 * Whether the text may be normalized in chunks cut before a space: no pre-tokenizer, and a normalizer that works
 * character by character — an optional leading Prepend, then Replace of a single character (which must turn ' '
 * into the word marker, so chunk boundaries are word boundaries), Lowercase and Unicode normal forms (whose
 * composition never crosses a space; those also keep a cut inside a long whitespace-free run exact only up to
 * combining marks at the cut). prefixLength: what the Prepend adds to every chunk, dropped after the first.
 */
function chunkedNormalizing(tj: TokenizerJson, marker: string, lib: HfLibTokenizer): { marker: string; prefixLength: number } | undefined {
  if (tj.pre_tokenizer) return undefined;
  const steps = flattenNormalizers(tj.normalizer ?? null);
  let spaceToMarker = false;
  for (const [i, step] of steps.entries()) {
    if (step.type === 'Prepend' && i === 0) continue;
    if (step.type === 'Replace' && step.pattern?.String?.length === 1) {
      if (step.pattern.String === ' ' && step.content === marker) spaceToMarker = true;
      else if (step.pattern.String === ' ' || step.content === ' ' || step.content === marker) return undefined;
      continue;
    }
    if (['Lowercase', 'NFC', 'NFD', 'NFKC', 'NFKD'].includes(step.type ?? '')) continue;
    return undefined;
  }
  if (!spaceToMarker && marker !== ' ') return undefined;
  return { marker, prefixLength: steps[0]?.type === 'Prepend' && lib.normalizer ? lib.normalizer('').length : 0 };
}

interface NormalizerConfig {
  type?: string;
  normalizers?: NormalizerConfig[];
  pattern?: { String?: string; Regex?: string };
  content?: string;
  prepend?: string;
}

function flattenNormalizers(n: NormalizerConfig | null): NormalizerConfig[] {
  if (!n) return [];
  return n.type === 'Sequence' ? (n.normalizers ?? []).flatMap((x) => flattenNormalizers(x)) : [n];
}

/**
 * A BPE model with a SentencePiece-style space marker: the marker when neither a vocabulary piece nor the
 * concatenation of any merge holds it after another character (then no merge crosses a word boundary), else undefined.
 */
function wordMarkerOf(tj: TokenizerJson, decoding: PieceDecoding, vocab: Iterable<string>): string | undefined {
  if (tj.model.type !== 'BPE' || decoding.kind !== 'sentencepiece' || decoding.spaceMarker.length !== 1) return undefined;
  const marker = decoding.spaceMarker;
  const merges = (tj.model.merges ?? []).map((m) => (Array.isArray(m) ? m.join('') : String(m).replace(' ', '')));
  return piecesKeepWordBoundaries(vocab, marker) && piecesKeepWordBoundaries(merges, marker) ? marker : undefined;
}

/** GPT-2's byte <-> printable unicode table, inverted: the ByteLevel decoder's mapping. */
function byteLevelUnicodeToByte(): Map<string, number> {
  const bytes: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bytes.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bytes.push(b);
  for (let b = 0xae; b <= 0xff; b++) bytes.push(b);
  const codepoints = [...bytes];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      codepoints.push(256 + extra++);
    }
  }
  const map = new Map<string, number>();
  bytes.forEach((b, i) => map.set(String.fromCodePoint(codepoints[i]), b));
  return map;
}
