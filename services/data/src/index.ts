export { main } from './main.js';
export { dataService, dataServiceHandlers } from './service.js';
