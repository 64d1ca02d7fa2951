import { trainer, protoFiles, serviceNames } from '@memorize/contracts';
import type { HostedService, Implementation, Logger } from '@memorize/service-kit';

export type Definition = typeof trainer.TrainerService;

/** The memorize.v1.Trainer handlers: thin translations from requests to library calls. */
export function trainerServiceHandlers(_logger: Logger): Implementation<Definition> {
  return {};
}

export function trainerService(logger: Logger): HostedService<Definition> {
  return {
    serviceName: serviceNames.trainer,
    definition: trainer.TrainerService,
    implementation: trainerServiceHandlers(logger),
    protoFile: protoFiles.trainer,
  };
}
