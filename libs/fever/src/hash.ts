/** Content hash of a corpus: sha256 over the input files' bytes and the canonical options. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { assertReadableFile } from './jsonl.js';

/** JSON with sorted keys, so equal options always hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && typeof v !== 'function')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * sha256 (hex) over each named file's role, byte length and bytes, then the canonical options. Role and
 * length framing keep e.g. swapped files or moved bytes from hashing equal.
 */
export async function contentHash(files: Record<string, string | undefined>, options: unknown): Promise<string> {
  const hash = createHash('sha256');
  for (const role of Object.keys(files).sort()) {
    const path = files[role];
    if (path === undefined) continue;
    await assertReadableFile(path);
    let length = 0;
    for await (const chunk of createReadStream(path)) {
      length += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    hash.update(`\u0000${role}\u0000${length}\u0000`);
  }
  hash.update(canonicalJson(options));
  return hash.digest('hex');
}
