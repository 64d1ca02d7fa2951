import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { InvalidArgumentError } from '@memorize/errors';
import {
  ATTRIBUTES,
  buildCorpus,
  encodeBytes,
  generateWorld,
  readClaims,
  readPages,
  SPECIAL_TOKENS,
  writeWorld,
  type WorldPart,
} from '@memorize/fever';
import { collect, withTempDir } from '@memorize/testing';

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    out.set(path.slice(dir.length), await readFile(path));
  }
  return out;
}

test('same seed -> identical bytes; different seeds differ; no temp files left', async () => {
  await withTempDir(async (root) => {
    await writeWorld(join(root, 'a'), generateWorld({ seed: 11, entities: 30 }));
    await writeWorld(join(root, 'b'), generateWorld({ seed: 11, entities: 30 }));
    await writeWorld(join(root, 'c'), generateWorld({ seed: 12, entities: 30 }));
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((d) => filesOf(join(root, d))));
    assert.deepEqual([...a!.keys()].sort(), [
      '/memorize/claims.jsonl',
      '/memorize/facts.jsonl',
      '/memorize/page_assignment.jsonl',
      '/memorize/wiki-pages.jsonl',
      '/pretrain/claims.jsonl',
      '/pretrain/facts.jsonl',
      '/pretrain/page_assignment.jsonl',
      '/pretrain/wiki-pages.jsonl',
      '/tokenizer.json',
      '/tokenizer_config.json',
      '/word/tokenizer.json',
      '/word/tokenizer_config.json',
      '/world.json',
    ]);
    for (const [name, bytes] of a!) assert.ok(bytes.equals(b!.get(name)!), name);
    assert.ok(!a!.get('/memorize/wiki-pages.jsonl')!.equals(c!.get('/memorize/wiki-pages.jsonl')!));
    assert.ok(!a!.get('/memorize/claims.jsonl')!.equals(c!.get('/memorize/claims.jsonl')!));
  });
});

test('pretrain and memorize entity sets are disjoint, ids unique', () => {
  const world = generateWorld({ seed: 5, entities: { pretrain: 60, memorize: 40 } });
  assert.equal(world.pretrain.entities.length, 60);
  assert.equal(world.memorize.entities.length, 40);
  const pre = new Set(world.pretrain.entities.map((e) => e.name.toLowerCase()));
  for (const e of world.memorize.entities) assert.ok(!pre.has(e.name.toLowerCase()), e.name);
  const claimIds = [...world.pretrain.claims, ...world.memorize.claims].map((c) => c.id);
  assert.equal(new Set(claimIds).size, claimIds.length);
  const kinds = new Set(world.memorize.entities.map((e) => e.kind));
  assert.deepEqual(kinds, new Set(['person', 'place', 'organisation']));
  assert.throws(() => generateWorld({ seed: 1, entities: 0 }), InvalidArgumentError);
  assert.throws(() => generateWorld({ seed: 1.5, entities: 3 }), InvalidArgumentError);
});

/** Facts stated by a page, recovered by parsing its text with the attribute templates. */
function parsePageText(part: WorldPart, pageId: string): Map<string, string> {
  const entity = part.entities.find((e) => e.pageId === pageId)!;
  const page = part.pages.find((p) => p.id === pageId)!;
  const out = new Map<string, string>();
  // split the FEVER-style text on " . " sentence ends, not on the structured sentences
  for (const sentence of page.text.split(/ \. ?/).filter((s) => s.trim() !== '')) {
    for (const spec of ATTRIBUTES[entity.kind]) {
      const value = spec.parse(entity.name, `${sentence} .`);
      if (value !== undefined) out.set(spec.name, value);
    }
  }
  return out;
}

test('every claim agrees with its page: structured facts and parsed page text', () => {
  const world = generateWorld({ seed: 3, entities: 80 });
  for (const part of [world.pretrain, world.memorize]) {
    const labels = { SUPPORTS: 0, REFUTES: 0, 'NOT ENOUGH INFO': 0 };
    for (const [i, claim] of part.claims.entries()) {
      const fact = part.claimFacts[i]!;
      assert.equal(fact.claimId, claim.id);
      const entity = part.entities.find((e) => e.pageId === fact.pageId)!;
      const spec = ATTRIBUTES[entity.kind].find((s) => s.name === fact.attribute)!;
      // the claim text states the asserted value about the entity
      assert.equal(spec.parse(entity.name, claim.claim), fact.value);
      const stated = parsePageText(part, fact.pageId);
      labels[claim.label]++;
      if (claim.label === 'SUPPORTS') {
        assert.equal(entity.facts[fact.attribute], fact.value);
        assert.ok(fact.attribute in entity.stated);
        assert.equal(stated.get(fact.attribute), fact.value);
      } else if (claim.label === 'REFUTES') {
        assert.notEqual(entity.facts[fact.attribute], fact.value);
        assert.ok(fact.attribute in entity.stated);
        assert.ok(stated.has(fact.attribute));
        assert.notEqual(stated.get(fact.attribute), fact.value);
      } else {
        assert.ok(!(fact.attribute in entity.stated));
        assert.ok(!stated.has(fact.attribute), `${claim.claim} must not be decidable from the page`);
        assert.deepEqual(claim.evidence[0]![0]!.slice(1), [null, null, null]);
      }
      if (claim.label !== 'NOT ENOUGH INFO') {
        const [, , page, sid] = claim.evidence[0]![0]!;
        assert.equal(page, fact.pageId);
        const sentence = part.pages.find((p) => p.id === page)!.sentences.find((s) => s.id === sid)!;
        assert.equal(spec.parse(entity.name, sentence.text), entity.facts[fact.attribute]);
      }
    }
    for (const n of Object.values(labels)) assert.ok(n > 0);
  }
});

test('tokenizer.json loads in @huggingface/tokenizers and encodes bytes like encodeBytes', async () => {
  await withTempDir(async (dir) => {
    const paths = await writeWorld(dir, generateWorld({ seed: 9, entities: 5 }));
    const json = JSON.parse(await readFile(paths.tokenizer, 'utf8'));
    const tokenizer = new Tokenizer(json, JSON.parse(await readFile(paths.tokenizerConfig, 'utf8')));
    for (const text of ['Kradaem Dryxne was born in the year 1895 .', 'Ünïcødé — ok', ' leading space']) {
      const { ids } = tokenizer.encode(text);
      assert.deepEqual(ids, encodeBytes(text));
      assert.equal(tokenizer.decode(ids), text);
    }
    assert.deepEqual(encodeBytes('A', { bos: true }), [SPECIAL_TOKENS.bos, 3 + 65]);
  });
});

test('written worlds read back through the FEVER readers and the pipeline', async () => {
  await withTempDir(async (dir) => {
    const world = generateWorld({ seed: 21, entities: 25 });
    const paths = await writeWorld(dir, world);
    const pages = await collect(readPages(paths.memorize.pages));
    assert.deepEqual(pages, world.memorize.pages);
    const claims = await collect(readClaims(paths.memorize.claims));
    assert.deepEqual(claims, world.memorize.claims);
    const corpus = await buildCorpus(paths.memorize, { tokenizer: { encode: encodeBytes }, maxLength: 128 });
    assert.equal(corpus.stats.pages, 25);
    assert.equal(corpus.stats.pool + corpus.stats.eval, world.memorize.claims.length);
    assert.equal(corpus.stats.unattributed.count + corpus.stats.missingPage.count, 0);
    assert.ok(corpus.stats.tokens! > 0);
  });
});
