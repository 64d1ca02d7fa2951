import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  MemorizeError,
  NotFoundError,
  PermissionDeniedError,
} from '@memorize/errors';
import {
  checkOverwrite,
  fileOrFolder,
  inClientTerms,
  jsonSyntaxError,
  openRegularFile,
  parseJsonBytes,
  readRegularFile,
  resolveInRoot,
  writeFileAtomic,
} from '@memorize/files';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'memorize-files-')));
const root = join(base, 'root');
const outside = join(base, 'outside');
mkdirSync(join(root, 'sub'), { recursive: true });
mkdirSync(outside);
writeFileSync(join(root, 'sub', 'a.txt'), 'inside');
writeFileSync(join(outside, 'secret.txt'), 'root:x:0:0:root');
symlinkSync(join(outside, 'secret.txt'), join(root, 'out-link'));
symlinkSync(outside, join(root, 'out-dir'));
symlinkSync(join(root, 'sub', 'a.txt'), join(root, 'in-link'));
execFileSync('mkfifo', [join(root, 'fifo')]);
after(() => rmSync(base, { recursive: true, force: true }));

function rejects(fn: () => unknown, Kind: new (...a: never[]) => MemorizeError, field: string, pattern?: RegExp): MemorizeError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof Kind, `expected ${Kind.name}, got ${String(caught)}`);
  const e = caught as MemorizeError;
  assert.equal(e.field, field);
  assert.match(e.message, new RegExp(`^${field}`));
  if (pattern) assert.match(e.message, pattern);
  return e;
}

test('resolveInRoot: relative paths resolve against the root, absolute ones only inside it', () => {
  assert.equal(resolveInRoot(root, 'sub/a.txt', 'path'), join(root, 'sub', 'a.txt'));
  assert.equal(resolveInRoot(root, join(root, 'sub', 'a.txt'), 'path'), join(root, 'sub', 'a.txt'));
  assert.equal(resolveInRoot(root, 'sub/../sub/new.bin', 'path'), join(root, 'sub', 'new.bin'), 'a file not written yet');
  assert.equal(resolveInRoot(root, 'new/deeper/x', 'path'), join(root, 'new', 'deeper', 'x'));
  rejects(() => resolveInRoot(root, '../outside/secret.txt', 'path'), PermissionDeniedError, 'path', new RegExp(`outside the root ${root}`));
  rejects(() => resolveInRoot(root, '../../tmp/x', 'path'), PermissionDeniedError, 'path');
  rejects(() => resolveInRoot(root, '/etc/passwd', 'claims_path'), PermissionDeniedError, 'claims_path', /\/etc\/passwd is outside the root/);
  rejects(() => resolveInRoot(root, join(outside, 'secret.txt'), 'path'), PermissionDeniedError, 'path');
});

test('resolveInRoot: a symlink out of the root is refused, a symlink inside to inside is followed', () => {
  rejects(() => resolveInRoot(root, 'out-link', 'path'), PermissionDeniedError, 'path');
  rejects(() => resolveInRoot(root, 'out-dir/secret.txt', 'path'), PermissionDeniedError, 'path');
  rejects(() => resolveInRoot(root, 'out-dir/not-yet.bin', 'path'), PermissionDeniedError, 'path', /outside the root/);
  assert.equal(resolveInRoot(root, 'in-link', 'path'), join(root, 'sub', 'a.txt'));
  // A root that is itself reached through a symlink still works.
  symlinkSync(root, join(base, 'root-link'));
  assert.equal(resolveInRoot(join(base, 'root-link'), 'sub/a.txt', 'path'), join(root, 'sub', 'a.txt'));
});

test('resolveInRoot: empty, NUL byte, too long, missing root', () => {
  rejects(() => resolveInRoot(root, '', 'path'), InvalidArgumentError, 'path', /required/);
  rejects(() => resolveInRoot(root, 'a\u0000b', 'path'), InvalidArgumentError, 'path', /NUL/);
  rejects(() => resolveInRoot(root, 'x'.repeat(5000), 'path'), InvalidArgumentError, 'path', /too long/);
  rejects(() => resolveInRoot(join(base, 'no-root'), 'a', 'path'), FailedPreconditionError, 'path', /root .* does not exist/);
});

test('openRegularFile: a FIFO returns at once with InvalidArgumentError (no writer needed, nothing blocks)', () => {
  const t0 = performance.now();
  rejects(() => openRegularFile(join(root, 'fifo'), 'path'), InvalidArgumentError, 'path', /is a FIFO, expected a regular file/);
  rejects(() => readRegularFile(join(root, 'fifo'), 'path'), InvalidArgumentError, 'path', /FIFO/);
  rejects(() => fileOrFolder(join(root, 'fifo'), 'path'), InvalidArgumentError, 'path', /FIFO/);
  assert.ok(performance.now() - t0 < 1000, 'returns promptly');
});

test('openRegularFile: devices, folders, missing files, NUL bytes, long names, symlinks with noFollow', () => {
  rejects(() => openRegularFile('/dev/zero', 'path'), InvalidArgumentError, 'path', /is a device/);
  rejects(() => readRegularFile('/dev/null', 'path'), InvalidArgumentError, 'path', /is a device/);
  rejects(() => openRegularFile(join(root, 'sub'), 'path'), InvalidArgumentError, 'path', /is a folder/);
  rejects(() => openRegularFile(join(root, 'nope.bin'), 'path', { shown: 'nope.bin' }), NotFoundError, 'path', /no such file or folder: nope\.bin$/);
  rejects(() => openRegularFile(join(root, 'sub', 'a.txt', 'x'), 'path'), InvalidArgumentError, 'path', /not a folder/);
  rejects(() => openRegularFile(`${root}/a\u0000b`, 'path'), InvalidArgumentError, 'path', /NUL/);
  rejects(() => openRegularFile(join(root, 'y'.repeat(300)), 'path'), InvalidArgumentError, 'path', /too long/);
  rejects(() => openRegularFile(join(root, 'in-link'), 'path', { noFollow: true }), InvalidArgumentError, 'path', /symbolic link/);
  assert.equal(readRegularFile(join(root, 'in-link'), 'path').toString(), 'inside');
  assert.equal(fileOrFolder(join(root, 'sub'), 'path'), 'folder');
  assert.equal(fileOrFolder(join(root, 'sub', 'a.txt'), 'path'), 'file');
  if (process.getuid?.() !== 0) {
    writeFileSync(join(root, 'locked'), 'x', { mode: 0o000 });
    rejects(() => openRegularFile(join(root, 'locked'), 'path'), PermissionDeniedError, 'path');
  }
});

test('writeFileAtomic: writes all chunks, replaces atomically, leaves no temp file when it fails', () => {
  const target = join(root, 'w', 'out.bin');
  mkdirSync(join(root, 'w'));
  writeFileAtomic(target, [Buffer.from('ab'), Buffer.from('cd')]);
  assert.equal(readFileSync(target, 'utf8'), 'abcd');
  writeFileAtomic(target, Buffer.from('new'));
  assert.equal(readFileSync(target, 'utf8'), 'new');
  assert.deepEqual(readdirSync(join(root, 'w')), ['out.bin']);
  // Renaming over a folder fails after the temp file was written: the temp file must be gone.
  mkdirSync(join(root, 'w', 'dir'));
  rejects(() => writeFileAtomic(join(root, 'w', 'dir'), Buffer.from('x')), InvalidArgumentError, 'path', /folder/);
  assert.deepEqual(readdirSync(join(root, 'w')).sort(), ['dir', 'out.bin']);
  rejects(() => writeFileAtomic(join(root, 'missing', 'x.bin'), Buffer.from('x')), NotFoundError, 'path');
  assert.ok(!existsSync(join(root, 'missing')));
});

test('checkOverwrite: free paths pass; existing files only with overwrite and only when they are ours', () => {
  const rule = (overwrite: boolean) => ({ overwrite, what: 'a memory file', isOurs: (p: string) => readFileSync(p, 'utf8') === 'ours' });
  writeFileSync(join(root, 'ours'), 'ours');
  checkOverwrite(join(root, 'free'), 'path', rule(false));
  rejects(() => checkOverwrite(join(root, 'ours'), 'path', rule(false)), AlreadyExistsError, 'path', /already exists/);
  checkOverwrite(join(root, 'ours'), 'path', rule(true));
  rejects(() => checkOverwrite(join(root, 'sub', 'a.txt'), 'path', rule(true)), AlreadyExistsError, 'path', /not a memory file/);
  rejects(() => checkOverwrite(join(root, 'fifo'), 'path', rule(true)), AlreadyExistsError, 'path', /FIFO/);
  rejects(() => checkOverwrite(join(root, 'sub'), 'path', rule(true)), AlreadyExistsError, 'path', /folder/);
  assert.equal(readFileSync(join(root, 'sub', 'a.txt'), 'utf8'), 'inside');
});

test('parseJsonBytes names the file, the byte offset and what was expected, never the bytes found', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['root:x:0:0:root', 0, /a JSON value/],
    ['{"a": 1,}', 8, /property name/],
    ['[1, 2', 5, /',' or '\]'.*ends here/],
    ['{"a" 1}', 5, /':'/],
    ['{"a":1} secret', 8, /end of the input/],
    ['{"é": tru}', 10, /"true"/],
    ['', 0, /ends here/],
    ['"abc', 4, /closing quote/],
    ['[1.]', 3, /digit after the decimal point/],
  ];
  for (const [text, offset, expected] of cases) {
    assert.deepEqual(jsonSyntaxError(Buffer.from(text))?.offset, offset, text);
    let message = '';
    try {
      parseJsonBytes(Buffer.from(text), 'models/x/config.json', 'path');
    } catch (error) {
      assert.ok(error instanceof InvalidArgumentError);
      assert.equal(error.field, 'path');
      message = error.message;
    }
    assert.match(message, new RegExp(`^models/x/config\\.json: not valid JSON at byte offset ${offset}: expected `));
    assert.match(message, expected);
    assert.doesNotMatch(message, /root:x|secret|tru\b/);
  }
  for (const ok of ['{"a":[1,-2.5e3,true,null,{"b":"\\u00e9\\n"}]}', ' [] ', '0']) assert.equal(jsonSyntaxError(Buffer.from(ok)), undefined, ok);
  assert.equal(jsonSyntaxError(Buffer.from('['.repeat(100000)))?.offset, 100000, 'deep nesting does not overflow');
  assert.throws(() => parseJsonBytes(Buffer.from([0xff, 0xfe]), 'f.json', 'path'), /f\.json: not valid UTF-8/);
});

test('inClientTerms shows paths as the client sent them and names the request field', async () => {
  const resolved = join(root, 'sub', 'a.txt');
  await assert.rejects(
    inClientTerms(root, [{ field: 'tokenizer_path', client: 'sub/a.txt', path: resolved }], () => {
      throw new InvalidArgumentError(`${resolved}: header at offset 8 is not valid JSON; see also ${join(root, 'sub', 'b.json')}`, 'header');
    }),
    (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError);
      assert.equal(error.field, 'tokenizer_path');
      assert.equal(error.message, 'tokenizer_path: sub/a.txt: header at offset 8 is not valid JSON; see also sub/b.json');
      return true;
    },
  );
  assert.equal(await inClientTerms(root, [], () => 3), 3);
  // An error about something else (an option) keeps its field.
  await assert.rejects(
    inClientTerms(root, [{ field: 'claims_path', client: 'c.jsonl', path: join(root, 'c.jsonl') }], () => {
      throw new InvalidArgumentError('must be at most 300', 'topN');
    }),
    (error: unknown) => error instanceof InvalidArgumentError && error.field === 'topN' && error.message === 'must be at most 300',
  );
});
