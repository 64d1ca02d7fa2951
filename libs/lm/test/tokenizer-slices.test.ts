import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeBounded, loadTokenizer, MAX_SEGMENT_LENGTH, piecesKeepWordBoundaries, segments } from '../src/tokenizers/index.js';
import { feverFiles, storiesHf as hfDir, storiesTok as binPath } from '@memorize/testing';

const bin = await loadTokenizer(binPath);
const hf = await loadTokenizer(join(hfDir, 'tokenizer.json'));
const pages = (await readFile(feverFiles.pages, 'utf8'))
  .split('\n')
  .filter((l) => l.trim())
  .slice(0, 200)
  .map((l) => (JSON.parse(l) as { text: string }).text);

/** The llama2.c encoder's heap merge over the whole buffer at once (run.c's semantics, without word segmentation). */
function wholeBufferEncode(text: string): number[] {
  const internals = bin as unknown as { merge(ids: number[]): number[]; codepointIds: Map<string, number[]> };
  bin.encode(text); // fills the codepoint table
  return internals.merge([1, ...[...(' ' + text)].flatMap((ch) => internals.codepointIds.get(ch)!)]);
}

test('segments split before a marker that follows another character and cap long runs; they concatenate to the text', () => {
  assert.deepEqual([...segments(' Once upon  a time', ' ')], [' Once', ' upon', '  a', ' time']);
  assert.deepEqual([...segments('▁a▁▁b', '▁')], ['▁a', '▁▁b']);
  assert.deepEqual([...segments('abc', undefined)], ['abc']);
  const long = 'x'.repeat(MAX_SEGMENT_LENGTH * 2 + 5);
  assert.deepEqual(
    [...segments(long, ' ')].map((s) => s.length),
    [MAX_SEGMENT_LENGTH, MAX_SEGMENT_LENGTH, 5],
  );
  // A surrogate pair at the cap stays whole.
  const emoji = 'x'.repeat(MAX_SEGMENT_LENGTH - 1) + '🙂' + 'y';
  const parts = [...segments(emoji, ' ')];
  assert.equal(parts.join(''), emoji);
  assert.equal(parts[0].length, MAX_SEGMENT_LENGTH + 1);
  assert.equal(piecesKeepWordBoundaries([' a', '  ', 'ab'], ' '), true);
  assert.equal(piecesKeepWordBoundaries(['a b'], ' '), false);
});

test('word-by-word encoding equals one merge over the whole buffer on long real text (llama2.c and HF)', () => {
  const text = pages.join(' ');
  assert.ok(text.length > 100_000, `${text.length} characters`);
  const ids = bin.encode(text, { bos: true });
  assert.deepEqual(ids, wholeBufferEncode(text));
  assert.deepEqual(hf.encode(text, { bos: true }), ids);
  assert.equal(bin.decode(ids), text);
  // Long whitespace-free runs and odd spacing: HF (normalized in chunks) still matches llama2.c id for id.
  for (const odd of ['xyzq'.repeat(50_000), `${'ab'.repeat(40_000)} ${'q'.repeat(70_000)}  \t x  \n y${text}`, `  ${text.slice(0, 70_000)}`]) {
    assert.deepEqual(hf.encode(odd), bin.encode(odd));
  }
});

test('a 1 MB text tokenizes in well under a second per MB (was ~3 s/MB llama2.c, ~14 s/MB HF)', () => {
  const text = pages.join(' ').repeat(8).slice(0, 1_000_000);
  for (const tok of [bin, hf]) {
    const t0 = performance.now();
    const ids = tok.encode(text);
    const seconds = (performance.now() - t0) / 1000;
    assert.ok(ids.length > 200_000);
    assert.ok(seconds < 5, `${seconds.toFixed(2)} s`);
  }
});

test('encodeBounded gives the same ids as encode, yields to the event loop, and stops when aborted', async () => {
  const text = pages.join(' ').repeat(4);
  for (const tok of [bin, hf]) {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const ids = await encodeBounded(tok, text, { bos: true, eos: true }, { sliceMs: 2 });
    clearInterval(timer);
    assert.deepEqual(ids, tok.encode(text, { bos: true, eos: true }));
    assert.ok(ticks > 0, 'timers ran while encoding');
    const controller = new AbortController();
    const pending = encodeBounded(tok, text, {}, { signal: controller.signal, sliceMs: 1 });
    controller.abort(new Error('cancelled'));
    await assert.rejects(pending, /cancelled/);
  }
  assert.deepEqual(await encodeBounded(bin, ''), []);
});
