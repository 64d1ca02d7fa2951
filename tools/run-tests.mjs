#!/usr/bin/env node
// One project's tests: node's test runner through tsx over an explicit list of test files (each project's
// Nx `test` target calls this; `npm test` runs them all through Nx).
//
// Usage: node tools/run-tests.mjs <project root> [name]
//
// `tsx --test <folder>` finds no .ts files on Node 20 and passes with zero tests, so the files are listed here.
// A project without test files succeeds with a line saying so; test files that ran zero cases, or skipped or
// left "todo" cases, fail the project (a skipped test asserts nothing). The last line is the project's summary.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const [rootArg, nameArg] = process.argv.slice(2);
if (!rootArg) {
  console.error('usage: node tools/run-tests.mjs <project root> [name]');
  process.exit(2);
}
const root = join(repo, rootArg);
const name = nameArg ?? basename(root);
const skip = new Set(['node_modules', 'dist', '.nx', 'gen', 'fixtures']);

/** Test files below dir, not descending into another project's folder (a folder with its own project.json). */
function collect(dir, out, top = true) {
  if (!top && existsSync(join(dir, 'project.json'))) return out;
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (skip.has(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) collect(path, out, false);
    else if (entry.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const files = collect(root, []).sort();
if (files.length === 0) {
  console.log(`${name}: no tests (no *.test.ts under ${rootArg}); nothing to run`);
  process.exit(0);
}

const scratch = mkdtempSync(join(tmpdir(), 'memorize-test-counts-'));
const countsFile = join(scratch, 'counts.json');
const started = performance.now();
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(repo, 'tools/test-counts-reporter.mjs')}`,
    `--test-reporter-destination=${countsFile}`,
    ...files.map((f) => relative(repo, f)),
  ],
  // Without NODE_TEST_CONTEXT: when this script itself runs under node:test (tools/test/run-tests.test.ts), the
  // inherited variable would make this runner report to that parent instead of to its reporters.
  { stdio: 'inherit', cwd: repo, env: { ...process.env, NODE_TEST_CONTEXT: undefined, NODE_ENV: 'test' } },
);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
let counts = {};
try {
  counts = JSON.parse(readFileSync(countsFile, 'utf8'));
} catch {
  // The runner died before reporting: the exit status below says so.
}
rmSync(scratch, { recursive: true, force: true });

const { tests = 0, pass = 0, fail = 0, cancelled = 0, skipped = 0, todo = 0, emptyFiles = [] } = counts;
const summary = `${name}: ${files.length} files, ${tests} tests, ${pass} passed, ${fail} failed, ${cancelled} cancelled, ${skipped} skipped, ${todo} todo in ${seconds} s`;
const problems = [];
if (result.status !== 0) problems.push(`the test runner exited with ${result.status ?? result.signal}`);
if (tests === 0) problems.push('the test files ran zero test cases');
else if (emptyFiles.length > 0) problems.push(`${emptyFiles.map((f) => relative(repo, f)).join(', ')} ran zero test cases`);
if (skipped > 0 || todo > 0) problems.push('skipped or todo tests are not allowed');
if (problems.length > 0) {
  console.log(`${summary} - FAILED: ${problems.join('; ')}`);
  process.exit(1);
}
console.log(summary);
