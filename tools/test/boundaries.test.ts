// The boundary rule fires through the repository's own ESLint config: fixture files kept outside the source
// tree (tools/eslint/fixtures, ignored by the lint run itself) are linted as if they stood in a project.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { repoRoot } from '../workspace.mjs';

// Type information is off here (typescript-eslint's disableTypeChecked): the fixtures do not exist at the
// paths they are linted as, and the boundary rule needs none.
const eslint = new ESLint({ cwd: repoRoot, ignore: false, overrideConfig: [tseslint.configs.disableTypeChecked] });

async function boundaryMessages(fixture: string, lintAs: string): Promise<string[]> {
  const code = readFileSync(join(repoRoot, 'tools/eslint/fixtures', fixture), 'utf8');
  const [result] = await eslint.lintText(code, { filePath: join(repoRoot, lintAs) });
  const fatal = result!.messages.filter((m) => m.fatal);
  assert.deepEqual(fatal, [], `${fixture} did not parse`);
  return result!.messages.filter((m) => m.ruleId === 'memorize/project-boundaries').map((m) => `${m.line}: ${m.message}`);
}

test('a library importing a service is a lint error', async () => {
  const messages = await boundaryMessages('lib-imports-service.ts', 'libs/fever/src/fixture.ts');
  assert.equal(messages.length, 1);
  assert.match(messages[0]!, /^2: fever \(type:lib\) may not import model-host \(type:service\)/);
});

test('a service importing another service is a lint error; importing a library is not', async () => {
  const messages = await boundaryMessages('service-imports-service.ts', 'services/trainer/src/fixture.ts');
  assert.equal(messages.length, 1);
  assert.match(messages[0]!, /^2: trainer \(type:service\) may not import model-host/);
});

test('the contracts import nothing of ours', async () => {
  const messages = await boundaryMessages('contracts-imports-lib.ts', 'libs/contracts/src/fixture.ts');
  assert.equal(messages.length, 1);
  assert.match(messages[0]!, /^2: contracts \(type:contracts\) may not import tensor .*imports nothing of ours/);
});

test('relative imports never leave their project; within it they are fine', async () => {
  const messages = await boundaryMessages('relative-across-projects.ts', 'libs/memory/test/fixture.ts');
  assert.equal(messages.length, 2);
  assert.match(messages[0]!, /^2: relative import '\.\.\/\.\.\/\.\.\/bench\/memory\/memorize-demo\.js' leaves project memory into bench/);
  assert.match(
    messages[1]!,
    /^3: relative import '\.\.\/\.\.\/lm\/src\/index\.js' leaves project memory into lm: import the package \('@memorize\/lm'\)/,
  );
});

test('deep imports into a package and dynamic imports are checked too', async () => {
  const messages = await boundaryMessages('deep-and-dynamic.ts', 'services/data/src/fixture.ts');
  assert.equal(messages.length, 2);
  assert.match(messages[0]!, /^2: '@memorize\/lm\/src\/model\.js' reaches inside package @memorize\/lm/);
  assert.match(messages[1]!, /^3: data \(type:service\) may not import evaluator \(type:service\)/);
});

test('what the layering allows passes: libraries and contracts from a service and from the CLI', async () => {
  assert.deepEqual(await boundaryMessages('allowed.ts', 'services/model-host/src/fixture.ts'), []);
  assert.deepEqual(await boundaryMessages('allowed.ts', 'cli/src/fixture.ts'), []);
});

test('the shared test support is for tests only', async () => {
  const shipped = await boundaryMessages('test-support.ts', 'libs/lm/src/fixture.ts');
  assert.equal(shipped.length, 1);
  assert.match(shipped[0]!, /^2: lm \(type:lib\) may not import testing \(type:test-support\)/);
  assert.deepEqual(await boundaryMessages('test-support.ts', 'libs/lm/test/fixture.test.ts'), []);
});
