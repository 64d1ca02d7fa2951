/** kind "memory" (the reference code): M(h) = LayerNorm(W_down GELU(W_up h + b_up) + b_down) * g, no mask. */
import type { KindDefinition } from '../../kind.js';
import { memoryModes, validateMemoryConfig } from './config.js';

export const memoryKind: KindDefinition = {
  name: 'memory',
  description: 'unstructured residual MLP memory shared by all documents',
  documentWise: false,
  modes: memoryModes,
  validate: validateMemoryConfig,
};
