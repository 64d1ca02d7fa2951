#!/usr/bin/env node
// Runs node's test runner through tsx over an explicit list of test files.
// `tsx --test <folder>` finds no .ts files on Node 20 and passes with zero tests, so we
// list the files ourselves. Usage: node tools/run-tests.mjs [root ...] (default: the whole repo).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['libs', 'services', 'cli', 'test'];
const skip = new Set(['node_modules', 'dist', '.nx', 'gen']);

function collect(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (skip.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const files = roots.flatMap((r) => collect(join(repo, r), [])).sort();
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ')}`);
  process.exit(1);
}
console.error(`running ${files.length} test files`);
const codegen = spawnSync(process.execPath, [join(repo, 'tools/codegen.mjs')], { stdio: 'inherit', cwd: repo });
if (codegen.status !== 0) process.exit(codegen.status ?? 1);
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...files.map((f) => relative(repo, f))],
  { stdio: 'inherit', cwd: repo, env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(result.status ?? 1);
