export { main } from './main.js';
export { trainerService, trainerServiceHandlers } from './service.js';
export { loadTrainerSettings, type TrainerSettings } from './settings.js';
export { fromGrpc } from './clients.js';
