import { writeFile } from 'node:fs/promises';

export async function writeLines(path: string, rows: unknown[]): Promise<string> {
  await writeFile(path, rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');
  return path;
}

/** A whitespace tokenizer stub: one id per word (hash of the word), BOS = 1. */
export const wordTokenizer = {
  encode(text: string, opts: { bos?: boolean } = {}): number[] {
    const ids = text
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => 3 + ((w.length * 31 + w.charCodeAt(0)) % 500));
    return opts.bos ? [1, ...ids] : ids;
  },
};
