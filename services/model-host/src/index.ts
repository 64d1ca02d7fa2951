export { main } from './main.js';
export { modelHostService, modelHostHandlers, type MemoryResolver, type MemoryBinding } from './service.js';
export { ModelRegistry, checkIds, type HeldModel } from './models.js';
