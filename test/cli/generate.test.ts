import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli as memorize, storiesDir, tempDir } from '@memorize/testing';

const stories = `${storiesDir}/`;
const golden = JSON.parse(readFileSync(`${stories}golden-public.json`, 'utf8')).generations[0] as { prompt: string; stdout: string; text: string };

const greedy = ['--prompt', golden.prompt, '--max-new-tokens', '60', '--temperature', '0'];

test('memorize generate prints exactly llama2.c run.c greedy output (llama2.c .bin)', () => {
  const r = memorize(['generate', '--model', `${stories}stories260K.bin`, '--tokenizer', `${stories}tok512.bin`, ...greedy]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, golden.stdout);
  assert.equal(r.stdout, `${golden.text}\n`);
});

test('the HF folder prints the same bytes; a .bin finds its tok*.bin tokenizer beside it', () => {
  const hf = memorize(['generate', '--model', `${stories}hf`, ...greedy]);
  assert.equal(hf.code, 0, hf.stderr);
  assert.equal(hf.stdout, golden.stdout);
  const beside = memorize(['generate', '--model', `${stories}stories260K.bin`, ...greedy]);
  assert.equal(beside.code, 0, beside.stderr);
  assert.equal(beside.stdout, golden.stdout);
});

test('fewer new tokens print a prefix of the golden text; sampling with a seed is reproducible', () => {
  const short = memorize([
    'generate',
    '--model',
    `${stories}stories260K.bin`,
    '--prompt',
    golden.prompt,
    '--max-new-tokens',
    '5',
    '--temperature',
    '0',
  ]);
  assert.equal(short.code, 0, short.stderr);
  assert.ok(golden.text.startsWith(short.stdout.slice(0, -1)) && short.stdout.length > golden.prompt.length + 1);
  const sample = () =>
    memorize([
      'generate',
      '--model',
      `${stories}stories260K.bin`,
      '--prompt',
      golden.prompt,
      '--max-new-tokens',
      '40',
      '--temperature',
      '1',
      '--top-p',
      '0.9',
      '--seed',
      '42',
    ]).stdout;
  const a = sample();
  assert.equal(a, sample());
  assert.ok(a.startsWith(golden.prompt));
});

test('bad arguments are refused before anything reaches stdout', () => {
  for (const args of [
    ['--temperature', '-1'],
    ['--top-p', '0'],
    ['--top-p', '2'],
    ['--max-new-tokens', '-3'],
  ]) {
    const r = memorize(['generate', '--model', `${stories}stories260K.bin`, '--prompt', golden.prompt, '--max-new-tokens', '5', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', args.join(' '));
    assert.match(r.stderr, new RegExp(args[0]));
  }
  const long = memorize(['generate', '--model', `${stories}stories260K.bin`, '--prompt', 'word '.repeat(700), '--max-new-tokens', '5']);
  assert.equal(long.code, 2);
  assert.equal(long.stdout, '');
  assert.match(long.stderr, /--prompt is \d+ tokens; the model takes at most 512/);
});

test('generate refuses a config.json past the size limits before allocating (exit 2, naming the field and the file)', () => {
  const dir = tempDir();
  const config = JSON.parse(readFileSync(`${stories}hf/config.json`, 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, max_position_embeddings: 2e7 }));
  const r = memorize(['generate', '--model', dir, '--tokenizer', `${stories}tok512.bin`, ...greedy]);
  assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, /config\.json: max_position_embeddings must be an integer in 1\.\.1048576, got 20000000/);
});
