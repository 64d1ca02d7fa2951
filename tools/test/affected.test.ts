// `nx affected` picks exactly what a change touches. In a throw-away git repository holding this checkout's
// files (tracked and untracked, as they are now), one line is committed to one project, and
// `nx show projects --affected --base=HEAD~1` must list exactly that project and its dependents — computed
// here independently of Nx, from the package.json declarations and project.json implicit dependencies.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { dependentsOf, loadProjects, repoRoot } from '../workspace.mjs';

const nxEnv = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true', NX_TUI: 'false', CI: 'true' };
let scratch = '';

function git(...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=affected-test', '-c', 'user.email=affected@test.invalid', ...args], {
    cwd: scratch,
    encoding: 'utf8',
  });
}

function affectedAfterChanging(file: string): string[] {
  git('checkout', '-q', '-B', `change-${file.replace(/\W/g, '-')}`, 'base');
  appendFileSync(join(scratch, file), '\n// a one-line change\n');
  git('commit', '-q', '-am', `change ${file}`);
  const out = execFileSync(join(repoRoot, 'node_modules/.bin/nx'), ['show', 'projects', '--affected', '--base=HEAD~1', '--head=HEAD', '--json'], {
    cwd: scratch,
    env: nxEnv,
    encoding: 'utf8',
  });
  return (JSON.parse(out) as string[]).sort();
}

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'memorize-affected-'));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: repoRoot, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(scratch, file)), { recursive: true });
    try {
      copyFileSync(join(repoRoot, file), join(scratch, file));
    } catch (error) {
      // A file deleted in the working tree but still tracked: it is not part of the checkout as it is now.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(scratch, 'node_modules'));
  execFileSync('git', ['init', '-q', '-b', 'base'], { cwd: scratch });
  git('add', '-A');
  git('commit', '-q', '-m', 'base');
});

after(() => rmSync(scratch, { recursive: true, force: true }));

test('a change to libs/fever affects fever and its dependents only (not lm, not memory)', () => {
  const projects = loadProjects(repoRoot);
  const expected = ['fever', ...dependentsOf(projects, 'fever')].sort();
  const affected = affectedAfterChanging('libs/fever/src/index.ts');
  assert.deepEqual(affected, expected);
  assert.ok(!affected.includes('lm') && !affected.includes('memory'), `lm and memory must not be affected: ${affected.join(', ')}`);
  assert.ok(affected.includes('data') && affected.includes('e2e'), 'the data service and the e2e tests use fever');
});

test('a change to services/model-host affects the e2e tests, which start it as a process', () => {
  const projects = loadProjects(repoRoot);
  const affected = affectedAfterChanging('services/model-host/src/index.ts');
  assert.deepEqual(affected, ['model-host', ...dependentsOf(projects, 'model-host')].sort());
  assert.ok(affected.includes('e2e'));
  assert.ok(!affected.includes('data') && !affected.includes('lm'), `a service change affects no library or other service: ${affected.join(', ')}`);
});
