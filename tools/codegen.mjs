#!/usr/bin/env node
// Generates libs/contracts/src/gen from proto/ with buf + ts-proto (never hand-edited, never committed).
// Skips the work when the generated stamp matches the hash of the proto sources.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync, existsSync, rmSync, renameSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const out = join(repo, 'libs/contracts/src/gen');
const stamp = join(out, '.stamp');
const inputs = ['buf.yaml', 'buf.gen.yaml'];
(function walk(dir) {
  for (const name of readdirSync(join(repo, dir), { withFileTypes: true })) {
    const rel = join(dir, name.name);
    if (name.isDirectory()) walk(rel);
    else if (rel.endsWith('.proto')) inputs.push(rel);
  }
})('proto');
const hash = createHash('sha256');
for (const f of inputs.sort()) hash.update(f).update(readFileSync(join(repo, f)));
const digest = hash.digest('hex');
if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) process.exit(0);

// Generate into a temporary folder, then swap it in, so a failed run never leaves half a tree.
const tmp = `${out}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
const template = readFileSync(join(repo, 'buf.gen.yaml'), 'utf8');
const opts = [...template.matchAll(/^\s+- (\w+=\S+)\s*$/gm)].map((m) => m[1]);
const inline = JSON.stringify({
  version: 'v2',
  plugins: [{ local: join(repo, 'node_modules/.bin/protoc-gen-ts_proto'), out: tmp, opt: opts }],
});
const res = spawnSync(join(repo, 'node_modules/.bin/buf'), ['generate', '--template', inline], { cwd: repo, stdio: 'inherit' });
if (res.status !== 0) {
  rmSync(tmp, { recursive: true, force: true });
  console.error('codegen: buf generate failed');
  process.exit(res.status ?? 1);
}
writeFileSync(join(tmp, '.stamp'), digest);
rmSync(out, { recursive: true, force: true });
renameSync(tmp, out);
console.error(`codegen: generated libs/contracts/src/gen from ${inputs.length - 2} proto files`);
