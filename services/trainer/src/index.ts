export { main } from './main.js';
export { trainerService, trainerServiceHandlers } from './service.js';
