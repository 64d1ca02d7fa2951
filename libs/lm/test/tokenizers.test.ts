import { mulberry32 } from '@memorize/tensor';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '@memorize/errors';
import { HfTokenizer, Llama2cTokenizer, loadTokenizer, parseLlama2cTokenizer, SEQUENCE_START, StreamDecoder } from '../src/tokenizers/index.js';
import { feverFiles, storiesDir as modelDir, storiesHf as hfDir, storiesTok as binPath } from '@memorize/testing';

interface Golden {
  generations: { prompt: string; text: string; prompt_tokens_with_bos: number[]; token_ids: number[] }[];
}
const golden = JSON.parse(await readFile(join(modelDir, 'golden-public.json'), 'utf8')) as Golden;
const bin = await loadTokenizer(binPath);
const hf = await loadTokenizer(join(hfDir, 'tokenizer.json'));

/** Seeded, so the generated strings are the same on every run. */
const prng = mulberry32;

const HANDWRITTEN = [
  '',
  ' ',
  '  ',
  '\n',
  '\t',
  'a',
  'Once upon a time',
  ' Once upon a time',
  'Once upon a time ',
  '   leading and trailing   ',
  'Lily and Timmy were happy. They played with the big red ball!',
  'multiple   spaces\tand\ttabs\n\nand blank lines\r\n',
  'café naïve résumé jalapeño Ångström',
  'Ünïcödé',
  '日本語のテキスト',
  '中文 测试',
  '한국어',
  'Привет, мир',
  'مرحبا',
  'emoji 🙂🚀👩‍👩‍👧 flags 🇫🇷',
  '“quoted” ‘single’ — dash – en… ellipsis',
  'nbsp\u00a0here',
  'zero\u200bwidth',
  'digits 0123456789 3.14159 1,000,000',
  'punctuation !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
  'x<s>y</s>z<unk>',
  '<0x41> looks like a byte piece',
  'NUL\u0000byte and control \u0001\u007f',
  'the the the the the',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  // Overlapping equal-score merges: run.c takes the leftmost pair.
  'ooo',
  'ooooo',
  'llll lll',
  'hhappppy',
  'Lilyyy',
  'cooool',
  'balll',
  'Pocahontas -LRB- born Matoaka , known as Amonute , 1596 -- 1617 -RRB- was a Native American woman',
];

const CHARSET = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ...' ,.!?;:\'"-()[]{}<>/\\@#$%^&*_+=~`|',
  ' ',
  ' ',
  ' ',
  '  ',
  '\n',
  '\t',
  '\r',
  ...'éèêëñüöäåçßøœ',
  ...'中文日本語한국어',
  ...'Жзщыя',
  ...'αβγδ',
  '“',
  '”',
  '’',
  '—',
  '–',
  '…',
  '\u00a0',
  '€',
  '™',
  '🙂',
  '🚀',
  '👍🏽',
  '𝔘',
  '\u200b',
];
const WORDS = [' the', ' and', ' was', ' Lily', ' Timmy', ' happy', ' little', ' friend', ' Once', ' upon', ' time', ' said', 'ing', 'ed'];

function randomStrings(count: number, seed: number): string[] {
  const rand = prng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = Math.floor(rand() * 60);
    let s = '';
    for (let j = 0; j < len; j++) {
      // Mix whole words (which exercise long merge chains) with single characters from a varied set.
      s += rand() < 0.3 ? WORDS[Math.floor(rand() * WORDS.length)] : CHARSET[Math.floor(rand() * CHARSET.length)];
    }
    out.push(s);
  }
  return out;
}

const RANDOM = randomStrings(400, 20240601);
const CORPUS = [...HANDWRITTEN, ...RANDOM];

/**
 * A literal port of llama2.c run.c `encode` (byte loop with the UTF-8 continuation rules, linear best-pair scan),
 * to check the heap-based encoder against. Keys are byte strings.
 */
function runCEncode(pieces: Uint8Array[], scores: Float32Array, text: string, bos: boolean, eos: boolean): number[] {
  const key = (b: Uint8Array | number[]) => String.fromCharCode(...b);
  const lookup = new Map<string, number>();
  pieces.forEach((p, i) => {
    if (!lookup.has(key(p))) lookup.set(key(p), i);
  });
  const bytes = new TextEncoder().encode(text);
  const tokens: number[] = [];
  if (bos) tokens.push(1);
  if (bytes.length > 0) tokens.push(lookup.get(' ')!);
  let buf: number[] = [];
  for (let c = 0; c < bytes.length; c++) {
    if ((bytes[c] & 0xc0) !== 0x80) buf = [];
    buf.push(bytes[c]);
    if (c + 1 < bytes.length && (bytes[c + 1] & 0xc0) === 0x80 && buf.length < 4) continue;
    const id = lookup.get(key(buf));
    if (id !== undefined) tokens.push(id);
    else for (const b of buf) tokens.push(b + 3);
    buf = [];
  }
  for (;;) {
    let bestScore = -1e10;
    let bestId = -1;
    let bestIdx = -1;
    for (let i = 0; i < tokens.length - 1; i++) {
      const id = lookup.get(key(pieces[tokens[i]]) + key(pieces[tokens[i + 1]]));
      if (id !== undefined && scores[id] > bestScore) {
        bestScore = scores[id];
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx === -1) break;
    tokens.splice(bestIdx, 2, bestId);
  }
  if (eos) tokens.push(2);
  return tokens;
}

test('tok512.bin encodes the golden prompt exactly as run.c did', () => {
  for (const g of golden.generations) {
    assert.deepEqual(bin.encode(g.prompt, { bos: true }), g.prompt_tokens_with_bos);
    assert.deepEqual(g.token_ids.slice(0, g.prompt_tokens_with_bos.length), g.prompt_tokens_with_bos);
  }
});

test('streaming the golden generation token by token reproduces run.c stdout text', () => {
  for (const g of golden.generations) {
    for (const tok of [bin, hf]) {
      const stream = new StreamDecoder(tok, { prev: g.token_ids[0] });
      let text = '';
      for (const id of g.token_ids.slice(1)) text += stream.push(id);
      text += stream.flush();
      assert.equal(text, g.text);
      // run.c-style decoding one piece at a time gives the same here (the only byte token is <0x0A>).
      let pieces = '';
      for (let i = 1; i < g.token_ids.length; i++) pieces += tok.decodeToken(g.token_ids[i - 1], g.token_ids[i]);
      assert.equal(pieces, g.text);
    }
  }
});

test('heap-based llama2.c encoder matches a literal port of run.c encode', async () => {
  const vocab = parseLlama2cTokenizer(new Uint8Array(await readFile(binPath)), binPath);
  for (const s of CORPUS) {
    assert.deepEqual(bin.encode(s), runCEncode(vocab.pieces, vocab.scores, s, false, false), JSON.stringify(s));
    assert.deepEqual(bin.encode(s, { bos: true, eos: true }), runCEncode(vocab.pieces, vocab.scores, s, true, true));
  }
});

test('tokenizer.json and tok512.bin give identical ids on varied text', () => {
  assert.ok(CORPUS.length > 400);
  for (const s of CORPUS) {
    for (const opts of [{}, { bos: true }, { bos: true, eos: true }]) {
      assert.deepEqual(hf.encode(s, opts), bin.encode(s, opts), `${JSON.stringify(s)} ${JSON.stringify(opts)}`);
    }
  }
});

test('tokenizer.json and tok512.bin agree on real FEVER wiki text', async () => {
  const lines = (await readFile(feverFiles.pages, 'utf8'))
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, 40);
  let tokens = 0;
  for (const line of lines) {
    const text = (JSON.parse(line) as { text: string }).text;
    const ids = bin.encode(text, { bos: true });
    assert.deepEqual(hf.encode(text, { bos: true }), ids);
    assert.equal(bin.decode(ids), text);
    tokens += ids.length;
  }
  assert.ok(tokens > 1000);
});

test('encode adds exactly one BOS / EOS when asked, none otherwise', () => {
  for (const tok of [bin, hf]) {
    assert.equal(tok.bosId, 1);
    assert.equal(tok.eosId, 2);
    assert.equal(tok.vocabSize, 512);
    assert.deepEqual(tok.encode(''), []);
    assert.deepEqual(tok.encode('', { bos: true }), [1]);
    assert.deepEqual(tok.encode('', { bos: true, eos: true }), [1, 2]);
    const plain = tok.encode('Once upon a time');
    assert.deepEqual(tok.encode('Once upon a time', { bos: true }), [1, ...plain]);
    assert.deepEqual(tok.encode('Once upon a time', { eos: true }), [...plain, 2]);
    assert.ok(!plain.includes(1) && !plain.includes(2));
  }
});

test('decode(encode(x)) round-trips', () => {
  // Not round-tripping by design: lone UTF-16 surrogates (encoded as U+FFFD, as TextEncoder does).
  for (const tok of [bin, hf]) {
    for (const s of CORPUS) {
      assert.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s));
      assert.equal(tok.decode(tok.encode(s, { bos: true, eos: true })), s, JSON.stringify(s));
    }
    assert.equal(tok.decode(tok.encode('a\ud800b')), 'a\ufffdb');
  }
});

test('StreamDecoder chunks concatenate to decode() and never split a character', () => {
  for (const tok of [bin, hf]) {
    for (const s of CORPUS) {
      const ids = tok.encode(s, { bos: true });
      const stream = new StreamDecoder(tok);
      const chunks = ids.map((id) => stream.push(id));
      chunks.push(stream.flush());
      assert.equal(chunks.join(''), tok.decode(ids));
      for (const c of chunks) assert.ok(!c.includes('\ufffd'), `${JSON.stringify(s)} chunk ${JSON.stringify(c)}`);
    }
  }
});

test('byte-fallback tokens are held back until the UTF-8 character is complete', () => {
  const ids = bin.encode('🙂', { bos: true }); // BOS, " ", then the 4 bytes F0 9F 99 82
  assert.deepEqual(ids, [1, 410, 0xf0 + 3, 0x9f + 3, 0x99 + 3, 0x82 + 3]);
  const stream = new StreamDecoder(bin);
  assert.deepEqual(
    ids.map((id) => stream.push(id)),
    ['', '', '', '', '', '🙂'],
  );
  assert.equal(stream.flush(), '');
  const cut = new StreamDecoder(bin);
  cut.push(0xf0 + 3);
  assert.equal(cut.flush(), '\ufffd');
  // printableOnly mirrors run.c safe_printf for ASCII control bytes but keeps newlines.
  const safe = new StreamDecoder(bin, { printableOnly: true });
  assert.equal(
    bin
      .encode('a\u0001\nb')
      .map((id) => safe.push(id))
      .join(''),
    'a\nb',
  );
});

test('pieces and run.c piece decoding', () => {
  assert.equal(bin.idToPiece(403), ' Once');
  assert.equal(hf.idToPiece(403), '▁Once');
  assert.equal(bin.idToPiece(1), '\n<s>\n');
  assert.equal(hf.idToPiece(1), '<s>');
  for (const tok of [bin, hf]) {
    assert.equal(tok.idToPiece(13), '<0x0A>');
    assert.equal(tok.decodeToken(1, 403), 'Once');
    assert.equal(tok.decodeToken(SEQUENCE_START, 403), 'Once');
    assert.equal(tok.decodeToken(378, 403), ' Once');
    assert.equal(tok.decodeToken(403, 13), '\n');
    assert.deepEqual([...tok.tokenBytes(403, 0xe4 + 3)], [0xe4]);
    assert.throws(() => tok.idToPiece(512), InvalidArgumentError);
    assert.throws(() => tok.decode([-1]), InvalidArgumentError);
  }
});

test('loadTokenizer accepts a tokenizer.json, a folder holding one, and a tokenizer.bin', async () => {
  assert.ok(bin instanceof Llama2cTokenizer);
  assert.ok(hf instanceof HfTokenizer);
  const fromFolder = await loadTokenizer(hfDir);
  assert.ok(fromFolder instanceof HfTokenizer);
  assert.deepEqual(fromFolder.encode('Once upon a time', { bos: true }), golden.generations[0].prompt_tokens_with_bos);
  const sized = await loadTokenizer(binPath, { vocabSize: 512 });
  assert.equal(sized.vocabSize, 512);
  await assert.rejects(loadTokenizer(join(modelDir, 'does-not-exist.bin')), NotFoundError);
});

test('a bare tokenizer.json (no config next to it) still finds BOS/EOS and encodes the same', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tok-bare-'));
  try {
    await writeFile(join(dir, 'tokenizer.json'), await readFile(join(hfDir, 'tokenizer.json')));
    const bare = await loadTokenizer(dir);
    assert.equal(bare.bosId, 1);
    assert.equal(bare.eosId, 2);
    for (const s of HANDWRITTEN) {
      assert.deepEqual(bare.encode(s, { bos: true }), bin.encode(s, { bos: true }));
      assert.equal(bare.decode(bare.encode(s)), s);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('truncated or malformed tokenizer.bin files are rejected with the byte offset', async () => {
  const data = await readFile(binPath);
  const dir = await mkdtemp(join(tmpdir(), 'tok-bad-'));
  // Entry k starts at startOf[k]: 4 bytes max_token_length, then (score, len, bytes) per token.
  const startOf: number[] = [];
  for (let off = 4; off < data.length; off += 8 + data.readInt32LE(off + 4)) startOf.push(off);
  assert.equal(startOf.length, 512);
  const cases: { cut: number; expect: RegExp; opts?: { vocabSize: number } }[] = [
    { cut: 2, expect: /byte offset 0 \(max_token_length\)/ },
    { cut: startOf[300] + 2, expect: new RegExp(`byte offset ${startOf[300]} \\(tokens\\[300\\]\\.score\\)`) },
    { cut: startOf[300] + 6, expect: new RegExp(`byte offset ${startOf[300] + 4} \\(tokens\\[300\\]\\.len\\)`) },
    { cut: startOf[400] + 9, expect: new RegExp(`byte offset ${startOf[400] + 8} \\(tokens\\[400\\]\\.bytes\\)`) },
    {
      cut: startOf[511],
      expect: new RegExp(`511 of 512 tokens present at byte offset ${startOf[511]} \\(tokens\\[511\\]\\)`),
      opts: { vocabSize: 512 },
    },
    { cut: startOf[100], expect: new RegExp(`only 100 tokens.* at byte offset ${startOf[100]} \\(tokens\\[100\\]\\)`) },
  ];
  try {
    for (const [i, c] of cases.entries()) {
      const file = join(dir, `cut${i}.bin`);
      await writeFile(file, data.subarray(0, c.cut));
      await assert.rejects(loadTokenizer(file, c.opts), (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError);
        assert.match(err.message, c.expect);
        assert.ok(err.message.startsWith(file), err.message);
        return true;
      });
    }
    const negativeLen = Buffer.from(data);
    negativeLen.writeInt32LE(-5, startOf[7] + 4);
    await writeFile(join(dir, 'neg.bin'), negativeLen);
    await assert.rejects(loadTokenizer(join(dir, 'neg.bin')), new RegExp(`byte offset ${startOf[7] + 4} \\(tokens\\[7\\]\\.len\\)`));
    const trailing = join(dir, 'trailing.bin');
    await writeFile(trailing, Buffer.concat([data, Buffer.from([1, 2, 3])]));
    await assert.rejects(loadTokenizer(trailing, { vocabSize: 512 }), new RegExp(`byte offset ${data.length} \\(end of file\\)`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('malformed tokenizer.json files are rejected naming the file and position/field', async () => {
  const text = await readFile(join(hfDir, 'tokenizer.json'), 'utf8');
  const dir = await mkdtemp(join(tmpdir(), 'tok-badjson-'));
  try {
    const cut = join(dir, 'cut', 'tokenizer.json');
    await mkdir(join(dir, 'cut'));
    await writeFile(cut, text.slice(0, 5000));
    await assert.rejects(loadTokenizer(cut), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.ok(err.message.startsWith(cut));
      const end = Buffer.byteLength(text.slice(0, 5000));
      assert.match(err.message, new RegExp(`not valid JSON at byte offset ${end}: expected (a closing quote|.*the input ends here)`));
      assert.ok(!err.message.includes(text.slice(4980, 5000)), 'the bytes found are not quoted');
      return true;
    });
    const noVocab = JSON.parse(text) as { model: Record<string, unknown> };
    delete noVocab.model.vocab;
    const noVocabFile = join(dir, 'novocab.json');
    await writeFile(noVocabFile, JSON.stringify(noVocab));
    await assert.rejects(loadTokenizer(noVocabFile), /novocab\.json: missing \(field model\.vocab\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
