// Hostile command-line input (issue #9, the CLI cases of test/e2e/hostile-cases.ts): every bad flag value exits
// 2 with one stderr line naming the flag literally, prints nothing on stdout and never a stack trace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli as memorize, storiesBin, storiesHf, storiesTok, tempDir } from '@memorize/testing';

let dir = '';
let claims = '';
let pages = '';

before(() => {
  dir = tempDir();
  const r = memorize(['synth', '--entities', '2', '--out', join(dir, 'world'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const paths = JSON.parse(r.stdout) as { memorize: { claims: string; pages: string } };
  ({ claims, pages } = paths.memorize);
  execFileSync('mkfifo', [join(dir, 'fifo.bin')]);
  execFileSync('mkfifo', [join(dir, 'fifo.jsonl')]);
  writeFileSync(join(dir, 'secret.txt'), 'not a model, and its text must not be echoed\n');
  writeFileSync(join(dir, 'existing.txt'), 'x');
  const config = JSON.parse(readFileSync(join(storiesHf, 'config.json'), 'utf8')) as Record<string, unknown>;
  mkdirSync(join(dir, 'hf-ctx-2e7'));
  writeFileSync(join(dir, 'hf-ctx-2e7', 'config.json'), JSON.stringify({ ...config, max_position_embeddings: 2e7 }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const gen = (...extra: string[]) => [
  'generate',
  '--model',
  storiesBin,
  '--tokenizer',
  storiesTok,
  '--prompt',
  'Once',
  '--max-new-tokens',
  '4',
  ...extra,
];
const stats = (...extra: string[]) => ['data', 'stats', '--claims', claims, '--pages', pages, ...extra];
const prompt = (...extra: string[]) => ['data', 'prompt', '--claims', claims, '--pages', pages, ...extra];

/** args (built once the fixture exists) and the strings stderr must contain; the first names the flag. */
const cases: [name: string, args: () => string[], names: string[]][] = [
  ['generate --max-new-tokens abc', () => gen('--max-new-tokens', 'abc'), ['--max-new-tokens']],
  ['generate --max-new-tokens 1e9', () => gen('--max-new-tokens', '1e9'), ['--max-new-tokens', '1..4096', '1e9']],
  ['generate --max-new-tokens -5', () => gen('--max-new-tokens', '-5'), ['--max-new-tokens']],
  ['generate --max-new-tokens 1.5', () => gen('--max-new-tokens', '1.5'), ['--max-new-tokens']],
  ['generate --temperature -1', () => gen('--temperature', '-1'), ['--temperature']],
  ['generate --temperature NaN', () => gen('--temperature', 'NaN'), ['--temperature']],
  ['generate --temperature 1e9', () => gen('--temperature', '1e9'), ['--temperature']],
  ['generate --top-p NaN', () => gen('--top-p', 'NaN'), ['--top-p']],
  ['generate --top-p 2', () => gen('--top-p', '2'), ['--top-p']],
  ['generate --seed 2^64', () => gen('--seed', '18446744073709551616'), ['--seed', '18446744073709551615']],
  ['generate --seed -1', () => gen('--seed', '-1'), ['--seed']],
  ['generate --seed 1.5', () => gen('--seed', '1.5'), ['--seed']],
  ['generate --seed 1e3', () => gen('--seed', '1e3'), ['--seed']],
  [
    'generate --model FIFO',
    () => ['generate', '--model', join(dir, 'fifo.bin'), '--tokenizer', storiesTok, '--prompt', 'x'],
    ['--model', 'fifo.bin'],
  ],
  [
    'generate --model a text file',
    () => ['generate', '--model', join(dir, 'secret.txt'), '--tokenizer', storiesTok, '--prompt', 'x'],
    ['--model', 'secret.txt'],
  ],
  [
    'generate --model config.json max_position_embeddings 2e7',
    () => ['generate', '--model', join(dir, 'hf-ctx-2e7'), '--tokenizer', storiesTok, '--prompt', 'x'],
    ['--model', 'max_position_embeddings'],
  ],
  ['generate --tokenizer FIFO', () => gen('--tokenizer', join(dir, 'fifo.bin')), ['--tokenizer', 'fifo.bin']],
  ['data stats --pool-per-page 1e6', () => stats('--pool-per-page', '1000000'), ['--pool-per-page', '1..64']],
  ['data stats --pool-per-page 0', () => stats('--pool-per-page', '0'), ['--pool-per-page']],
  ['data stats --max-length 1e9', () => stats('--max-length', '1000000000'), ['--max-length']],
  ['data stats --top -1', () => stats('--top', '-1'), ['--top']],
  ['data stats --top 1000 (more than the corpus holds)', () => stats('--top', '1000'), ['--top']],
  ['data stats --seed 1.5', () => stats('--seed', '1.5'), ['--seed']],
  ['data stats --claims FIFO', () => ['data', 'stats', '--claims', join(dir, 'fifo.jsonl'), '--pages', pages], ['--claims', 'fifo.jsonl']],
  ['data stats --pages /dev/zero', () => ['data', 'stats', '--claims', claims, '--pages', '/dev/zero'], ['--pages', '/dev/zero']],
  ['data stats --tokenizer FIFO', () => stats('--tokenizer', join(dir, 'fifo.bin')), ['--tokenizer', 'fifo.bin']],
  ['data prompt --claim-id 1e20', () => prompt('--claim-id', '100000000000000000000'), ['--claim-id']],
  ['data prompt --claim-id (not in the corpus)', () => prompt('--claim-id', '123456789'), ['--claim-id', '123456789']],
  ['data prompt --shots -1', () => prompt('--claim-id', '1', '--shots', '-1'), ['--shots']],
  ['data prompt --shots 1000', () => prompt('--claim-id', '1', '--shots', '1000'), ['--shots', '0..32']],
  ['synth --entities 0', () => ['synth', '--entities', '0', '--out', join(dir, 'synth0')], ['--entities']],
  ['synth --seed -1', () => ['synth', '--seed', '-1', '--entities', '2', '--out', join(dir, 'synth1')], ['--seed']],
  ['synth --out an existing file', () => ['synth', '--entities', '2', '--out', join(dir, 'existing.txt')], ['--out', 'existing.txt']],
  [
    'memory import --layer -1',
    () => ['memory', 'import', '--kind', 'memory', '--layer', '-1', '--weights', join(dir, 'w.safetensors'), '--out', join(dir, 'imp.safetensors')],
    ['--layer'],
  ],
  [
    'memory loss --mask-source bogus',
    () => ['memory', 'loss', '--model', storiesBin, '--memory', join(dir, 'm.safetensors'), '--text', 'a', '--mask-source', 'bogus'],
    ['--mask-source'],
  ],
  ['an unknown option', () => ['generate', '--model', storiesBin, '--prompt', 'x', '--bogus'], ['--bogus']],
  ['a missing required option', () => ['generate', '--prompt', 'x'], ['--model']],
  ['serve data --port 99999', () => ['serve', 'data', '--port', '99999'], ['--port']],
];

for (const [name, args, names] of cases) {
  test(`hostile flag: ${name} exits 2 naming ${names[0]}`, () => {
    const r = memorize(args(), 60_000);
    assert.equal(r.code, 2, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.equal(r.stdout, '', 'nothing on stdout');
    for (const s of names) assert.ok(r.stderr.includes(s), `stderr names ${s}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    assert.doesNotMatch(r.stderr, /must not be echoed/, "a file's bytes are not echoed");
    // The error itself is one line starting with the program name (commander may add its help hint after it).
    const line = r.stderr.split('\n').find((l) => l.startsWith('memorize: ') || l.startsWith('error: '));
    assert.ok(line, `an error line: ${r.stderr}`);
  });
}

test('generate --seed 0 keeps the default (clock) seed; --seed 2^64-1 is accepted and reproducible', () => {
  const zero = memorize(gen('--seed', '0'), 60_000);
  assert.equal(zero.code, 0, zero.stderr);
  const max = memorize(gen('--seed', '18446744073709551615'), 60_000);
  assert.equal(max.code, 0, max.stderr);
  assert.match(max.stderr, /seed 18446744073709551615\)/);
  assert.equal(memorize(gen('--seed', '18446744073709551615'), 60_000).stdout, max.stdout);
});
