// npm's workspace graph, Nx's project graph and the code's imports agree, and every project is tagged for the
// boundary rule.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { workspaceDependencyMismatches } from '../workspace-deps.mjs';
import { loadProjects, projectEdges, repoRoot } from '../workspace.mjs';

test('every package.json declares exactly the @memorize packages its files import', () => {
  assert.deepEqual(workspaceDependencyMismatches(repoRoot), []);
});

test("Nx's project graph has exactly the declared and implicit dependencies", () => {
  const dir = mkdtempSync(join(tmpdir(), 'memorize-graph-'));
  try {
    execFileSync(join(repoRoot, 'node_modules/.bin/nx'), ['graph', `--file=${join(dir, 'graph.json')}`], {
      cwd: repoRoot,
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
      stdio: 'ignore',
    });
    const graph = JSON.parse(readFileSync(join(dir, 'graph.json'), 'utf8')) as {
      graph: { dependencies: Record<string, { target: string }[]> };
    };
    const projects = loadProjects(repoRoot);
    const byPackage = new Map(projects.map((p) => [p.packageName, p.name]));
    const edges = projectEdges(projects);
    for (const project of projects) {
      const declared = edges.get(project.name)!;
      const fromNx = (graph.graph.dependencies[project.name] ?? [])
        .map((d) => d.target)
        .filter((t) => byPackage.has(`@memorize/${t}`) || projects.some((p) => p.name === t));
      assert.deepEqual([...new Set(fromNx)].sort(), [...new Set(declared)].sort(), `dependencies of ${project.name}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every project has a package.json, a tsconfig.json and one type:* tag', () => {
  const projects = loadProjects(repoRoot);
  assert.ok(projects.length >= 14, `found ${projects.length} projects`);
  for (const p of projects) {
    assert.ok(p.packageName?.startsWith('@memorize/'), `${p.root}: package name`);
    assert.equal(p.tags.filter((t) => t.startsWith('type:')).length, 1, `${p.root}: tags ${p.tags.join(', ')}`);
    assert.doesNotThrow(() => readFileSync(join(repoRoot, p.root, 'tsconfig.json')), `${p.root}: tsconfig.json`);
  }
});
