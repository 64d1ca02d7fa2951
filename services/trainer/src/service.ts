import { trainer, protoFiles, serviceNames } from '@memorize/contracts';
import { validatedUnimplemented, type HostedService, type Implementation, type Logger } from '@memorize/service-kit';
import { validators } from '@memorize/validation';

export type Definition = typeof trainer.TrainerService;

/** The memorize.v1.Trainer handlers: requests are validated (libs/validation); the runs themselves are not built yet. */
export function trainerServiceHandlers(_logger: Logger): Implementation<Definition> {
  const run = { key: 'runId', field: 'run_id', noun: 'run' };
  return validatedUnimplemented(trainer.TrainerService, validators.trainer, { getRun: run, watchRun: run, cancelRun: run });
}

export function trainerService(logger: Logger): HostedService<Definition> {
  return {
    serviceName: serviceNames.trainer,
    definition: trainer.TrainerService,
    implementation: trainerServiceHandlers(logger),
    protoFile: protoFiles.trainer,
  };
}
