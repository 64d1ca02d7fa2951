import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@memorize/errors';
import {
  ATTRIBUTES,
  buildCorpus,
  encodeBytes,
  generateTestbed,
  generateWorld,
  INTRO_TEMPLATES,
  readAssignments,
  readClaims,
  readPages,
  wordLevelText,
  wordsOf,
  writeTestbed,
  type Testbed,
  type WorldEntity,
  type WorldPart,
} from '@memorize/fever';
import { loadTokenizer } from '@memorize/lm';
import { collect, withTempDir } from '@memorize/testing';

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    out.set(path.slice(dir.length + 1), await readFile(path));
  }
  return out;
}

const SMALL = { seed: 7, sets: { A: 120, B: 40, C: 50 }, versions: 4 } as const;

function partsOf(tb: Testbed): Array<[string, WorldPart]> {
  return [
    ['A', tb.A],
    ['A-heldout', tb.heldoutA],
    ['C', tb.C],
    ['B', tb.B],
  ];
}

/** The facts a page text states, parsed sentence by sentence with every template; an unparsed sentence must be the intro. */
function factsOfText(entity: WorldEntity, text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const sentence of text.split(/ \. ?/).filter((s) => s.trim() !== '')) {
    const hits = ATTRIBUTES[entity.kind].flatMap((spec) => {
      const value = spec.parseAny(entity.name, `${sentence} .`);
      return value === undefined ? [] : [[spec.name, value] as const];
    });
    assert.ok(hits.length <= 1, `ambiguous sentence: ${sentence}`);
    if (hits.length === 0) {
      const intro = INTRO_TEMPLATES.some((t) => t.replace('{s}', entity.name).replace(/\{k\}/, '').length > 0 && sentence.includes(entity.name));
      assert.ok(intro, `sentence states nothing: ${sentence}`);
      continue;
    }
    assert.ok(!out.has(hits[0]![0]), `fact stated twice: ${sentence}`);
    out.set(hits[0]![0], hits[0]![1]);
  }
  return out;
}

const statedFacts = (e: WorldEntity) => new Map(Object.keys(e.stated).map((a) => [a, e.facts[a]!] as const));

test('testbed: thousands of entities, set sizes, A/B/C disjoint, ids unique, few claims each', () => {
  const t0 = performance.now();
  const tb = generateTestbed({ seed: 3, sets: { A: 3000, B: 400, C: 500 } });
  const ms = performance.now() - t0;
  assert.ok(ms < 20_000, `generation took ${ms} ms`);
  assert.equal(tb.A.entities.length, 3000);
  assert.equal(tb.C.entities.length, 500);
  assert.equal(tb.B.entities.length, 400);
  assert.equal(tb.heldoutA.entities, tb.A.entities);
  const names = [tb.A, tb.B, tb.C].flatMap((p) => p.entities.map((e) => e.name.toLowerCase()));
  assert.equal(new Set(names).size, names.length, 'A, B and C share no entity (names unique across the world)');
  const pageIds = [tb.A, tb.B, tb.C].flatMap((p) => p.pages.map((q) => q.id));
  assert.equal(new Set(pageIds).size, pageIds.length);
  const claimIds = partsOf(tb).flatMap(([, p]) => p.claims.map((c) => c.id));
  assert.equal(new Set(claimIds).size, claimIds.length);
  // Defaults: one claim per label and entity (SUPPORTS and REFUTES always; NEI whenever an attribute is unstated: always).
  for (const part of [tb.A, tb.C, tb.B]) {
    const perPage = new Map<string, number>();
    for (const a of part.assignments) perPage.set(a.page, (perPage.get(a.page) ?? 0) + 1);
    assert.equal(perPage.size, part.entities.length);
    for (const n of perPage.values()) assert.ok(n <= 3);
    assert.equal(part.versions.length, 0);
  }
  // Held-out claims about A are never the text of a training claim about A.
  const trained = new Set(tb.A.claims.map((c) => c.claim));
  for (const c of tb.heldoutA.claims) assert.ok(!trained.has(c.claim), c.claim);
  assert.ok(tb.heldoutA.claims.length > 2.5 * 3000);
  assert.throws(() => generateTestbed({ seed: 1, sets: { A: 0, B: 1, C: 1 } }), InvalidArgumentError);
  assert.throws(() => generateTestbed({ seed: 1, sets: { A: 1, B: 1, C: 1 }, versions: 0 }), InvalidArgumentError);
  assert.throws(() => generateTestbed({ seed: 1, sets: { A: 1, B: 1, C: 1 }, claimsPerEntity: { SUPPORTS: -1 } }), InvalidArgumentError);
});

test('every claim of every set is checkable against its entity facts and its canonical page', () => {
  const tb = generateTestbed({ ...SMALL, claimsPerEntity: { SUPPORTS: 2, REFUTES: 2, 'NOT ENOUGH INFO': 2 } });
  for (const [name, part] of partsOf(tb)) {
    const byPage = new Map(part.entities.map((e) => [e.pageId, e]));
    const pages = new Map(part.pages.map((p) => [p.id, p]));
    const labels = { SUPPORTS: 0, REFUTES: 0, 'NOT ENOUGH INFO': 0 };
    for (const [i, claim] of part.claims.entries()) {
      const fact = part.claimFacts[i]!;
      assert.equal(fact.claimId, claim.id);
      assert.equal(part.assignments[i]!.page, fact.pageId);
      const entity = byPage.get(fact.pageId)!;
      const spec = ATTRIBUTES[entity.kind].find((s) => s.name === fact.attribute)!;
      assert.equal(spec.parse(entity.name, claim.claim), fact.value, claim.claim);
      const onPage = factsOfText(entity, pages.get(fact.pageId)!.text);
      labels[claim.label]++;
      if (claim.label === 'SUPPORTS') {
        assert.equal(entity.facts[fact.attribute], fact.value);
        assert.equal(onPage.get(fact.attribute), fact.value);
      } else if (claim.label === 'REFUTES') {
        assert.ok(onPage.has(fact.attribute));
        assert.notEqual(onPage.get(fact.attribute), fact.value);
        assert.notEqual(entity.facts[fact.attribute], fact.value);
      } else {
        assert.ok(!(fact.attribute in entity.stated));
        assert.ok(!onPage.has(fact.attribute));
      }
      if (claim.label !== 'NOT ENOUGH INFO') {
        const [, , page, sid] = claim.evidence[0]![0]!;
        assert.equal(page, fact.pageId, 'claims cite the canonical page');
        const sentence = pages.get(page!)!.sentences.find((s) => s.id === sid)!;
        assert.equal(spec.parse(entity.name, sentence.text), entity.facts[fact.attribute]);
      }
    }
    for (const [label, n] of Object.entries(labels)) assert.ok(n > 0, `${name} has ${label} claims`);
  }
});

test('paraphrased versions state exactly the facts of the canonical page, in other templates and orders', () => {
  const tb = generateTestbed(SMALL);
  for (const part of [tb.A, tb.C, tb.B]) {
    assert.equal(part.versions.length, part.entities.length * (SMALL.versions - 1));
    const versions = new Map(part.versions.map((p) => [p.id, p]));
    assert.equal(versions.size, part.versions.length);
    let reordered = 0;
    for (const [i, entity] of part.entities.entries()) {
      const canonical = part.pages[i]!;
      assert.deepEqual(factsOfText(entity, canonical.text), statedFacts(entity));
      const seen = new Set([canonical.text]);
      for (let k = 1; k < SMALL.versions; k++) {
        const v = versions.get(`${entity.pageId}_-LRB-v${k}-RRB-`)!;
        assert.ok(v, `version ${k} of ${entity.pageId}`);
        assert.deepEqual(factsOfText(entity, v.text), statedFacts(entity));
        assert.equal(v.sentences.length, canonical.sentences.length);
        // no sentence of a version (k < number of templates) is the canonical sentence or another version's
        for (const s of v.sentences) assert.ok(!canonical.sentences.some((c) => c.text === s.text), s.text);
        assert.ok(!seen.has(v.text));
        seen.add(v.text);
        const attrOrder = (text: string) => [...factsOfText(entity, text).keys()].join();
        if (attrOrder(v.text) !== attrOrder(canonical.text)) reordered++;
      }
    }
    assert.ok(reordered > part.versions.length / 3, `sentence order shuffled (${reordered} of ${part.versions.length})`);
  }
  // Versions draw from their own stream: the claims and canonical pages do not depend on them.
  const one = generateTestbed({ ...SMALL, versions: 1 });
  assert.deepEqual(one.B.claims, tb.B.claims);
  assert.deepEqual(one.A.pages, tb.A.pages);
});

test('the word-level tokenizer loads with loadTokenizer, covers every word and round-trips the world text', async () => {
  await withTempDir(async (dir) => {
    const tb = generateTestbed(SMALL);
    const paths = await writeTestbed(dir, tb);
    const tokenizer = await loadTokenizer(paths.wordTokenizer);
    const folder = await loadTokenizer(join(dir, 'word'));
    const vocab = tb.wordTokenizer.model.vocab;
    assert.equal(tokenizer.vocabSize, Object.keys(vocab).length);
    assert.deepEqual([vocab['<unk>'], tokenizer.bosId, tokenizer.eosId, vocab['<pad>']], [0, 1, 2, 3]);
    const texts = partsOf(tb).flatMap(([, p]) => [...p.pages.map((q) => q.text), ...p.versions.map((q) => q.text), ...p.claims.map((c) => c.claim)]);
    let words = 0;
    for (const text of texts) {
      const ids = tokenizer.encode(text, { bos: true, eos: true });
      assert.equal(ids[0], 1);
      assert.equal(ids.at(-1), 2);
      const inner = ids.slice(1, -1);
      assert.ok(!inner.includes(0), `no <unk> in ${text}`);
      assert.equal(inner.length, wordsOf(text).length, 'one token per word');
      words += inner.length;
      const decoded = tokenizer.decode(ids);
      assert.equal(decoded, wordLevelText(text));
      // Pages are written FEVER-style (" . " sentence ends): exact up to the trailing space.
      if (!text.endsWith('.')) assert.equal(decoded, text.trimEnd());
      assert.deepEqual(tokenizer.encode(decoded), inner, 'decode then encode is the identity');
    }
    assert.deepEqual(folder.encode(texts[0]!), tokenizer.encode(texts[0]!));
    assert.ok(words > 10_000);
    // Values and prompt scaffolding never written in this world are covered too (fresh claims, k-shot prompts).
    const fresh = 'Claim: Zz was born in the year 1101.\nA: (b)\nAnswer candidates: (a) supports, (b) refutes, (c) not enough info';
    const ids = tokenizer.encode(fresh.replace('Zz', tb.B.entities[0]!.name));
    assert.ok(!ids.includes(0), 'no <unk> in a prompt about a fresh value');
    // An unknown word is <unk>, not an error.
    assert.deepEqual(tokenizer.encode('qqqqzzzz'), [0]);
    // The byte-level tokenizer is still there and encodes like encodeBytes.
    const bytes = await loadTokenizer(paths.tokenizer);
    assert.deepEqual(bytes.encode(texts[0]!), encodeBytes(texts[0]!));
  });
});

test('same seed -> identical files (with a manifest naming each); another seed differs', async () => {
  await withTempDir(async (root) => {
    await writeTestbed(join(root, 'a'), generateTestbed(SMALL));
    await writeTestbed(join(root, 'b'), generateTestbed(SMALL));
    await writeTestbed(join(root, 'c'), generateTestbed({ ...SMALL, seed: 8 }));
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((d) => filesOf(join(root, d))));
    const expected = [
      ...['A', 'A-heldout', 'B', 'C', 'pretrain'].flatMap((f) => [
        `${f}/claims.jsonl`,
        `${f}/facts.jsonl`,
        `${f}/page_assignment.jsonl`,
        `${f}/wiki-pages.jsonl`,
        ...(f === 'pretrain' || f === 'A-heldout' ? [] : [`${f}/wiki-pages-versions.jsonl`]),
      ]),
      'tokenizer.json',
      'tokenizer_config.json',
      'word/tokenizer.json',
      'word/tokenizer_config.json',
      'world.json',
    ].sort();
    assert.deepEqual([...a!.keys()].sort(), expected);
    for (const [name, bytes] of a!) assert.ok(bytes.equals(b!.get(name)!), name);
    for (const name of ['B/claims.jsonl', 'C/wiki-pages.jsonl', 'word/tokenizer.json']) assert.ok(!a!.get(name)!.equals(c!.get(name)!), name);
    const manifest = JSON.parse(a!.get('world.json')!.toString('utf8'));
    assert.equal(manifest.seed, SMALL.seed);
    assert.deepEqual(
      Object.keys(manifest.files).sort(),
      expected.filter((f) => f !== 'world.json'),
    );
    for (const [file, entry] of Object.entries(manifest.files) as Array<[string, { what: string; rows: number }]>) {
      assert.ok(entry.what.length > 10, file);
      if (file.endsWith('.jsonl')) assert.equal(entry.rows, a!.get(file)!.toString('utf8').split('\n').length - 1, file);
    }
    assert.deepEqual(manifest.sets.B, { entities: 40, claims: generateTestbed(SMALL).B.claims.length, versions: 120 });
  });
});

test('testbed files parse with the FEVER readers and build corpora; pretrain/ holds A and C pages, A claims only', async () => {
  await withTempDir(async (dir) => {
    const tb = generateTestbed(SMALL);
    const paths = await writeTestbed(dir, tb);
    for (const [folder, part] of partsOf(tb)) {
      const p = paths[folder as 'A' | 'A-heldout' | 'C' | 'B'];
      assert.deepEqual(await collect(readPages(p.pages)), part.pages);
      if (folder === 'A-heldout') assert.equal(p.versions, undefined, "A-heldout's versions are A's");
      else assert.deepEqual(await collect(readPages(p.versions!)), part.versions);
      assert.deepEqual(await collect(readClaims(p.claims)), part.claims);
      assert.deepEqual(await collect(readAssignments(p.assignments)), part.assignments);
      const corpus = await buildCorpus(p, { tokenizer: { encode: encodeBytes }, maxLength: 256 });
      assert.equal(corpus.stats.pages, part.entities.length, folder);
      assert.equal(corpus.stats.pool + corpus.stats.eval, part.claims.length, folder);
      assert.equal(corpus.stats.unattributed.count + corpus.stats.missingPage.count, 0, folder);
    }
    const pretrainPages = await collect(readPages(paths.pretrain.pages));
    const ids = new Set(pretrainPages.map((p) => p.id));
    assert.equal(ids.size, (tb.A.entities.length + tb.C.entities.length) * SMALL.versions);
    for (const e of [...tb.A.entities, ...tb.C.entities]) assert.ok(ids.has(e.pageId));
    for (const e of tb.B.entities) assert.ok(![...ids].some((id) => id.startsWith(e.pageId)), 'no B page in pretraining');
    const pretrainClaims = await collect(readClaims(paths.pretrain.claims));
    assert.deepEqual(pretrainClaims, tb.A.claims);
    const corpus = await buildCorpus(paths.pretrain, { tokenizer: { encode: encodeBytes }, maxLength: 256 });
    assert.equal(corpus.stats.pool + corpus.stats.eval, tb.A.claims.length);
    assert.equal(corpus.stats.missingPage.count, 0);
    // every A claim's page is the canonical page, and that page is in pretrain/
    const canonical = new Set(tb.A.pages.map((p) => p.id));
    for (const a of await collect(readAssignments(paths.pretrain.assignments))) assert.ok(canonical.has(a.page));
  });
});

test('the two-split world keeps its layout and gets versions and a word-level tokenizer too', () => {
  const world = generateWorld({ seed: 4, entities: 20, versions: 3 });
  assert.equal(world.memorize.versions.length, 40);
  for (const [i, e] of world.memorize.entities.entries()) {
    for (const v of world.memorize.versions.slice(2 * i, 2 * i + 2)) assert.deepEqual(factsOfText(e, v.text), statedFacts(e));
  }
  const plain = generateWorld({ seed: 4, entities: 20 });
  assert.deepEqual(plain.memorize.claims, world.memorize.claims);
  assert.deepEqual(plain.pretrain.pages, world.pretrain.pages);
  assert.equal(plain.pretrain.versions.length, 0);
  const vocab = plain.wordTokenizer.model.vocab;
  for (const p of [...plain.pretrain.pages, ...plain.memorize.pages]) for (const w of wordsOf(p.text)) assert.ok(w in vocab, w);
});
