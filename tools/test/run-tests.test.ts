// tools/run-tests.mjs, each project's test target: the summary line, and the cases that must fail a project.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'node:test';
import { repoRoot } from '../workspace.mjs';

function runTests(fixture: string): { status: number | null; lastLine: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, 'tools/run-tests.mjs'), `tools/test/fixtures/${fixture}`, fixture], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  const lines = r.stdout.trim().split('\n');
  return { status: r.status, lastLine: lines[lines.length - 1]! };
}

test('a project without test files succeeds and says so', () => {
  const r = runTests('no-tests');
  assert.equal(r.status, 0);
  assert.match(r.lastLine, /^no-tests: no tests \(no \*\.test\.ts under tools\/test\/fixtures\/no-tests\)/);
});

test('test files that run zero cases fail the project', () => {
  const r = runTests('zero-cases');
  assert.equal(r.status, 1);
  assert.match(r.lastLine, /^zero-cases: 1 files, 0 tests, .* FAILED: the test files ran zero test cases/);
});

test('a skipped case fails the project', () => {
  const r = runTests('skipped');
  assert.equal(r.status, 1);
  assert.match(r.lastLine, /^skipped: 1 files, 2 tests, 1 passed, 0 failed, 0 cancelled, 1 skipped, 0 todo in [\d.]+ s - FAILED: skipped or todo/);
});

test('passing tests end with the project summary', () => {
  const r = runTests('passing');
  assert.equal(r.status, 0);
  assert.match(r.lastLine, /^passing: 1 files, 2 tests, 2 passed, 0 failed, 0 cancelled, 0 skipped, 0 todo in [\d.]+ s$/);
});
