import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '@memorize/errors';
import {
  citedPages,
  evidencePage,
  formatClaim,
  formatPage,
  IssueLog,
  loadAssignments,
  pageIdFromTitle,
  pageTitle,
  parseLines,
  peekPageId,
  readClaims,
  readPageIds,
  readPages,
  unescapeFever,
  detokenizeFever,
  TitlePrefixIndex,
  type FeverClaim,
} from '@memorize/fever';
import { collect, feverFiles as SHARED, withTempDir } from '@memorize/testing';
import { writeLines } from './helpers.js';
import { readFile } from 'node:fs/promises';

test('reads every claim of the shared slice with its label counts from SOURCES.md', async () => {
  const claims = await collect(readClaims(SHARED.claims));
  assert.equal(claims.length, 5157);
  const counts = { SUPPORTS: 0, REFUTES: 0, 'NOT ENOUGH INFO': 0 };
  for (const c of claims) counts[c.label]++;
  assert.deepEqual(counts, { SUPPORTS: 1629, REFUTES: 1796, 'NOT ENOUGH INFO': 1732 });
  const train = await collect(readClaims(SHARED.train));
  assert.equal(train.length, 12);
});

test('claims re-serialise to the same records in FEVER key order', async () => {
  const text = await readFile(SHARED.claims, 'utf8');
  const firstLines = text.split('\n').slice(0, 50);
  const claims = (await collect(readClaims(SHARED.claims))).slice(0, 50);
  // Python's json.dumps puts a space after separators; compare structurally instead of by bytes.
  for (let i = 0; i < 50; i++) assert.deepEqual(JSON.parse(formatClaim(claims[i]!)), JSON.parse(firstLines[i]!));
});

test('reads pages with sentences parsed from lines (ids, sorted, non-contiguous)', async () => {
  const pages = await collect(readPages(SHARED.pages));
  assert.equal(pages.length, 300);
  const poca = pages.find((p) => p.id === 'Pocahontas')!;
  assert.ok(poca.sentences.length > 0);
  assert.equal(poca.sentences[0]!.id, 0);
  assert.ok(poca.sentences[0]!.text.startsWith('Pocahontas -LRB- born Matoaka'));
  for (const p of pages) {
    const ids = p.sentences.map((s) => s.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    // text is the sentences joined with spaces plus a trailing space (SOURCES.md, step 7)
    assert.equal(p.text, p.sentences.map((s) => s.text).join(' ') + ' ');
  }
});

test('readPages with `only` keeps just the wanted pages; readPageIds lists every id', async () => {
  const ids = await collect(readPageIds(SHARED.pages));
  assert.equal(ids.length, 300);
  const wanted = new Set([ids[3]!, ids[200]!, 'Not_A_Page']);
  const pages = await collect(readPages(SHARED.pages, { only: wanted }));
  assert.deepEqual(pages.map((p) => p.id).sort(), [ids[3]!, ids[200]!].sort());
});

test('parseLines handles links, empty sentences and bad ids', () => {
  const ok = parseLines('0\tFirst -LRB- x -RRB- .\tLink_A\tLink_B\n1\t\n3\tThird .');
  assert.ok(ok.ok);
  if (ok.ok) {
    assert.deepEqual(ok.value, [
      { id: 0, text: 'First -LRB- x -RRB- .', links: ['Link_A', 'Link_B'] },
      { id: 3, text: 'Third .', links: [] },
    ]);
  }
  const bad = parseLines('zero\tOops');
  assert.equal(bad.ok, false);
});

test('escapes and page titles are restored', () => {
  assert.equal(unescapeFever('a -LRB- b -RRB- -LSB- c -RSB- -LCB- d -RCB- e -COLON- f'), 'a ( b ) [ c ] { d } e : f');
  assert.equal(pageTitle('Grease_-LRB-film-RRB-'), 'Grease (film)');
  assert.equal(pageTitle('Star_Wars-COLON-_Episode_IV'), 'Star Wars: Episode IV');
  assert.equal(pageIdFromTitle('Grease (film)'), 'Grease_-LRB-film-RRB-');
  assert.equal(
    detokenizeFever("Pocahontas -LRB- born Matoaka , 1596 -- 1617 -RRB- was `` notable '' ."),
    'Pocahontas (born Matoaka, 1596 -- 1617) was "notable".',
  );
  assert.equal(peekPageId('{"id": "A\\u00e9_b", "text": ""}'), 'Aé_b');
});

test('evidence page: the page in most evidence sets, ties to the first cited', () => {
  const claim = (evidence: FeverClaim['evidence']) => ({ evidence });
  assert.equal(
    evidencePage(
      claim([
        [
          [1, 1, 'B', 0],
          [1, 1, 'A', 0],
        ],
        [[2, 2, 'A', 1]],
      ]),
    ),
    'A',
  );
  assert.equal(evidencePage(claim([[[1, 1, 'B', 0]], [[2, 2, 'A', 1]]])), 'B');
  // a page cited twice within one set counts once for that set
  assert.equal(
    evidencePage(
      claim([
        [
          [1, 1, 'B', 0],
          [1, 1, 'B', 2],
        ],
        [[2, 2, 'A', 1]],
        [[3, 3, 'A', 1]],
      ]),
    ),
    'A',
  );
  assert.equal(evidencePage(claim([[[1, null, null, null]]])), undefined);
  assert.deepEqual(
    citedPages(
      claim([
        [
          [1, 1, 'B', 0],
          [1, 1, 'A', 0],
        ],
        [[2, 2, 'A', 1]],
      ]),
    ),
    ['B', 'A'],
  );
});

test('evidence page and title-prefix rule reproduce the page_assignment sidecar on the shared slice', async () => {
  const sidecar = await loadAssignments(SHARED.assignments);
  const index = new TitlePrefixIndex(await collect(readPageIds(SHARED.pages)));
  let verifiable = 0;
  let nei = 0;
  for await (const c of readClaims(SHARED.claims)) {
    if (c.label === 'NOT ENOUGH INFO') {
      assert.equal(index.assign(c.claim), sidecar.get(c.id), `claim ${c.id}: ${c.claim}`);
      nei++;
    } else {
      assert.equal(evidencePage(c), sidecar.get(c.id), `claim ${c.id}`);
      verifiable++;
    }
  }
  assert.equal(verifiable, 1629 + 1796);
  assert.equal(nei, 1732);
});

test('title-prefix rule: longest prefix, word boundary, disambiguators', () => {
  const index = new TitlePrefixIndex(['Grease', 'Grease_-LRB-film-RRB-', 'Grease_-LRB-musical-RRB-', 'Star', 'Star_Wars', 'Moscovium']);
  assert.equal(index.assign('Star Wars is a film.'), 'Star_Wars');
  assert.equal(index.assign('Starship is a word.'), undefined);
  assert.equal(index.assign('Grease the film had bad reviews.'), 'Grease_-LRB-film-RRB-');
  assert.equal(index.assign('Grease had bad reviews.'), undefined);
  assert.equal(index.assign('Moscovium is a halogen.'), 'Moscovium');
});

test('strict mode: malformed line throws InvalidArgumentError with file:line and field = path', async () => {
  await withTempDir(async (dir) => {
    const path = await writeLines(join(dir, 'claims.jsonl'), [
      { id: 1, verifiable: 'VERIFIABLE', label: 'SUPPORTS', claim: 'A is B.', evidence: [[[1, 2, 'A', 0]]] },
      '{"id": 2, "label": "SUPPORTS", "claim": "broken',
    ]);
    await assert.rejects(collect(readClaims(path)), (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.equal(err.field, path);
      assert.match(err.message, new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2`));
      return true;
    });
  });
});

test('lenient mode skips and counts malformed lines with their first locations', async () => {
  await withTempDir(async (dir) => {
    const good = { id: 1, verifiable: 'VERIFIABLE', label: 'SUPPORTS', claim: 'A is B.', evidence: [[[1, 2, 'A', 0]]] };
    const path = await writeLines(join(dir, 'claims.jsonl'), [
      good,
      'not json',
      { ...good, id: 2, label: 'MAYBE' },
      '',
      { ...good, id: 3 },
      { ...good, id: 'x' },
    ]);
    const issues = new IssueLog(2);
    const claims = await collect(readClaims(path, { mode: 'lenient', issues }));
    assert.deepEqual(
      claims.map((c) => c.id),
      [1, 3],
    );
    assert.equal(issues.count, 3);
    assert.deepEqual(
      issues.first.map((i) => i.location),
      [`${path}:2`, `${path}:3`],
    );
    assert.match(issues.first[1]!.message, /label/);
  });
});

test('a wiki-pages file given as claims (and the reverse) is rejected with a clear message', async () => {
  await assert.rejects(collect(readClaims(SHARED.pages)), (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError);
    assert.match(err.message, /wiki-pages\.jsonl:1: .*wiki-pages record/);
    return true;
  });
  await assert.rejects(collect(readPages(SHARED.claims)), (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError);
    assert.match(err.message, /paper_test\.jsonl:1: .*claim record/);
    return true;
  });
  await assert.rejects(loadAssignments(SHARED.pages), InvalidArgumentError);
});

test('missing files are NotFoundError naming the path', async () => {
  await assert.rejects(collect(readClaims('/nonexistent/claims.jsonl')), (err: unknown) => {
    assert.ok(err instanceof NotFoundError);
    assert.equal(err.field, '/nonexistent/claims.jsonl');
    return true;
  });
});

test('pages re-serialise to the same records', async () => {
  const pages = (await collect(readPages(SHARED.pages))).slice(0, 20);
  const lines = (await readFile(SHARED.pages, 'utf8')).split('\n').slice(0, 20);
  for (let i = 0; i < 20; i++) assert.deepEqual(JSON.parse(formatPage(pages[i]!)), JSON.parse(lines[i]!));
});
