/**
 * Confined, safe file access, one implementation for every lib and service:
 * - resolveInRoot: a client's path resolved against a configured root; it must stay inside the root after
 *   symlinks (PermissionDeniedError naming the field and the root).
 * - openRegularFile / readRegularFile / fileOrFolder: only regular files are opened, with O_NONBLOCK so that a
 *   FIFO or a device can never block the event loop, and checked with fstat before any byte is read.
 * - file-system errors become domain errors naming the field (never INTERNAL).
 * - writeFileAtomic (temp file in the same folder, fsync, rename, fsync of the folder) and checkOverwrite.
 * - parseJsonBytes: JSON parse errors that name the file, the byte offset and what was expected, never the
 *   bytes found (V8's own messages quote the text).
 */
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  MemorizeError,
  NotFoundError,
  PermissionDeniedError,
} from '@memorize/errors';

/** True when `path` is `root` or below it (both absolute and normalised). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Maps a Node file-system error to a domain error naming `field` and the file as the caller knows it
 * (`shown`). Anything that is not an errno error is returned unchanged.
 */
export function fsError(error: unknown, field: string, shown: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // A lib that has no request field names the file as its field: say it once.
  const p = field === shown ? '' : `${field}: `;
  switch (code) {
    case 'ENOENT':
      return new NotFoundError(`${p}no such file or folder: ${shown}`, field);
    case 'EISDIR':
      return new InvalidArgumentError(`${p}${shown} is a folder, expected a regular file`, field);
    case 'ENOTDIR':
      return new InvalidArgumentError(`${p}a component of ${shown} is not a folder`, field);
    case 'ENAMETOOLONG':
      return new InvalidArgumentError(`${p}the path is too long`, field);
    case 'ELOOP':
      return new InvalidArgumentError(`${p}${shown} is a symbolic link (or a loop of them), expected a regular file`, field);
    case 'EACCES':
    case 'EPERM':
      return new PermissionDeniedError(`${p}permission denied: ${shown}`, field);
    case 'EEXIST':
      return new AlreadyExistsError(`${p}${shown} already exists`, field);
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EROFS':
      return new FailedPreconditionError(`${p}cannot write ${shown} (${code})`, field);
    case 'ERR_INVALID_ARG_VALUE':
    case 'ERR_INVALID_ARG_TYPE':
      return new InvalidArgumentError(`${p}not a valid path`, field);
    default:
      return error;
  }
}

function checkPathText(path: string, field: string): void {
  if (typeof path !== 'string' || path === '') throw new InvalidArgumentError(`${field} is required`, field);
  if (path.includes('\u0000')) throw new InvalidArgumentError(`${field}: a path must not contain a NUL byte`, field);
}

function realRoot(root: string, field: string): string {
  try {
    return realpathSync(resolve(root));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FailedPreconditionError(`${field}: the root ${root} does not exist on this host`, field);
    }
    throw fsError(error, field, root);
  }
}

/** The real path of `path`, or, when it does not exist yet, of its nearest existing ancestor plus the rest. */
function realOrPlanned(path: string, field: string, shown: string): string {
  let head = path;
  const tail: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...tail);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(error, field, shown);
      const up = dirname(head);
      if (up === head) return path;
      tail.unshift(basename(head));
      head = up;
    }
  }
}

/**
 * Resolves a client's path inside `root`: a relative path resolves against the root, an absolute one is
 * accepted only inside it, and the result after every symlink (the file's, or for a file not yet written its
 * folder's) must still be inside the root's real path. Returns that real path. A path outside is
 * PermissionDeniedError naming `field` and the root.
 */
export function resolveInRoot(root: string, clientPath: string, field: string): string {
  checkPathText(clientPath, field);
  const base = resolve(root);
  const real = realRoot(root, field);
  const candidate = isAbsolute(clientPath) ? resolve(clientPath) : resolve(base, clientPath);
  const outside = (): PermissionDeniedError =>
    new PermissionDeniedError(`${field}: ${clientPath} is outside the root ${root} (paths resolve inside it)`, field);
  if (!isInside(base, candidate) && !isInside(real, candidate)) throw outside();
  const resolved = realOrPlanned(candidate, field, clientPath);
  if (!isInside(real, resolved)) throw outside();
  return resolved;
}

/** The path as a client under `root` would write it (relative to the root), for messages. */
export function shownInRoot(root: string, path: string): string {
  let real: string;
  try {
    real = realpathSync(resolve(root));
  } catch {
    real = resolve(root);
  }
  for (const base of [real, resolve(root)]) if (isInside(base, path)) return relative(base, path) || '.';
  return path;
}

/**
 * Every symbolic link directly inside `folder` (an HF checkpoint folder: config.json, shards, tokenizer files)
 * must resolve inside `root` too; PermissionDeniedError naming `field` otherwise.
 */
export function checkFolderLinksInRoot(root: string, folder: string, field: string): void {
  let entries;
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch (error) {
    throw fsError(error, field, shownInRoot(root, folder));
  }
  for (const entry of entries) {
    if (!entry.isSymbolicLink()) continue;
    try {
      resolveInRoot(root, join(folder, entry.name), field);
    } catch (error) {
      if (error instanceof PermissionDeniedError) {
        throw new PermissionDeniedError(`${field}: ${shownInRoot(root, join(folder, entry.name))} links outside the root ${root}`, field);
      }
      throw error;
    }
  }
}

export interface OpenOptions {
  /** Refuse a symbolic link as the last component (O_NOFOLLOW): for paths already resolved by resolveInRoot. */
  noFollow?: boolean;
  /** The file as the caller knows it, for messages (default: the path). */
  shown?: string;
}

function describeType(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * Opens a regular file for reading: O_RDONLY | O_NONBLOCK (a FIFO opens at once instead of waiting for a
 * writer) | O_NOFOLLOW when asked, then fstat before any read. A FIFO, device, socket or folder is
 * InvalidArgumentError naming `field`; file-system errors are domain errors (see fsError). Returns the fd.
 */
export function openRegularFile(path: string, field: string, options: OpenOptions = {}): number {
  const shown = options.shown ?? path;
  checkPathText(path, field);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (error) {
    throw fsError(error, field, shown);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new InvalidArgumentError(`${field === shown ? '' : `${field}: `}${shown} is ${describeType(st)}, expected a regular file`, field);
    }
    return fd;
  } catch (error) {
    closeSync(fd);
    throw fsError(error, field, shown);
  }
}

/** Reads a whole regular file (opened with openRegularFile). */
export function readRegularFile(path: string, field: string, options: OpenOptions = {}): Buffer {
  const fd = openRegularFile(path, field, options);
  try {
    const size = fstatSync(fd).size;
    const chunks: Buffer[] = [];
    let total = 0;
    // Read to the end rather than trusting the size (files under /proc report 0).
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.max(64 * 1024, size - total + 1));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
    }
    return Buffer.concat(chunks, total);
  } catch (error) {
    throw fsError(error, field, options.shown ?? path);
  } finally {
    closeSync(fd);
  }
}

/** Throws unless `path` is a regular file that can be opened (see openRegularFile). */
export function checkRegularFile(path: string, field: string, options: OpenOptions = {}): void {
  closeSync(openRegularFile(path, field, options));
}

/**
 * Whether `path` is a regular file or a folder (stat never blocks, even on a FIFO); anything else, or a file
 * that cannot be opened, is a domain error naming `field`.
 */
export function fileOrFolder(path: string, field: string, options: OpenOptions = {}): 'file' | 'folder' {
  const shown = options.shown ?? path;
  checkPathText(path, field);
  let st: Stats;
  try {
    st = options.noFollow ? lstatSync(path) : statSync(path);
  } catch (error) {
    throw fsError(error, field, shown);
  }
  if (st.isDirectory()) return 'folder';
  checkRegularFile(path, field, options);
  return 'file';
}

/** writeSync may write less than asked (large buffers): loop until every byte is written. */
function writeFully(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
}

/**
 * Writes `bytes` (one buffer or several, in order) to `path` atomically: a temp file in the same folder,
 * fsync, rename over `path`, fsync of the folder. A crash leaves the old file or the new one, never half of
 * one; on failure the temp file is removed. File-system errors are domain errors naming `field`.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | readonly Uint8Array[], field = 'path'): void {
  checkPathText(path, field);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    for (const chunk of bytes instanceof Uint8Array ? [bytes] : bytes) writeFully(fd, chunk);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (error) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
    }
    rmSync(tmp, { force: true });
    throw fsError(error, field, path);
  }
  syncFolder(dirname(path));
}

/** fsync of a folder, so a rename in it is durable (best effort: some file systems refuse it). */
function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    /* not supported here */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface OverwriteRule {
  /** The caller asked to replace an existing file (or folder, for writeFolderAtomic). */
  overwrite: boolean;
  /** True when the existing regular file (folder) is one of ours (e.g. a memory file): only those are replaced. */
  isOurs: (path: string) => boolean;
  /** What our files are, for the message ("a memory file", "a folder written by SaveModel"). */
  what: string;
  shown?: string;
}

/**
 * The no-overwrite rule: nothing is written over a file we did not write. A free path passes; an existing
 * one is AlreadyExistsError unless `overwrite` is set and it is a regular file that `isOurs` recognises.
 */
export function checkOverwrite(path: string, field: string, rule: OverwriteRule): void {
  checkReplaceable(path, field, rule, 'file');
}

/** The no-overwrite rule for a file or a folder; returns whether `path` exists (and may then be replaced). */
function checkReplaceable(path: string, field: string, rule: OverwriteRule, kind: 'file' | 'folder'): boolean {
  const shown = rule.shown ?? path;
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fsError(error, field, shown);
  }
  if (!rule.overwrite) throw new AlreadyExistsError(`${field}: ${shown} already exists (set overwrite to replace ${rule.what})`, field);
  if (kind === 'file' ? !st.isFile() : !st.isDirectory()) {
    throw new AlreadyExistsError(`${field}: ${shown} exists and is ${describeType(st)}; only ${rule.what} is replaced`, field);
  }
  let ours: boolean;
  try {
    ours = rule.isOurs(path);
  } catch {
    ours = false;
  }
  if (!ours) throw new AlreadyExistsError(`${field}: ${shown} exists and is not ${rule.what}; refusing to overwrite it`, field);
  return true;
}

/**
 * Writes a folder atomically: `fill` writes its files into a fresh temp folder beside `path`, which is then
 * renamed to `path`. An existing `path` is AlreadyExistsError unless `overwrite` is set and it is a folder (not a
 * link) that `isOurs` recognises; it is then moved aside, replaced and removed, so `path` holds the old folder or
 * the new one, never a mix. On failure the temp folder is removed and `path` is untouched. File-system errors are
 * domain errors naming `field`; errors of `fill` pass through. `rule.isOurs` gets the folder.
 */
export function writeFolderAtomic(path: string, fill: (tmp: string) => void, field: string, rule: OverwriteRule): void {
  checkPathText(path, field);
  const shown = rule.shown ?? path;
  const exists = checkReplaceable(path, field, rule, 'folder');
  const parent = dirname(path);
  const tmp = join(parent, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    mkdirSync(parent, { recursive: true });
    mkdirSync(tmp);
  } catch (error) {
    throw fsError(error, field, shown);
  }
  try {
    fill(tmp);
    syncFolder(tmp);
  } catch (error) {
    rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  const old = `${tmp}.old`;
  try {
    if (exists) renameSync(path, old);
    renameSync(tmp, path);
  } catch (error) {
    if (exists && !existsSync(path)) renameSync(old, path);
    rmSync(tmp, { recursive: true, force: true });
    throw fsError(error, field, shown);
  }
  rmSync(old, { recursive: true, force: true });
  syncFolder(parent);
}

/**
 * The first syntax error of a JSON text: its byte offset and what was expected there; undefined when the
 * bytes are valid JSON syntax. Iterative (no recursion), so deep nesting cannot overflow the stack.
 */
export function jsonSyntaxError(bytes: Uint8Array): { offset: number; expected: string } | undefined {
  const n = bytes.length;
  const stack: number[] = []; // 0x5b '[' or 0x7b '{'
  let i = 0;
  type State = 'value' | 'value-or-end' | 'key' | 'key-or-end' | 'colon' | 'after';
  let state = 'value' as State;
  const ws = (): void => {
    while (i < n && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  };
  const fail = (expected: string) => ({ offset: i, expected });
  const digits = (): number => {
    const start = i;
    while (i < n && bytes[i] >= 0x30 && bytes[i] <= 0x39) i++;
    return i - start;
  };
  const string = (): { offset: number; expected: string } | undefined => {
    i++; // opening quote
    while (i < n) {
      const b = bytes[i];
      if (b === 0x22) {
        i++;
        return undefined;
      }
      if (b < 0x20) return fail('a closing quote (control characters must be escaped)');
      if (b === 0x5c) {
        i++;
        if (i >= n) return fail('an escape character');
        const e = bytes[i];
        if (e === 0x75) {
          for (let k = 1; k <= 4; k++) {
            const h = bytes[i + k];
            const hex = h !== undefined && ((h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66));
            if (!hex) {
              i += k;
              return fail('4 hex digits after \\u');
            }
          }
          i += 5;
          continue;
        }
        if (![0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74].includes(e)) return fail('one of " \\ / b f n r t u after a backslash');
      }
      i++;
    }
    return fail('a closing quote');
  };
  const value = (): { offset: number; expected: string } | undefined => {
    const b = bytes[i];
    if (b === 0x7b) {
      stack.push(b);
      i++;
      state = 'key-or-end';
      return undefined;
    }
    if (b === 0x5b) {
      stack.push(b);
      i++;
      state = 'value-or-end';
      return undefined;
    }
    state = 'after';
    if (b === 0x22) return string();
    if (b === 0x2d || (b >= 0x30 && b <= 0x39)) {
      if (b === 0x2d) i++;
      if (bytes[i] === 0x30) i++;
      else if (digits() === 0) return fail('a digit');
      if (bytes[i] === 0x2e) {
        i++;
        if (digits() === 0) return fail('a digit after the decimal point');
      }
      if (bytes[i] === 0x65 || bytes[i] === 0x45) {
        i++;
        if (bytes[i] === 0x2b || bytes[i] === 0x2d) i++;
        if (digits() === 0) return fail('a digit in the exponent');
      }
      return undefined;
    }
    for (const word of ['true', 'false', 'null']) {
      if (b === word.charCodeAt(0)) {
        for (let k = 0; k < word.length; k++, i++) if (bytes[i] !== word.charCodeAt(k)) return fail(`"${word}"`);
        return undefined;
      }
    }
    return fail('a JSON value (object, array, string, number, true, false or null)');
  };
  for (;;) {
    ws();
    if (i >= n && !(state === 'after' && stack.length === 0)) {
      const expected = {
        value: 'a JSON value',
        'value-or-end': "a value or ']'",
        key: 'a double-quoted property name',
        'key-or-end': "a double-quoted property name or '}'",
        colon: "':'",
        after: stack[stack.length - 1] === 0x7b ? "',' or '}'" : "',' or ']'",
      }[state];
      return fail(`${expected} (the input ends here)`);
    }
    let err: { offset: number; expected: string } | undefined;
    switch (state) {
      case 'value':
        err = value();
        break;
      case 'value-or-end':
        if (bytes[i] === 0x5d) {
          stack.pop();
          i++;
          state = 'after';
        } else err = value();
        break;
      case 'key-or-end':
      case 'key':
        if (state === 'key-or-end' && bytes[i] === 0x7d) {
          stack.pop();
          i++;
          state = 'after';
          break;
        }
        if (bytes[i] !== 0x22) return fail(state === 'key' ? 'a double-quoted property name' : "a double-quoted property name or '}'");
        err = string();
        state = 'colon';
        break;
      case 'colon':
        if (bytes[i] !== 0x3a) return fail("':' after the property name");
        i++;
        state = 'value';
        break;
      case 'after': {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          if (i >= n) return undefined;
          return fail('the end of the input after the JSON value');
        }
        const close = top === 0x7b ? 0x7d : 0x5d;
        if (bytes[i] === 0x2c) {
          i++;
          state = top === 0x7b ? 'key' : 'value';
        } else if (bytes[i] === close) {
          stack.pop();
          i++;
        } else return fail(top === 0x7b ? "',' or '}' after a property value" : "',' or ']' after an array element");
        break;
      }
    }
    if (err) return err;
  }
}

/**
 * Parses JSON bytes. A malformed text is InvalidArgumentError naming `where` (the file as the caller knows it),
 * the byte offset and what was expected there, never the bytes found.
 */
export function parseJsonBytes(bytes: Uint8Array, where: string, field: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidArgumentError(`${where}: not valid UTF-8 (expected JSON text)`, field);
  }
  try {
    return JSON.parse(text);
  } catch {
    const syntax = jsonSyntaxError(bytes);
    if (!syntax) throw new InvalidArgumentError(`${where}: not valid JSON`, field);
    throw new InvalidArgumentError(`${where}: not valid JSON at byte offset ${syntax.offset}: expected ${syntax.expected}`, field);
  }
}

/** What a service knows about one client path: the request field, the path as sent and where it resolved. */
export interface ClientFile {
  field: string;
  /** The path as the client sent it. */
  client: string;
  /** The real path it resolved to. */
  path: string;
}

/**
 * Runs `work` (a loader given resolved paths) and rewrites a domain error it throws into the client's terms:
 * each resolved path is shown as the client sent it, anything else under `root` relative to the root, and the
 * error names the request field of the file it is about (the first file when none matches). The host's
 * folder layout does not leak through messages.
 */
export async function inClientTerms<T>(root: string, files: readonly ClientFile[], work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toClientTerms(error, root, files);
  }
}

export function toClientTerms(error: unknown, root: string, files: readonly ClientFile[]): unknown {
  if (!(error instanceof MemorizeError)) return error;
  let message = error.message;
  // The file the error is about: named as its field (libs name the path), or in its message.
  const about =
    files.find((f) => error.field === f.path) ?? files.find((f) => message.includes(f.path)) ?? files.find((f) => f.field === error.field);
  // Longest paths first, so a file inside a resolved folder is rewritten before the folder.
  for (const f of [...files].sort((a, b) => b.path.length - a.path.length)) message = message.split(f.path).join(f.client);
  const roots = new Set([resolve(root)]);
  try {
    roots.add(realpathSync(resolve(root)));
  } catch {
    /* the root is gone */
  }
  for (const r of [...roots].sort((a, b) => b.length - a.length)) message = message.split(`${r}${sep}`).join('').split(r).join('.');
  const field = about?.field ?? error.field;
  if (about && !message.startsWith(`${about.field}: `) && !message.startsWith(`${about.field} `)) message = `${about.field}: ${message}`;
  if (message === error.message && field === error.field) return error;
  const Ctor = error.constructor as new (message: string, field?: string) => MemorizeError;
  return new Ctor(message, field);
}
