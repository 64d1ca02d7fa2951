// ESLint (flat config): typescript-eslint's recommended rules, a few type-aware promise rules (cheap: they
// need types but no whole-program analysis), the project-boundary rule, and Prettier owning the formatting.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import boundaries from './tools/eslint/boundaries.mjs';

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', 'libs/contracts/src/gen/**', '**/dist/**', '.nx/**', '.memorize/**', 'tools/eslint/fixtures/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  { files: ['**/*.mjs', '**/*.js'], languageOptions: { globals: globals.node } },
  { plugins: { memorize: boundaries }, rules: { 'memorize/project-boundaries': 'error' } },
  prettier,
);
