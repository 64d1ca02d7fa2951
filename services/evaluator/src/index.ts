export { main } from './main.js';
export { evaluatorService, evaluatorServiceHandlers } from './service.js';
