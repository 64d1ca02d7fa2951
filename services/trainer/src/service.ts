import { randomUUID } from 'node:crypto';
import { protoFiles, serviceNames, trainer } from '@memorize/contracts';
import { RunManager, RunStore } from '@memorize/runs';
import {
  remoteDataService,
  remoteModelHost,
  type HostedService,
  type Implementation,
  type Logger,
  type OrchestratorSettings,
} from '@memorize/service-kit';
import { validators } from '@memorize/validation';

export type Definition = typeof trainer.TrainerService;
const validate = validators.trainer;

/** The memorize.v1.Trainer handlers: requests are validated (libs/validation), runs live in libs/runs' RunManager. */
export function trainerServiceHandlers(manager: RunManager): Implementation<Definition> {
  return {
    async startRun(request) {
      validate.startRun(request);
      const runId = request.runId || `run-${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;
      return manager.start(runId, request.spec);
    },
    async watchRun(request, send, ctx) {
      validate.watchRun(request);
      manager.get(request.runId);
      await manager.watch(request.runId, request.snapshot, send, ctx.signal);
    },
    async cancelRun(request) {
      validate.cancelRun(request);
      return { run: await manager.cancel(request.runId) };
    },
    async listRuns(request) {
      validate.listRuns(request);
      return { runs: manager.list(request.state, request.limit) };
    },
    async getRun(request) {
      validate.getRun(request);
      return { run: manager.get(request.runId) };
    },
  };
}

/** The trainer: a run store under settings.dataDir, clients of DataService and every model-host. */
export function trainerService(logger: Logger, settings: OrchestratorSettings, maxMessageBytes: number): HostedService<Definition> {
  const store = new RunStore(settings.dataDir);
  // The `client` key model-host's engine schedules by: the trainer is one client.
  const data = remoteDataService(settings.dataAddress, maxMessageBytes, 'trainer');
  const hosts = settings.modelHosts.map((address) => remoteModelHost(address, maxMessageBytes, 'trainer'));
  const manager = new RunManager({ store, data, hosts, logger, hostWaitMs: settings.hostWaitMs });
  logger.info({ store: store.path, data: settings.dataAddress, modelHosts: settings.modelHosts, hostWaitMs: settings.hostWaitMs }, 'trainer');
  const resumed = manager.resumeUnfinished();
  if (resumed.length > 0) logger.info({ runs: resumed }, 'resuming unfinished runs');
  return {
    serviceName: serviceNames.trainer,
    definition: trainer.TrainerService,
    implementation: trainerServiceHandlers(manager),
    protoFile: protoFiles.trainer,
    async onShutdown() {
      await manager.close();
      store.close();
      data.close();
      for (const h of hosts) h.close();
    },
  };
}
