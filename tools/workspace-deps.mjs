#!/usr/bin/env node
// Checks that every project's package.json declares exactly the @memorize/* packages its files import
// (src imports in dependencies, test-only imports in devDependencies), so npm's workspace graph and Nx's
// project graph (which reads those declarations) agree with the code.
//
// Usage: node tools/workspace-deps.mjs [--fix]   (--fix rewrites the declarations; exit 1 on a mismatch otherwise)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCOPE, importedPackages, loadProjects, repoRoot } from './workspace.mjs';

/** @returns {string[]} one line per mismatch */
export function workspaceDependencyMismatches(root = repoRoot, { fix = false } = {}) {
  const problems = [];
  for (const project of loadProjects(root)) {
    const pkgFile = join(root, project.root, 'package.json');
    if (!project.packageName) {
      problems.push(`${project.root}: has a project.json but no package.json with a name`);
      continue;
    }
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
    const wanted = importedPackages(project, root);
    let changed = false;
    for (const field of ['dependencies', 'devDependencies']) {
      const declared = Object.keys(pkg[field] ?? {}).filter((n) => n.startsWith(SCOPE));
      const expected = Object.keys(wanted).filter((n) => wanted[n] === field);
      for (const name of expected.filter((n) => !declared.includes(n))) problems.push(`${project.root}: imports ${name} but ${field} lacks it`);
      for (const name of declared.filter((n) => !expected.includes(n)))
        problems.push(`${project.root}: ${field} declares ${name}, which ${wanted[name] ? `belongs in ${wanted[name]}` : 'it never imports'}`);
      if (fix && (expected.length !== declared.length || expected.some((n) => !declared.includes(n)))) {
        const others = Object.entries(pkg[field] ?? {}).filter(([n]) => !n.startsWith(SCOPE));
        const entries = [...others, ...expected.map((n) => [n, '*'])].sort(([a], [b]) => a.localeCompare(b));
        if (entries.length > 0) pkg[field] = Object.fromEntries(entries);
        else delete pkg[field];
        changed = true;
      }
    }
    if (changed) writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const fix = process.argv.includes('--fix');
  const problems = workspaceDependencyMismatches(repoRoot, { fix });
  for (const p of problems) console.error(p);
  if (problems.length > 0 && !fix) process.exit(1);
  if (fix) console.error(problems.length > 0 ? `fixed ${problems.length} declarations` : 'declarations already agree');
}
