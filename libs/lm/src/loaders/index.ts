import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { NotFoundError } from '@memorize/errors';
import { fsError } from '@memorize/files';
import type { TransformerModel } from '../model.js';
import type { LoadModelOptions } from './options.js';
import { loadHfModel } from './hf.js';
import { loadLlama2cModel } from './llama2c.js';

export { configFromHf, loadHfModel, openHfWeights } from './hf.js';
export { llama2cLayout, loadLlama2cModel } from './llama2c.js';
export type { ConfigSource, LoadModelOptions } from './options.js';

/**
 * Loads a checkpoint by path: an HF folder (config.json + safetensors), a model.safetensors file inside
 * one, or a llama2.c .bin file.
 */
export function loadModel(path: string, options: LoadModelOptions = {}): TransformerModel {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`no such model: ${path}`, 'model');
    throw fsError(error, 'model', path);
  }
  if (isDir) return loadHfModel(path, options);
  if (basename(path).endsWith('.safetensors')) return loadHfModel(dirname(path), options);
  return loadLlama2cModel(path, options);
}
