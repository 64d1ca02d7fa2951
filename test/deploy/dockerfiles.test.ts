/**
 * deploy/docker: no Docker daemon here, so each Dockerfile is parsed (instructions, line continuations, stages,
 * ARG defaults) and checked with hadolint's rules that apply (DL3006/DL3007 tagged base images and no latest,
 * DL3000 absolute WORKDIR, DL3020 COPY not ADD, DL3025 JSON ENTRYPOINT/CMD, DL3002 last USER not root, DL4000 no
 * MAINTAINER) and this project's (multi-stage, HEALTHCHECK through the gRPC health script, EXPOSE and CMD the
 * service's default port, every COPY source present in the build context after .dockerignore, the native packages
 * prepare.sh rebuilds are in the lockfile). The health script itself is run against a real service.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, repoRoot, startServiceProcess, type ServiceProcess } from '@memorize/testing';

const dockerDir = join(repoRoot, 'deploy', 'docker');
const services: Record<string, { service: string; port: number }> = {
  data: { service: 'data', port: 50051 },
  'model-host': { service: 'model-host', port: 50052 },
  'model-host-gpu': { service: 'model-host', port: 50052 },
  trainer: { service: 'trainer', port: 50053 },
  evaluator: { service: 'evaluator', port: 50054 },
};

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

const KEYWORDS = new Set([
  'FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL', 'MAINTAINER',
]); // prettier-ignore

/** Instructions of a Dockerfile: comments dropped (parser directives too), backslash continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { text: string; line: number } | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (pending === null && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (pending !== null && line.trimStart().startsWith('#')) return;
    const chunk = line.endsWith('\\') ? line.slice(0, -1) : line;
    pending = pending ? { text: `${pending.text} ${chunk.trim()}`, line: pending.line } : { text: chunk.trim(), line: i + 1 };
    if (!line.endsWith('\\')) {
      const m = /^(\S+)\s*(.*)$/.exec(pending.text)!;
      const keyword = m[1].toUpperCase();
      if (!KEYWORDS.has(keyword)) throw new Error(`line ${pending.line}: unknown instruction ${m[1]}`);
      out.push({ keyword, args: m[2], line: pending.line });
      pending = null;
    }
  });
  if (pending) throw new Error('the file ends inside a continued line');
  return out;
}

/** `--flag=value` options in front of an instruction's arguments, and the rest. */
function options(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([\w-]+)(?:=(\S+))?\s+/.exec(rest); m; m = /^--([\w-]+)(?:=(\S+))?\s+/.exec(rest)) {
    flags[m[1]] = m[2] ?? '';
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

/** ${NAME} and $NAME replaced by the ARG defaults declared before the first FROM. */
function substitute(text: string, args: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => args[a ?? b] ?? `\${${a ?? b}}`);
}

const jsonForm = (args: string): string[] | null => {
  try {
    const v = JSON.parse(args) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : null;
  } catch {
    return null;
  }
};

/** .dockerignore's patterns as regular expressions over repository-relative paths (**, *, and exact names). */
function ignored(): (path: string) => boolean {
  const patterns = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map(
      (p) =>
        new RegExp(
          `^${p
            .replace(/[.+^$()|[\]{}]/g, '\\$&')
            .replace(/\*\*\//g, '@GLOBSTAR@')
            .replace(/\*/g, '[^/]*')
            .replace(/@GLOBSTAR@/g, '(.*/)?')}(/.*)?$`,
        ),
    );
  return (path) => patterns.some((re) => re.test(path));
}

const dockerfiles = readdirSync(dockerDir).filter((f) => f.endsWith('.Dockerfile'));

describe('Dockerfiles', () => {
  it('one per service, and a GPU image for model-host', () => {
    assert.deepEqual(dockerfiles.map((f) => f.replace('.Dockerfile', '')).sort(), Object.keys(services).sort());
  });

  const isIgnored = ignored();
  for (const file of dockerfiles) {
    const name = file.replace('.Dockerfile', '');
    it(`${file} parses and passes the checks`, () => {
      const text = readFileSync(join(dockerDir, file), 'utf8');
      const instructions = parseDockerfile(text);
      const args: Record<string, string> = {};
      const firstFrom = instructions.findIndex((i) => i.keyword === 'FROM');
      assert.ok(firstFrom >= 0, 'has FROM');
      for (const i of instructions.slice(0, firstFrom)) {
        assert.equal(i.keyword, 'ARG', `line ${i.line}: only ARG before the first FROM`);
        const [k, v] = i.args.split('=');
        args[k] = v;
      }
      const stages: Instruction[][] = [];
      const stageNames = new Set<string>();
      for (const i of instructions.slice(firstFrom)) {
        if (i.keyword === 'FROM') stages.push([]);
        stages[stages.length - 1].push(i);
      }
      assert.ok(stages.length >= 2, 'multi-stage: a build stage and a runtime stage');
      for (const stage of stages) {
        const from = options(stage[0].args).rest.split(/\s+/);
        const image = substitute(from[0], args);
        if (!stageNames.has(image)) {
          assert.match(image, /^[\w./-]+:[\w.-]+$/, `line ${stage[0].line}: DL3006 base image tagged, got ${image}`);
          assert.doesNotMatch(image, /:latest$/, `line ${stage[0].line}: DL3007 no latest`);
        }
        if (from[1]?.toUpperCase() === 'AS') stageNames.add(from[2]);
      }
      for (const i of instructions) {
        assert.notEqual(i.keyword, 'MAINTAINER', `line ${i.line}: DL4000`);
        assert.notEqual(i.keyword, 'ADD', `line ${i.line}: DL3020 COPY, not ADD`);
        if (i.keyword === 'WORKDIR') assert.match(i.args, /^\//, `line ${i.line}: DL3000 absolute WORKDIR`);
        if (i.keyword === 'COPY') {
          const { flags, rest } = options(i.args);
          if (flags.from !== undefined) {
            assert.ok(stageNames.has(flags.from), `line ${i.line}: --from names a stage`);
            continue;
          }
          const parts = jsonForm(rest) ?? rest.split(/\s+/);
          for (const source of parts.slice(0, -1)) {
            const rel = source === '.' ? '' : source.replace(/^\.\//, '');
            assert.ok(existsSync(join(repoRoot, rel)), `line ${i.line}: COPY source ${source} exists`);
            if (rel) assert.equal(isIgnored(rel), false, `line ${i.line}: COPY source ${source} is not in .dockerignore`);
          }
        }
        if (i.keyword === 'RUN') {
          const script = /\.\/(deploy\/docker\/[\w.-]+\.sh)/.exec(i.args)?.[1];
          if (script) assert.ok(statSync(join(repoRoot, script)).mode & 0o111, `line ${i.line}: ${script} exists and is executable`);
        }
      }
      const runtime = stages[stages.length - 1];
      const last = (k: string): Instruction | undefined => runtime.filter((i) => i.keyword === k).at(-1);
      const user = last('USER');
      assert.ok(user, 'the runtime stage sets USER');
      assert.doesNotMatch(user.args, /^(root|0)(:|$)/, 'DL3002: last USER is not root');
      const { service, port } = services[name];
      assert.deepEqual(jsonForm(last('ENTRYPOINT')!.args), ['node', 'cli/bin/memorize.mjs'], 'DL3025 ENTRYPOINT in JSON form');
      assert.deepEqual(jsonForm(last('CMD')!.args), ['serve', service, '--port', String(port)], 'DL3025 CMD in JSON form');
      assert.equal(last('EXPOSE')?.args, String(port));
      const health = options(last('HEALTHCHECK')!.args).rest;
      assert.deepEqual(jsonForm(health.replace(/^CMD\s+/, '')), ['node', 'deploy/docker/health.mjs', String(port)]);
      assert.match(last('ENV')!.args, /MEMORIZE_HOST=0\.0\.0\.0/);
    });
  }

  it('the GPU image is on the CUDA 11.2 / cuDNN 8 base tfjs-node-gpu 4.x needs, its addon built on the same glibc', () => {
    const text = readFileSync(join(dockerDir, 'model-host-gpu.Dockerfile'), 'utf8');
    assert.match(text, /ARG CUDA_IMAGE=nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-ubuntu20\.04/);
    assert.match(text, /FROM node:\$\{NODE_VERSION\}-bullseye AS build/);
    assert.match(text, /prepare\.sh @tensorflow\/tfjs-node-gpu$/m);
    // tfjs-node-gpu 4.x downloads libtensorflow 2.9.1 (scripts/deps-constants.js), built against CUDA 11.2 and cuDNN
    // 8.1. It is an optional dependency whose install fails without that download, so on CI only the lockfile says
    // which version the image gets; where the package installed, its constants are checked as well.
    const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    assert.match(lock.packages['node_modules/@tensorflow/tfjs-node-gpu']?.version ?? '', /^4\./, 'tfjs-node-gpu 4.x in the lockfile');
    const constants = join(repoRoot, 'node_modules', '@tensorflow', 'tfjs-node-gpu', 'scripts', 'deps-constants.js');
    if (existsSync(constants)) assert.match(readFileSync(constants, 'utf8'), /LIBTENSORFLOW_VERSION = '2\.9\.1'/);
  });

  it('prepare.sh rebuilds only packages of the lockfile and ships what the runtime needs', () => {
    const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    const prepare = readFileSync(join(dockerDir, 'prepare.sh'), 'utf8');
    for (const file of dockerfiles) {
      const m = /prepare\.sh(.*)$/m.exec(readFileSync(join(dockerDir, file), 'utf8'))!;
      for (const pkg of m[1].trim().split(/\s+/).filter(Boolean))
        assert.ok(lock.packages[`node_modules/${pkg}`], `${file}: ${pkg} in package-lock.json`);
    }
    for (const pkg of ['esbuild', '@bufbuild/buf', 'tsx']) assert.ok(lock.packages[`node_modules/${pkg}`], pkg);
    for (const path of ['package.json', 'cli', 'libs', 'services', 'proto', 'node_modules'])
      assert.match(prepare, new RegExp(`cp -a .*\\b${path}\\b`));
    assert.ok(existsSync(join(repoRoot, 'cli', 'bin', 'memorize.mjs')));
    const r = spawnSync('sh', ['-n', join(dockerDir, 'prepare.sh')]);
    assert.equal(r.status, 0, `prepare.sh parses: ${r.stderr}`);
  });

  it('.dockerignore keeps node_modules, .git and local state out of the context', () => {
    for (const p of ['node_modules', 'libs/lm/node_modules', '.git', '.memorize', 'libs/contracts/src/gen']) assert.ok(isIgnored(p), p);
    for (const p of ['package.json', 'cli/bin/memorize.mjs', 'deploy/docker/prepare.sh', 'proto']) assert.equal(isIgnored(p), false, p);
  });
});

describe('the HEALTHCHECK script', () => {
  let service: ServiceProcess | undefined;
  after(async () => {
    await service?.stop(10_000);
  });

  const health = (port: number): { code: number | null; out: string } => {
    const r = spawnSync(process.execPath, [join(dockerDir, 'health.mjs'), String(port)], { encoding: 'utf8', cwd: repoRoot, timeout: 20_000 });
    return { code: r.status, out: r.stdout };
  };

  it('exits 0 on a serving service and 1 when nothing answers', async () => {
    service = await startServiceProcess('data');
    const port = Number(service.address.slice(service.address.lastIndexOf(':') + 1));
    assert.deepEqual(health(port), { code: 0, out: 'SERVING\n' });
    assert.equal(health(await freePort()).code, 1);
  });
});
