import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { feverDir, runCli as memorize, storiesTok } from '@memorize/testing';

const fever = `${feverDir}/`;
const corpusFlags = [
  '--claims',
  `${fever}paper_test.jsonl`,
  '--pages',
  `${fever}wiki-pages.jsonl`,
  '--assignment',
  `${fever}page_assignment.jsonl`,
  '--top',
  '300',
];

test('data stats --json prints exactly the SOURCES.md counts on stdout', () => {
  const r = memorize(['data', 'stats', ...corpusFlags, '--json', '--tokenizer', storiesTok]);
  assert.equal(r.code, 0, r.stderr);
  const stats = JSON.parse(r.stdout);
  assert.equal(stats.pages, 300);
  assert.deepEqual(stats.claims, { SUPPORTS: 1629, REFUTES: 1796, 'NOT ENOUGH INFO': 1732 });
  assert.equal(stats.pool + stats.eval, 5157);
  assert.ok(stats.tokens > 100_000);
});

test('data prompt prints the exact prompt for 0 to 5 shots', () => {
  // The first claim of the file that the seeded split puts in an evaluation set whose page pool holds 5 shots.
  const candidates = readFileSync(`${fever}paper_test.jsonl`, 'utf8')
    .split('\n')
    .slice(0, 20)
    .map((l) => JSON.parse(l) as { id: number; claim: string });
  const chosen = candidates.find((c) => memorize(['data', 'prompt', ...corpusFlags, '--claim-id', String(c.id), '--shots', '5']).code === 0);
  assert.ok(chosen, 'one of the first 20 claims can be prompted with 5 shots');
  const { id, claim: text } = chosen;
  for (const shots of [0, 1, 2, 3, 4, 5]) {
    const r = memorize(['data', 'prompt', ...corpusFlags, '--claim-id', String(id), '--shots', String(shots)]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'Determine the factuality of the following claims');
    assert.equal(lines[1], 'Answer candidates: (a) supports, (b) refutes, (c) not enough info');
    assert.equal(lines.filter((l) => l.startsWith('Claim: ')).length, shots + 1);
    assert.equal(lines.filter((l) => /^A: \([abc]\)$/.test(l)).length, shots);
    assert.ok(r.stdout.endsWith(`Claim: ${text}\nA:\n`));
  }
  const missing = memorize(['data', 'prompt', ...corpusFlags, '--claim-id', '1']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /claim 1 is not in the selected corpus/);
});

test('data stats refuses N larger than the pages available and a missing file', () => {
  const big = memorize(['data', 'stats', ...corpusFlags.slice(0, -1), '1000']);
  assert.equal(big.code, 2);
  assert.match(big.stderr, /1000/);
  const missing = memorize(['data', 'stats', '--claims', '/no/claims.jsonl', '--pages', `${fever}wiki-pages.jsonl`]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no\/claims\.jsonl/);
});

test('synth writes a deterministic world per seed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'memorize-synth-'));
  try {
    for (const [name, seed] of [
      ['a', '3'],
      ['b', '3'],
      ['c', '4'],
    ]) {
      const r = memorize(['synth', '--seed', seed, '--entities', '20', '--out', join(dir, name)]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), join(dir, name));
    }
    const read = (n: string) => readFileSync(join(dir, n, 'memorize', 'claims.jsonl'), 'utf8');
    assert.equal(read('a'), read('b'));
    assert.notEqual(read('a'), read('c'));
    assert.ok(read('a').split('\n').filter(Boolean).length > 20);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
