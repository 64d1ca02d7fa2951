import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { NotFoundError } from '@memorize/errors';
import { fsError } from '@memorize/files';
import type { TransformerModel } from '../model.js';
import type { LoadModelOptions } from './options.js';
import type { SliceOptions } from '@memorize/tensor';
import { runSteps, runStepsInSlices } from '../weights.js';
import { hfSteps } from './hf.js';
import { llama2cSteps } from './llama2c.js';

export { configFromHf, hfSteps, loadHfModel, openHfWeights } from './hf.js';
export { llama2cLayout, llama2cSteps, loadLlama2cModel } from './llama2c.js';
export type { ConfigSource, LoadModelOptions } from './options.js';

/**
 * Loads a checkpoint by path: an HF folder (config.json + safetensors), a model.safetensors file inside
 * one, or a llama2.c .bin file.
 */
export function loadModel(path: string, options: LoadModelOptions = {}): TransformerModel {
  return runSteps(loadSteps(path, options));
}

/**
 * {@link loadModel} in slices, one per block, with `betweenSlices` between them: a server's event loop answers
 * while a large checkpoint loads, and a cancelled load stops at the next block having disposed what it made.
 */
export async function loadModelInSlices(path: string, options: LoadModelOptions & SliceOptions = {}): Promise<TransformerModel> {
  // Already cancelled: nothing is opened or allocated.
  options.signal?.throwIfAborted();
  return runStepsInSlices(loadSteps(path, options), options);
}

function loadSteps(path: string, options: LoadModelOptions): Generator<void, TransformerModel> {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`no such model: ${path}`, 'model');
    throw fsError(error, 'model', path);
  }
  if (isDir) return hfSteps(path, options);
  if (basename(path).endsWith('.safetensors')) return hfSteps(dirname(path), options);
  return llama2cSteps(path, options);
}
