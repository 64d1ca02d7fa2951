import { cacheBudgetOrExit, loadRoot, runServiceMain, type CacheOverrides, type ConfigOverrides, type RunningService } from '@memorize/service-kit';
import { CorpusStore } from './corpora.js';
import { dataService } from './service.js';

/** Starts the data service process (see `memorize serve data`). */
export function main(overrides: ConfigOverrides & CacheOverrides = {}): Promise<RunningService> {
  CorpusStore.defaultBudgetBytes = cacheBudgetOrExit('data', 'corpusCacheBytes', overrides);
  return runServiceMain('data', overrides, ({ logger }) => {
    logger.info({ corpusCacheBytes: CorpusStore.defaultBudgetBytes }, 'corpus cache');
    return [dataService(logger, loadRoot('data', 'data', overrides))];
  });
}
