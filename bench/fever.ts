/**
 * FEVER pipeline throughput. Run: npx tsx bench/fever.ts
 * Prints claims/s and pages/s ingested (streaming readers), buildCorpus wall time on the shared slice and
 * on a larger synthetic world, and corpus tokenization tokens/s.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCorpus, encodeBytes, generateWorld, readClaims, readPages, tokenizeDocuments, writeWorld, type TextTokenizer } from '@memorize/fever';

const shared = fileURLToPath(new URL('../../shared/', import.meta.url));
const fever = join(shared, 'data/fever');
const sources = {
  claims: join(fever, 'paper_test.jsonl'),
  pages: join(fever, 'wiki-pages.jsonl'),
  assignments: join(fever, 'page_assignment.jsonl'),
};

async function timeIt<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** Best of `runs` (less noise from JIT warm-up and GC). */
async function best<T>(runs: number, fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  let out = await timeIt(fn);
  for (let i = 1; i < runs; i++) {
    const r = await timeIt(fn);
    if (r.seconds < out.seconds) out = r;
  }
  return out;
}

async function count(it: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

async function realTokenizer(): Promise<{ name: string; tokenizer: TextTokenizer }> {
  const tok512 = join(shared, 'models/stories260K/tok512.bin');
  try {
    const lm = (await import('@memorize/lm')) as Record<string, unknown>;
    if (typeof lm.loadTokenizer === 'function') {
      const t = await (lm.loadTokenizer as (p: string) => Promise<TextTokenizer>)(tok512);
      return { name: '@memorize/lm loadTokenizer(tok512.bin)', tokenizer: t };
    }
  } catch (err) {
    console.error(`@memorize/lm not usable (${(err as Error).message}); falling back`);
  }
  try {
    const { Tokenizer } = await import('@huggingface/tokenizers');
    const dir = join(shared, 'models/stories260K/hf');
    const json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
    const t = new Tokenizer(json, {});
    return {
      name: '@huggingface/tokenizers (stories260K hf/tokenizer.json)',
      tokenizer: { encode: (text, opts) => [...(opts?.bos ? [1] : []), ...t.encode(text, { add_special_tokens: false }).ids] },
    };
  } catch (err) {
    console.error(`HF tokenizer not usable (${(err as Error).message}); using the byte stub`);
  }
  return { name: 'byte-level stub (encodeBytes)', tokenizer: { encode: encodeBytes } };
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

const claimsBytes = (await stat(sources.claims)).size;
const pagesBytes = (await stat(sources.pages)).size;
const claims = await best(5, () => count(readClaims(sources.claims)));
const pages = await best(5, () => count(readPages(sources.pages)));
console.log(
  `shared slice: claims ${fmt(claims.value)} in ${claims.seconds.toFixed(3)} s -> ${fmt(claims.value / claims.seconds)} claims/s (${(claimsBytes / 1e6 / claims.seconds).toFixed(1)} MB/s)`,
);
console.log(
  `shared slice: pages  ${fmt(pages.value)} in ${pages.seconds.toFixed(3)} s -> ${fmt(pages.value / pages.seconds)} pages/s (${(pagesBytes / 1e6 / pages.seconds).toFixed(1)} MB/s)`,
);
const corpus = await best(3, () => buildCorpus(sources, { topN: 300 }));
console.log(
  `buildCorpus top 300 (sidecar): ${corpus.seconds.toFixed(3)} s; ${corpus.value.stats.pages} pages, pool ${corpus.value.stats.pool}, eval ${corpus.value.stats.eval}`,
);
const prefix = await best(3, () => buildCorpus({ claims: sources.claims, pages: sources.pages }, { topN: 300 }));
console.log(`buildCorpus top 300 (title-prefix rule, extra id pass): ${prefix.seconds.toFixed(3)} s`);

// A larger file: a synthetic world, to see rates on a multi-MB dump and the cost of selecting few pages.
const dir = await mkdtemp(join(tmpdir(), 'fever-bench-'));
try {
  const entities = 20_000;
  const gen = await timeIt(async () => writeWorld(dir, generateWorld({ seed: 1, entities: { pretrain: 10, memorize: entities } })));
  const paths = gen.value.memorize;
  const mb = (await stat(paths.pages)).size / 1e6;
  console.log(`synthetic world: ${fmt(entities)} entities generated + written in ${gen.seconds.toFixed(2)} s (wiki-pages ${mb.toFixed(1)} MB)`);
  const synthPages = await best(2, () => count(readPages(paths.pages)));
  console.log(`synthetic: pages ${fmt(synthPages.value / synthPages.seconds)} pages/s (${(mb / synthPages.seconds).toFixed(1)} MB/s)`);
  const synthClaims = await best(2, () => count(readClaims(paths.claims)));
  console.log(`synthetic: claims ${fmt(synthClaims.value / synthClaims.seconds)} claims/s`);
  const wanted = new Set<string>();
  for await (const p of readPages(paths.pages)) if (wanted.size < 100) wanted.add(p.id);
  const selected = await best(2, () => count(readPages(paths.pages, { only: wanted })));
  console.log(
    `synthetic: scanning for 100 wanted pages ${fmt(synthPages.value / selected.seconds)} lines/s (${(mb / selected.seconds).toFixed(1)} MB/s)`,
  );
  const big = await timeIt(() => buildCorpus(paths, { topN: 1000 }));
  console.log(
    `synthetic: buildCorpus top 1000 of ${fmt(entities)} pages: ${big.seconds.toFixed(2)} s, RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}

const { name, tokenizer } = await realTokenizer();
const docs = corpus.value.pages;
const chars = docs.reduce((s, d) => s + d.text.length, 0);
const tok = await best(3, async () => tokenizeDocuments(docs, tokenizer));
const tokens = tok.value.reduce((s, d) => s + d.tokens.length, 0);
console.log(
  `tokenization [${name}]: ${fmt(tokens)} tokens (${fmt(chars)} chars, ${docs.length} pages) in ${tok.seconds.toFixed(3)} s -> ${fmt(tokens / tok.seconds)} tokens/s`,
);
