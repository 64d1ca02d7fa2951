/**
 * Writing a world to disk: dir/{pretrain,memorize}/{wiki-pages,claims,page_assignment,facts}.jsonl (and
 * wiki-pages-versions.jsonl with paraphrased versions), dir/tokenizer.json + tokenizer_config.json (byte-level),
 * dir/word/tokenizer.json + tokenizer_config.json (word-level) and dir/world.json (manifest). A testbed
 * (writeTestbed) has the folders A, A-heldout, C, B and pretrain instead, and a manifest describing every file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { formatAssignment } from '../assignment.js';
import { formatClaim } from '../claims.js';
import { formatPage } from '../pages.js';
import { derivedRandom, shuffled } from '../prng.js';
import type { Testbed, World, WorldPart } from './world.js';

/** Writes a file atomically: a temp file in the same folder, then rename (never half-written). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

const jsonl = (rows: readonly string[]): string => rows.map((r) => `${r}\n`).join('');

export const WORLD_FILES = {
  pages: 'wiki-pages.jsonl',
  claims: 'claims.jsonl',
  assignments: 'page_assignment.jsonl',
  facts: 'facts.jsonl',
  versions: 'wiki-pages-versions.jsonl',
  /** Folder of the word-level tokenizer (its tokenizer.json and tokenizer_config.json). */
  wordTokenizerDir: 'word',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  manifest: 'world.json',
} as const;

export interface SplitPaths {
  claims: string;
  pages: string;
  assignments: string;
}

async function writePart(dir: string, part: WorldPart, folderName: string = part.split): Promise<SplitPaths & { versions?: string; facts: string }> {
  const folder = join(dir, folderName);
  await mkdir(folder, { recursive: true });
  const paths = {
    claims: join(folder, WORLD_FILES.claims),
    pages: join(folder, WORLD_FILES.pages),
    assignments: join(folder, WORLD_FILES.assignments),
    facts: join(folder, WORLD_FILES.facts),
  };
  await writeFileAtomic(paths.pages, jsonl(part.pages.map(formatPage)));
  await writeFileAtomic(paths.claims, jsonl(part.claims.map(formatClaim)));
  await writeFileAtomic(paths.assignments, jsonl(part.assignments.map(formatAssignment)));
  const facts = part.entities.map((e) => JSON.stringify({ page: e.pageId, name: e.name, kind: e.kind, facts: e.facts, stated: e.stated }));
  await writeFileAtomic(paths.facts, jsonl(facts));
  if (part.versions.length === 0) return paths;
  const versions = join(folder, WORLD_FILES.versions);
  await writeFileAtomic(versions, jsonl(part.versions.map(formatPage)));
  return { ...paths, versions };
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

async function writeTokenizers(
  dir: string,
  world: Pick<World, 'tokenizer' | 'tokenizerConfig' | 'wordTokenizer' | 'wordTokenizerConfig'>,
): Promise<{ tokenizer: string; tokenizerConfig: string; wordTokenizer: string; wordTokenizerConfig: string }> {
  const tokenizer = join(dir, WORLD_FILES.tokenizer);
  await writeFileAtomic(tokenizer, json(world.tokenizer));
  const tokenizerConfig = join(dir, WORLD_FILES.tokenizerConfig);
  await writeFileAtomic(tokenizerConfig, json(world.tokenizerConfig));
  await mkdir(join(dir, WORLD_FILES.wordTokenizerDir), { recursive: true });
  const wordTokenizer = join(dir, WORLD_FILES.wordTokenizerDir, WORLD_FILES.tokenizer);
  await writeFileAtomic(wordTokenizer, json(world.wordTokenizer));
  const wordTokenizerConfig = join(dir, WORLD_FILES.wordTokenizerDir, WORLD_FILES.tokenizerConfig);
  await writeFileAtomic(wordTokenizerConfig, json(world.wordTokenizerConfig));
  return { tokenizer, tokenizerConfig, wordTokenizer, wordTokenizerConfig };
}

export interface WorldPaths {
  pretrain: SplitPaths & { versions?: string };
  memorize: SplitPaths & { versions?: string };
  tokenizer: string;
  tokenizerConfig: string;
  wordTokenizer: string;
  wordTokenizerConfig: string;
}

const splitPaths = (p: SplitPaths & { versions?: string }) => ({
  claims: p.claims,
  pages: p.pages,
  assignments: p.assignments,
  ...(p.versions ? { versions: p.versions } : {}),
});

/** Writes the world; returns the paths of the FEVER files of each split, ready for buildCorpus. */
export async function writeWorld(dir: string, world: World): Promise<WorldPaths> {
  await mkdir(dir, { recursive: true });
  const pretrain = splitPaths(await writePart(dir, world.pretrain));
  const memorize = splitPaths(await writePart(dir, world.memorize));
  const tokenizers = await writeTokenizers(dir, world);
  const manifest = {
    seed: world.seed,
    pretrain: { entities: world.pretrain.entities.length, claims: world.pretrain.claims.length, versions: world.pretrain.versions.length },
    memorize: { entities: world.memorize.entities.length, claims: world.memorize.claims.length, versions: world.memorize.versions.length },
  };
  await writeFileAtomic(join(dir, WORLD_FILES.manifest), json(manifest));
  return { pretrain, memorize, ...tokenizers };
}

export type TestbedFolder = 'A' | 'A-heldout' | 'C' | 'B' | 'pretrain';

export interface TestbedPaths extends Record<TestbedFolder, SplitPaths & { versions?: string }> {
  tokenizer: string;
  tokenizerConfig: string;
  wordTokenizer: string;
  wordTokenizerConfig: string;
  manifest: string;
}

const SET_ROLES: Record<Exclude<TestbedFolder, 'pretrain'>, string> = {
  A: 'set A: pages and claims in pretraining (the task is learned here)',
  'A-heldout': 'set A again with other claims about the same entities, never in pretraining (held-out claims on pretrained knowledge)',
  C: 'set C: pages in pretraining, claims never in pretraining (the ceiling control: verifying from knowledge only in the weights)',
  B: 'set B: never in pretraining (pages to memorize later, claims the experiment measures)',
};

/**
 * Writes a testbed: A, A-heldout, C and B each as FEVER files (canonical pages, claims, page assignment, facts
 * and, with versions, the paraphrased pages), pretrain/ holding the pretraining corpus (every version of A's
 * and C's pages, shuffled; A's claims), both tokenizers and world.json, a manifest naming what each file is.
 */
export async function writeTestbed(dir: string, testbed: Testbed): Promise<TestbedPaths> {
  await mkdir(dir, { recursive: true });
  // A-heldout's pages are A's: its folder repeats the canonical pages (for buildCorpus), not the versions.
  const parts: Record<Exclude<TestbedFolder, 'pretrain'>, WorldPart> = {
    A: testbed.A,
    'A-heldout': { ...testbed.heldoutA, versions: [] },
    C: testbed.C,
    B: testbed.B,
  };
  const written = {} as Record<TestbedFolder, SplitPaths & { versions?: string; facts: string }>;
  for (const [folder, part] of Object.entries(parts) as Array<[Exclude<TestbedFolder, 'pretrain'>, WorldPart]>) {
    written[folder] = await writePart(dir, part, folder);
  }
  const pretrainPart: WorldPart = {
    ...testbed.A,
    split: 'A',
    entities: [...testbed.A.entities, ...testbed.C.entities],
    pages: shuffled(
      [...testbed.A.pages, ...testbed.A.versions, ...testbed.C.pages, ...testbed.C.versions],
      derivedRandom(testbed.seed, 'pretrain-pages'),
    ),
    versions: [],
  };
  written.pretrain = await writePart(dir, pretrainPart, 'pretrain');
  const tokenizers = await writeTokenizers(dir, testbed);
  const rel = (path: string) => relative(dir, path).split(sep).join('/');
  const files: Record<string, { set: string; what: string; rows: number }> = {};
  for (const [folder, part] of Object.entries(parts) as Array<[Exclude<TestbedFolder, 'pretrain'>, WorldPart]>) {
    const w = written[folder];
    const role = SET_ROLES[folder];
    files[rel(w.pages)] = { set: folder, what: `${role}; the canonical page of each entity (the page claims cite)`, rows: part.pages.length };
    files[rel(w.claims)] = { set: folder, what: `${role}; FEVER claims`, rows: part.claims.length };
    files[rel(w.assignments)] = { set: folder, what: `${role}; the page each claim is about`, rows: part.assignments.length };
    files[rel(w.facts)] = { set: folder, what: `${role}; every entity's facts and which the page states (sentence id)`, rows: part.entities.length };
    if (w.versions) {
      files[rel(w.versions)] = {
        set: folder,
        what: `${role}; paraphrased, sentence-shuffled versions 1..${testbed.options.versions - 1} of each page (same facts, other templates and order)`,
        rows: part.versions.length,
      };
    }
  }
  const p = written.pretrain;
  files[rel(p.pages)] = { set: 'A+C', what: 'pretraining text: every version of the pages of A and C, shuffled', rows: pretrainPart.pages.length };
  files[rel(p.claims)] = { set: 'A', what: 'pretraining claims: the claims of A (same as A/claims.jsonl)', rows: pretrainPart.claims.length };
  files[rel(p.assignments)] = { set: 'A', what: "pretraining claims' pages (canonical page ids)", rows: pretrainPart.assignments.length };
  files[rel(p.facts)] = { set: 'A+C', what: 'facts of the entities of A and C', rows: pretrainPart.entities.length };
  files[rel(tokenizers.tokenizer)] = { set: 'all', what: 'byte-level HF tokenizer (BPE over the 256 bytes, no merges): encodes any text', rows: 0 };
  files[rel(tokenizers.tokenizerConfig)] = { set: 'all', what: "the byte-level tokenizer's config", rows: 0 };
  files[rel(tokenizers.wordTokenizer)] = {
    set: 'all',
    what: `word-level HF tokenizer (WordLevel, Whitespace pre-tokenizer): every word of the world, <unk> <s> </s> <pad>; ${Object.keys(testbed.wordTokenizer.model.vocab).length} tokens`,
    rows: 0,
  };
  files[rel(tokenizers.wordTokenizerConfig)] = { set: 'all', what: "the word-level tokenizer's config", rows: 0 };
  const count = (part: WorldPart) => ({ entities: part.entities.length, claims: part.claims.length, versions: part.versions.length });
  const manifest = {
    kind: 'memorize-synthetic-testbed',
    seed: testbed.seed,
    options: testbed.options,
    sets: { A: count(parts.A), 'A-heldout': count(parts['A-heldout']), C: count(parts.C), B: count(parts.B) },
    files,
  };
  const manifestPath = join(dir, WORLD_FILES.manifest);
  await writeFileAtomic(manifestPath, json(manifest));
  const out = {} as Record<TestbedFolder, SplitPaths & { versions?: string }>;
  for (const [folder, w] of Object.entries(written) as Array<[TestbedFolder, SplitPaths & { versions?: string }]>) out[folder] = splitPaths(w);
  return { ...out, ...tokenizers, manifest: manifestPath };
}
