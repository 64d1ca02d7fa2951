import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '@memorize/errors';
import { fsError, parseJsonBytes, readRegularFile } from '@memorize/files';
import { HfTokenizer, type HfTokenizerConfig } from './hf.js';
import { Llama2cTokenizer, parseLlama2cTokenizer } from './llama2c.js';
import type { Tokenizer } from './types.js';

export interface LoadTokenizerOptions {
  /**
   * Number of tokens a llama2.c tokenizer.bin must hold (run.c takes it from the checkpoint header). Without it
   * the whole file is read, and a file cut exactly between two entries cannot be told from a smaller vocabulary.
   */
  vocabSize?: number;
}

/**
 * Loads a tokenizer from a Hugging Face tokenizer.json, a folder holding one (or a tokenizer.bin), or a llama2.c
 * tokenizer.bin.
 * A tokenizer.json picks up tokenizer_config.json / special_tokens_map.json next to it for BOS/EOS.
 */
export async function loadTokenizer(path: string, opts: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  const info = await statOrNull(path);
  if (!info) throw new NotFoundError(`tokenizer not found: ${path}`, 'tokenizer');
  let file = path;
  if (info.isDirectory()) {
    file = join(path, 'tokenizer.json');
    // A folder written from a llama2.c model (writeHfModel) holds its tokenizer.bin instead.
    if (!(await statOrNull(file)) && (await statOrNull(join(path, 'tokenizer.bin')))) file = join(path, 'tokenizer.bin');
    else if (!(await statOrNull(file))) throw new NotFoundError(`no tokenizer.json (or tokenizer.bin) in folder ${path}`, 'tokenizer');
  }
  // A regular file only: a FIFO or a device is refused at once instead of blocking.
  const data = new Uint8Array(readRegularFile(file, 'tokenizer'));
  if (looksLikeJson(file, data)) return new HfTokenizer(parseJson(data, file), await readSiblingConfig(file), file);
  return new Llama2cTokenizer(parseLlama2cTokenizer(data, file, opts.vocabSize), file);
}

function looksLikeJson(file: string, data: Uint8Array): boolean {
  if (file.endsWith('.json')) return true;
  for (const b of data) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x7b; // '{' — a tokenizer.bin starts with a small int32 max_token_length, never 0x7b + spaces
  }
  return false;
}

/** Parse errors name the file, the byte offset and what was expected there, never the bytes found. */
function parseJson(data: Uint8Array, file: string): unknown {
  return parseJsonBytes(data, file, 'tokenizer');
}

async function readSiblingConfig(file: string): Promise<HfTokenizerConfig> {
  const dir = dirname(file);
  const config: HfTokenizerConfig = {};
  // special_tokens_map.json first so that tokenizer_config.json wins where both name a token.
  for (const name of ['special_tokens_map.json', 'tokenizer_config.json']) {
    if (basename(file) === name) continue;
    const sibling = join(dir, name);
    if (!(await statOrNull(sibling))) continue;
    const parsed = parseJson(new Uint8Array(readRegularFile(sibling, 'tokenizer')), sibling);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new InvalidArgumentError(`${sibling}: not a JSON object`, 'tokenizer');
    }
    Object.assign(config, parsed);
  }
  return config;
}

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fsError(err, 'tokenizer', path);
  }
}
