import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shared FEVER slice, resolved relative to this file (never copied into the repo). */
export const FEVER_DIR = fileURLToPath(new URL('../../../../shared/data/fever/', import.meta.url));
export const SHARED = {
  claims: join(FEVER_DIR, 'paper_test.jsonl'),
  pages: join(FEVER_DIR, 'wiki-pages.jsonl'),
  assignments: join(FEVER_DIR, 'page_assignment.jsonl'),
  train: join(FEVER_DIR, 'train_subset.jsonl'),
};

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'fever-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function writeLines(path: string, rows: unknown[]): Promise<string> {
  await writeFile(path, rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  return path;
}

/** A whitespace tokenizer stub: one id per word (hash of the word), BOS = 1. */
export const wordTokenizer = {
  encode(text: string, opts: { bos?: boolean } = {}): number[] {
    const ids = text.split(/\s+/).filter(Boolean).map((w) => 3 + (w.length * 31 + w.charCodeAt(0)) % 500);
    return opts.bos ? [1, ...ids] : ids;
  },
};

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
