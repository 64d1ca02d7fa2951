/** Every memory kind, one line each. A new kind adds its folder under kinds/ and one line here. */
import { InvalidArgumentError } from '@memorize/errors';
import type { MemoryKindName } from './config.js';
import type { KindDefinition } from './kind.js';
import { memoryKind } from './kinds/memory/module.js';
import { dlpKind } from './kinds/dlp/module.js';
import { simsetKind } from './kinds/simset/module.js';
import { randomKind } from './kinds/random/module.js';
import { docKeyKind } from './kinds/doc-key/module.js';

export const MEMORY_KINDS: ReadonlyMap<MemoryKindName, KindDefinition> = new Map(
  [memoryKind, dlpKind, simsetKind, randomKind, docKeyKind].map((k) => [k.name, k]),
);

export function kindDefinition(name: MemoryKindName): KindDefinition {
  const k = MEMORY_KINDS.get(name);
  if (!k) throw new InvalidArgumentError(`unknown memory kind "${name}" (known: ${[...MEMORY_KINDS.keys()].join(', ')})`, 'kind');
  return k;
}
