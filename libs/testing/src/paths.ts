import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (with a trailing separator). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** Real assets live beside the repository in ../shared and are never copied into it. */
export const sharedDir = join(repoRoot, '..', 'shared');

export const storiesDir = join(sharedDir, 'models', 'stories260K');
/** llama2.c checkpoint, its tokenizer and the same model as an HF folder. */
export const storiesBin = join(storiesDir, 'stories260K.bin');
export const storiesTok = join(storiesDir, 'tok512.bin');
export const storiesHf = join(storiesDir, 'hf');

export const feverDir = join(sharedDir, 'data', 'fever');
/** The shared FEVER slice. */
export const feverFiles = {
  claims: join(feverDir, 'paper_test.jsonl'),
  pages: join(feverDir, 'wiki-pages.jsonl'),
  assignments: join(feverDir, 'page_assignment.jsonl'),
  train: join(feverDir, 'train_subset.jsonl'),
};

/** The `memorize` command line's entry point. */
export const cliEntry = join(repoRoot, 'cli', 'bin', 'memorize.mjs');

/**
 * Environment for service processes whose client paths point at the shared assets: ../shared as model-host's
 * model root and data's data root (assets are never copied into the repository), `memoryRoot` as model-host's
 * memory root when given.
 */
export function sharedRootsEnv(memoryRoot?: string): NodeJS.ProcessEnv {
  return {
    MEMORIZE_MODEL_HOST_MODEL_ROOT: sharedDir,
    MEMORIZE_DATA_DATA_ROOT: sharedDir,
    ...(memoryRoot ? { MEMORIZE_MODEL_HOST_MEMORY_ROOT: memoryRoot } : {}),
  };
}
