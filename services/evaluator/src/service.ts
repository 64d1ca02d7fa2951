import { evaluator, protoFiles, serviceNames } from '@memorize/contracts';
import type { HostedService, Implementation, Logger } from '@memorize/service-kit';

export type Definition = typeof evaluator.EvaluatorService;

/** The memorize.v1.Evaluator handlers: thin translations from requests to library calls. */
export function evaluatorServiceHandlers(_logger: Logger): Implementation<Definition> {
  return {};
}

export function evaluatorService(logger: Logger): HostedService<Definition> {
  return {
    serviceName: serviceNames.evaluator,
    definition: evaluator.EvaluatorService,
    implementation: evaluatorServiceHandlers(logger),
    protoFile: protoFiles.evaluator,
  };
}
