/** Content hash of a corpus: sha256 over the input files' bytes and the canonical options. */
import { createHash } from 'node:crypto';
import { fstatSync } from 'node:fs';
import { openStream } from './jsonl.js';

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

/** Digests by file identity, so a corpus loaded again (or hashed twice while building) is not re-read. */
const digests = new Map<string, { identity: string; digest: string }>();

/** sha256 (hex) of a file's bytes, memoized on (device, inode, size, mtime): a changed file is re-read. */
export async function fileDigest(path: string): Promise<string> {
  const stream = await openStream(path);
  const st = fstatSync(stream.fd);
  const identity = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  const known = digests.get(path);
  if (known?.identity === identity) {
    stream.destroy();
    return known.digest;
  }
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  const digest = hash.digest('hex');
  digests.set(path, { identity, digest });
  return digest;
}

/**
 * sha256 (hex) over each named file's role and content digest, then the canonical options. Role framing
 * keeps e.g. swapped files from hashing equal.
 */
export async function contentHash(files: Record<string, string | undefined>, options: unknown): Promise<string> {
  const hash = createHash('sha256');
  for (const role of Object.keys(files).sort()) {
    const path = files[role];
    if (path === undefined) continue;
    hash.update(`\u0000${role}\u0000${await fileDigest(path)}\u0000`);
  }
  hash.update(canonicalJson(options));
  return hash.digest('hex');
}
