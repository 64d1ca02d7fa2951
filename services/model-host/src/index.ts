export { main } from './main.js';
export { modelHostService, modelHostHandlers, type MemoryBinding } from './service.js';
export { MemoryStore, memoryConfigFromProto, memoryConfigToProto, type HeldMemory } from './memories.js';
export { ModelRegistry, checkIds, type HeldModel } from './models.js';
