export { main } from './main.js';
export { modelHostService, modelHostServiceHandlers } from './service.js';
