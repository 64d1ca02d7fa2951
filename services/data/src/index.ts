export { main } from './main.js';
export { dataService, dataServiceHandlers } from './service.js';
export { CorpusStore, type HeldCorpus } from './corpora.js';
