/**
 * Writing a world to disk: dir/{pretrain,memorize}/{wiki-pages,claims,page_assignment,facts}.jsonl,
 * dir/tokenizer.json, dir/tokenizer_config.json and dir/world.json (manifest).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatAssignment } from '../assignment.js';
import { formatClaim } from '../claims.js';
import { formatPage } from '../pages.js';
import type { World, WorldPart } from './world.js';

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
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  manifest: 'world.json',
} as const;

async function writePart(dir: string, part: WorldPart): Promise<void> {
  const folder = join(dir, part.split);
  await mkdir(folder, { recursive: true });
  await writeFileAtomic(join(folder, WORLD_FILES.pages), jsonl(part.pages.map(formatPage)));
  await writeFileAtomic(join(folder, WORLD_FILES.claims), jsonl(part.claims.map(formatClaim)));
  await writeFileAtomic(join(folder, WORLD_FILES.assignments), jsonl(part.assignments.map(formatAssignment)));
  const facts = part.entities.map((e) => JSON.stringify({ page: e.pageId, name: e.name, kind: e.kind, facts: e.facts, stated: e.stated }));
  await writeFileAtomic(join(folder, WORLD_FILES.facts), jsonl(facts));
}

/** Writes the world; returns the paths of the FEVER files of each split, ready for buildCorpus. */
export async function writeWorld(
  dir: string,
  world: World,
): Promise<Record<'pretrain' | 'memorize', { claims: string; pages: string; assignments: string }> & { tokenizer: string; tokenizerConfig: string }> {
  await mkdir(dir, { recursive: true });
  await writePart(dir, world.pretrain);
  await writePart(dir, world.memorize);
  const tokenizer = join(dir, WORLD_FILES.tokenizer);
  await writeFileAtomic(tokenizer, `${JSON.stringify(world.tokenizer, null, 2)}\n`);
  const tokenizerConfig = join(dir, WORLD_FILES.tokenizerConfig);
  await writeFileAtomic(tokenizerConfig, `${JSON.stringify(world.tokenizerConfig, null, 2)}\n`);
  const manifest = {
    seed: world.seed,
    pretrain: { entities: world.pretrain.entities.length, claims: world.pretrain.claims.length },
    memorize: { entities: world.memorize.entities.length, claims: world.memorize.claims.length },
  };
  await writeFileAtomic(join(dir, WORLD_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  const paths = (split: 'pretrain' | 'memorize') => ({
    claims: join(dir, split, WORLD_FILES.claims),
    pages: join(dir, split, WORLD_FILES.pages),
    assignments: join(dir, split, WORLD_FILES.assignments),
  });
  return { pretrain: paths('pretrain'), memorize: paths('memorize'), tokenizer, tokenizerConfig };
}
