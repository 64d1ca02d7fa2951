// The workspace's projects as the repository declares them: every folder with a project.json (name, tags,
// implicit dependencies) and its package.json (package name, declared @memorize/* dependencies). One reading
// of that layout for the boundary lint rule (tools/eslint/boundaries.mjs) and the workspace checks
// (tools/test/*.test.ts), so the rule, the checks and Nx all see the same projects.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

// fixtures: files linted or run as if they stood elsewhere (tools/eslint/fixtures, tools/test/fixtures).
const SKIP = new Set(['node_modules', '.git', '.nx', 'dist', 'gen', '.memorize', 'fixtures']);
/** Our packages' scope: an import of `${SCOPE}/x` is a dependency on a workspace project. */
export const SCOPE = '@memorize/';

/**
 * @typedef {object} Project
 * @property {string} name Nx project name
 * @property {string} root folder relative to the repository, with forward slashes
 * @property {string[]} tags
 * @property {string[]} implicitDependencies
 * @property {string | undefined} packageName
 * @property {Record<string, string>} dependencies @memorize/* dependencies and devDependencies of its package.json
 */

/** @returns {Project[]} */
export function loadProjects(root = repoRoot) {
  const projects = [];
  (function walk(dir) {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (!entry.isDirectory() || SKIP.has(entry.name) || entry.name.startsWith('.')) continue;
      const folder = dir ? `${dir}/${entry.name}` : entry.name;
      const projectFile = join(root, folder, 'project.json');
      if (existsSync(projectFile)) {
        const project = JSON.parse(readFileSync(projectFile, 'utf8'));
        const pkgFile = join(root, folder, 'package.json');
        const pkg = existsSync(pkgFile) ? JSON.parse(readFileSync(pkgFile, 'utf8')) : {};
        const declared = { ...pkg.dependencies, ...pkg.devDependencies };
        projects.push({
          name: project.name,
          root: folder,
          tags: project.tags ?? [],
          implicitDependencies: project.implicitDependencies ?? [],
          packageName: pkg.name,
          dependencies: Object.fromEntries(Object.entries(declared).filter(([n]) => n.startsWith(SCOPE))),
        });
      }
      walk(folder);
    }
  })('');
  return projects.sort((a, b) => a.root.localeCompare(b.root));
}

/** The project owning a file: the one with the deepest root containing it (undefined outside every project). */
export function projectOfFile(projects, file, root = repoRoot) {
  const rel = relative(root, file).split(sep).join('/');
  let best;
  for (const p of projects) {
    if ((rel === p.root || rel.startsWith(`${p.root}/`)) && (!best || p.root.length > best.root.length)) best = p;
  }
  return best;
}

/** The project a package name (or a deep import `@memorize/x/sub`) belongs to. */
export function projectOfPackage(projects, specifier) {
  if (!specifier.startsWith(SCOPE)) return undefined;
  const name = specifier.split('/').slice(0, 2).join('/');
  return projects.find((p) => p.packageName === name);
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](@memorize\/[a-z0-9-]+)/g;

/**
 * The @memorize/* packages imported by a project's own source files (not those of nested projects): each maps
 * to 'dependencies' when some non-test file imports it, else to 'devDependencies' (only tests import it).
 * @returns {Record<string, 'dependencies' | 'devDependencies'>}
 */
export function importedPackages(project, root = repoRoot) {
  const found = {};
  (function walk(dir) {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (SKIP.has(entry.name)) continue;
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!existsSync(join(root, path, 'project.json'))) walk(path);
      } else if (/\.(m?ts|mjs)$/.test(entry.name) && statSync(join(root, path)).isFile()) {
        const testOnly = /(^|\/)test\//.test(path.slice(project.root.length)) || /\.test\.m?ts$/.test(entry.name);
        for (const m of readFileSync(join(root, path), 'utf8').matchAll(IMPORT)) {
          if (m[1] === project.packageName) continue;
          if (!testOnly) found[m[1]] = 'dependencies';
          else found[m[1]] ??= 'devDependencies';
        }
      }
    }
  })(project.root);
  return Object.fromEntries(Object.entries(found).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Each project's dependencies as Nx reads them: its declared @memorize packages plus its implicit dependencies, minus
 * those an implicit "!name" removes (libs/testing drops fever, whose tests depend on it, to keep the graph acyclic).
 * @returns {Map<string, string[]>}
 */
export function projectEdges(projects) {
  const byPackage = new Map(projects.map((p) => [p.packageName, p.name]));
  return new Map(
    projects.map((p) => {
      const removed = new Set(p.implicitDependencies.filter((d) => d.startsWith('!')).map((d) => d.slice(1)));
      const added = p.implicitDependencies.filter((d) => !d.startsWith('!'));
      const deps = [...Object.keys(p.dependencies).map((d) => byPackage.get(d)), ...added].filter((d) => d && !removed.has(d));
      return [p.name, [...new Set(deps)].sort()];
    }),
  );
}

/** Projects that depend on `name`, directly or not, through declared and implicit dependencies (name excluded). */
export function dependentsOf(projects, name) {
  const edges = projectEdges(projects);
  const out = new Set();
  let frontier = [name];
  while (frontier.length > 0) {
    const next = [];
    for (const [from, to] of edges) if (!out.has(from) && from !== name && to.some((t) => frontier.includes(t))) next.push(from);
    for (const n of next) out.add(n);
    frontier = next;
  }
  return [...out].sort();
}
