import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '@memorize/errors';
import { fsError } from '@memorize/files';

/**
 * Where a model's tokenizer is when the caller does not say: an HF folder holds its tokenizer.json; a
 * llama2.c .bin has tokenizer.bin beside it, or (llama2.c's small models) a single tok<vocab>.bin.
 */
export function resolveTokenizerPath(modelPath: string, explicit?: string): string {
  if (explicit) return explicit;
  let isDir: boolean;
  try {
    isDir = statSync(modelPath).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`no such model: ${modelPath}`, 'model');
    throw fsError(error, 'model', modelPath);
  }
  if (isDir) return modelPath;
  const folder = dirname(modelPath);
  if (existsSync(join(folder, 'tokenizer.bin'))) return join(folder, 'tokenizer.bin');
  const candidates = readdirSync(folder).filter((f) => /^tok.*\.bin$/.test(f));
  if (candidates.length === 1) return join(folder, candidates[0]);
  throw new InvalidArgumentError(`no tokenizer given and no tokenizer.bin (or a single tok*.bin) beside ${modelPath}`, 'tokenizer');
}

/** Checks a row of token ids against the vocabulary, naming the offending field and position. */
export function checkTokenIds(ids: readonly number[], vocabSize: number, field: string, minLength = 1): void {
  if (ids.length < minLength) throw new InvalidArgumentError(`${field} needs at least ${minLength} token(s)`, field);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new InvalidArgumentError(`${field}[${i}] = ${id} is outside the vocabulary [0, ${vocabSize})`, field);
    }
  }
}
