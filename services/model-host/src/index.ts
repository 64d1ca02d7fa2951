export { main } from './main.js';
export { modelHostService, modelHostHandlers, type ModelHostRoots } from './service.js';
export { MemoryStore, memoryConfigFromProto, memoryConfigToProto, type HeldMemory, type MemoryBinding } from './memories.js';
export { ModelRegistry, checkConfig, checkIds, type HeldModel } from './models.js';
