import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AlreadyExistsError } from '@memorize/errors';
import { writeFolderAtomic, type OverwriteRule } from '@memorize/files';

/** writeFolderAtomic: a folder appears whole or not at all, and only folders of ours are ever replaced. */

const dir = mkdtempSync(join(tmpdir(), 'memorize-folders-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ours = (folder: string) => existsSync(join(folder, 'ours'));
const rule = (overwrite: boolean): OverwriteRule => ({ overwrite, isOurs: ours, what: 'a folder of ours' });
const fill = (text: string) => (tmp: string) => {
  writeFileSync(join(tmp, 'ours'), '');
  writeFileSync(join(tmp, 'data'), text);
};

test('a new folder appears with its files, nested parents made, no temp folder left', () => {
  const path = join(dir, 'a', 'b', 'out');
  writeFolderAtomic(path, fill('one'), 'path', rule(false));
  assert.equal(readFileSync(join(path, 'data'), 'utf8'), 'one');
  assert.deepEqual(readdirSync(join(dir, 'a', 'b')), ['out']);
});

test('an existing folder: ALREADY_EXISTS without overwrite; replaced with it only when it is ours', () => {
  const path = join(dir, 'replace');
  writeFolderAtomic(path, fill('one'), 'path', rule(false));
  assert.throws(
    () => writeFolderAtomic(path, fill('two'), 'path', rule(false)),
    (e: unknown) => e instanceof AlreadyExistsError && /set overwrite/.test(String(e)),
  );
  writeFolderAtomic(path, fill('two'), 'path', rule(true));
  assert.equal(readFileSync(join(path, 'data'), 'utf8'), 'two');
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('.')),
    [],
  );

  const foreign = join(dir, 'foreign');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'keep'), 'x');
  assert.throws(() => writeFolderAtomic(foreign, fill('two'), 'path', rule(true)), /is not a folder of ours; refusing/);
  assert.equal(readFileSync(join(foreign, 'keep'), 'utf8'), 'x');
  const file = join(dir, 'file');
  writeFileSync(file, 'x');
  assert.throws(() => writeFolderAtomic(file, fill('two'), 'path', rule(true)), /exists and is a regular file|only a folder of ours/);
  const link = join(dir, 'link');
  symlinkSync(path, link);
  assert.throws(() => writeFolderAtomic(link, fill('two'), 'path', rule(true)), /only a folder of ours is replaced/);
});

test('a failing fill leaves the old folder (or nothing) and no temp folder', () => {
  const path = join(dir, 'failing');
  const boom = () => {
    throw new Error('boom');
  };
  assert.throws(() => writeFolderAtomic(path, boom, 'path', rule(false)), /boom/);
  assert.equal(existsSync(path), false);
  writeFolderAtomic(path, fill('one'), 'path', rule(false));
  assert.throws(() => writeFolderAtomic(path, boom, 'path', rule(true)), /boom/);
  assert.equal(readFileSync(join(path, 'data'), 'utf8'), 'one');
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('.')),
    [],
  );
});
