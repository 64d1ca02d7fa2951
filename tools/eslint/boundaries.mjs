// ESLint rule memorize/project-boundaries: the architecture's import rules, read from each project's tags
// (project.json) so the lint rule and Nx's graph describe the same projects.
//
//   type:contracts      imports nothing of ours (generated code stands alone)
//   type:lib            libs and contracts only (the science is testable without services, the CLI or bench/)
//   type:test-support   libs and contracts; imported only by test files, e2e and bench
//   type:service        libs and contracts: services never import each other (they talk over gRPC)
//   type:cli            libs, contracts and services (it starts them)
//   type:e2e, bench     anything but bench / tools
//   type:tools          nothing of ours
//
// A relative import never leaves its project (`../../libs/x/src/y.js` couples to a file layout): use the
// package name. Deep imports into a package (`@memorize/x/src/...`) are refused the same way.
import { dirname, resolve } from 'node:path';
import { loadProjects, projectOfFile, projectOfPackage, repoRoot } from '../workspace.mjs';

const ALLOWED = {
  'type:contracts': [],
  'type:lib': ['type:lib', 'type:contracts'],
  'type:test-support': ['type:lib', 'type:contracts'],
  'type:service': ['type:lib', 'type:contracts'],
  'type:cli': ['type:lib', 'type:contracts', 'type:service'],
  'type:e2e': ['type:lib', 'type:contracts', 'type:service', 'type:cli', 'type:test-support'],
  'type:bench': ['type:lib', 'type:contracts', 'type:test-support'],
  'type:tools': [],
};
/** Test files of any project may import the shared test support. */
const TEST_FILE = /(^|\/)test\/|\.test\.m?ts$/;

let cached;
function workspace() {
  cached ??= loadProjects(repoRoot);
  return cached;
}

function typeTag(project) {
  return project.tags.find((t) => t in ALLOWED);
}

/** @type {import('eslint').Rule.RuleModule} */
const projectBoundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'imports respect the project graph: layers by tag, no relative import across projects' },
    schema: [],
    messages: {
      crossRelative: "relative import '{{source}}' leaves project {{from}}{{into}}: import the package ('{{suggestion}}') instead",
      outsideRelative: "relative import '{{source}}' leaves project {{from}} for a folder that belongs to no project",
      deepImport: "'{{source}}' reaches inside package {{pkg}}: import '{{pkg}}' (its public entry point)",
      layer: '{{from}} ({{fromTag}}) may not import {{to}} ({{toTag}}): {{why}}',
      untagged: 'project {{name}} has no type:* tag known to memorize/project-boundaries',
    },
  },
  create(context) {
    const filename = context.physicalFilename ?? context.filename;
    const projects = workspace();
    const from = projectOfFile(projects, filename, repoRoot);
    if (!from) return {};
    const fromTag = typeTag(from);
    const isTest = TEST_FILE.test(filename.slice(resolve(repoRoot, from.root).length));

    function check(node, source) {
      if (typeof source !== 'string') return;
      if (source.startsWith('.')) {
        const target = resolve(dirname(filename), source);
        const to = projectOfFile(projects, target, repoRoot);
        if (to === from) return;
        if (!to) {
          context.report({ node, messageId: 'outsideRelative', data: { source, from: from.name } });
          return;
        }
        const suggestion = to.packageName ?? to.name;
        context.report({ node, messageId: 'crossRelative', data: { source, from: from.name, into: ` into ${to.name}`, suggestion } });
        return;
      }
      const to = projectOfPackage(projects, source);
      if (!to) return;
      if (source !== to.packageName) {
        context.report({ node, messageId: 'deepImport', data: { source, pkg: to.packageName } });
        return;
      }
      if (to === from) return;
      if (!fromTag) {
        context.report({ node, messageId: 'untagged', data: { name: from.name } });
        return;
      }
      const toTag = typeTag(to) ?? 'untagged';
      const allowed = [...ALLOWED[fromTag], ...(isTest ? ['type:test-support'] : [])];
      if (allowed.includes(toTag)) return;
      const why =
        allowed.length === 0 ? `${fromTag} imports nothing of ours` : `${fromTag}${isTest ? ' tests' : ''} may import only ${allowed.join(', ')}`;
      context.report({ node, messageId: 'layer', data: { from: from.name, fromTag, to: to.name, toTag, why } });
    }

    const fromSource = (node) => node.source && check(node.source, node.source.value);
    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression(node) {
        if (node.source.type === 'Literal') check(node.source, node.source.value);
      },
    };
  },
};

export default { meta: { name: 'memorize' }, rules: { 'project-boundaries': projectBoundaries } };
