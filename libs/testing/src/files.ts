import { mkdtempSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh folder under the system temp dir (left for the OS to clean). */
export function tempDir(prefix = 'memorize-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs fn with a fresh temp folder and removes it afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, prefix = 'memorize-test-'): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The `text` of every page in a FEVER wiki-pages JSONL file, as stored (PTB escapes such as -LRB- kept): real
 * documents for tests of libraries that must not depend on @memorize/fever's readers.
 */
export function jsonlPageTexts(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => (JSON.parse(line) as { text: string }).text);
}
