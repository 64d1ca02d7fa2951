import { randomUUID } from 'node:crypto';
import { evaluator, protoFiles, serviceNames } from '@memorize/contracts';
import { EvalStore, EvaluationManager } from '@memorize/eval';
import {
  remoteDataService,
  remoteModelHost,
  remoteTrainer,
  type HostedService,
  type Implementation,
  type Logger,
  type OrchestratorSettings,
} from '@memorize/service-kit';
import { validators } from '@memorize/validation';
import { InvalidArgumentError } from '@memorize/errors';

export type Definition = typeof evaluator.EvaluatorService;
const validate = validators.evaluator;

const newId = (kind: string): string => `${kind}-${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;

/** The memorize.v1.Evaluator handlers: requests are validated (libs/validation); the work is libs/eval's EvaluationManager. */
export function evaluatorServiceHandlers(manager: EvaluationManager): Implementation<Definition> {
  return {
    async startEvaluation(request) {
      validate.startEvaluation(request);
      return { evaluation: manager.startEvaluation(request.evaluationId || newId('eval'), request.spec!) };
    },
    async watchEvaluation(request, send, ctx) {
      validate.watchEvaluation(request);
      manager.evaluation(request.evaluationId);
      await manager.watchEvaluation(request.evaluationId, send, ctx.signal);
    },
    async getEvaluation(request) {
      validate.getEvaluation(request);
      return { evaluation: manager.evaluation(request.evaluationId) };
    },
    async listEvaluations(request) {
      validate.listEvaluations(request);
      return { evaluations: manager.evaluations(request.limit) };
    },
    async cancelEvaluation(request) {
      validate.cancelEvaluation(request);
      return { evaluation: await manager.cancelEvaluation(request.evaluationId) };
    },
    async startSweep(request) {
      validate.startSweep(request);
      if (request.cell !== undefined && !request.sweepId)
        throw new InvalidArgumentError('sweep_id is required with cell (every pod names the same sweep)', 'sweep_id');
      return { sweep: manager.startSweep(request.sweepId || newId('sweep'), request.spec!, request.cell) };
    },
    async watchSweep(request, send, ctx) {
      validate.watchSweep(request);
      manager.sweep(request.sweepId, false);
      await manager.watchSweep(request.sweepId, send, ctx.signal);
    },
    async getSweep(request) {
      validate.getSweep(request);
      return { sweep: manager.sweep(request.sweepId, true) };
    },
    async listSweeps(request) {
      validate.listSweeps(request);
      return { sweeps: manager.sweeps(request.limit) };
    },
    async cancelSweep(request) {
      validate.cancelSweep(request);
      return { sweep: await manager.cancelSweep(request.sweepId) };
    },
  };
}

/** The evaluator: a store under settings.dataDir, clients of DataService, every model-host and the Trainer. */
export function evaluatorService(logger: Logger, settings: OrchestratorSettings, maxMessageBytes: number): HostedService<Definition> {
  const store = new EvalStore(settings.dataDir);
  // The `client` key model-host's engine schedules by: evaluations share the engine fairly with training.
  const data = remoteDataService(settings.dataAddress, maxMessageBytes, 'evaluator');
  const hosts = settings.modelHosts.map((address) => remoteModelHost(address, maxMessageBytes, 'evaluator'));
  const trainer = remoteTrainer(settings.trainerAddress, maxMessageBytes, 'evaluator');
  const manager = new EvaluationManager({ store, data, hosts, trainer, logger });
  logger.info({ store: store.path, data: settings.dataAddress, modelHosts: settings.modelHosts, trainer: settings.trainerAddress }, 'evaluator');
  manager.resumeUnfinished();
  return {
    serviceName: serviceNames.evaluator,
    definition: evaluator.EvaluatorService,
    implementation: evaluatorServiceHandlers(manager),
    protoFile: protoFiles.evaluator,
    async onShutdown() {
      await manager.close();
      store.close();
      data.close();
      trainer.close();
      for (const h of hosts) h.close();
    },
  };
}
