import { evaluator, protoFiles, serviceNames } from '@memorize/contracts';
import { validatedUnimplemented, type HostedService, type Implementation, type Logger } from '@memorize/service-kit';
import { validators } from '@memorize/validation';

export type Definition = typeof evaluator.EvaluatorService;

/** The memorize.v1.Evaluator handlers: requests are validated (libs/validation); evaluations are not built yet. */
export function evaluatorServiceHandlers(_logger: Logger): Implementation<Definition> {
  const evaluation = { key: 'evaluationId', field: 'evaluation_id', noun: 'evaluation' };
  const sweep = { key: 'sweepId', field: 'sweep_id', noun: 'sweep' };
  return validatedUnimplemented(evaluator.EvaluatorService, validators.evaluator, {
    getEvaluation: evaluation,
    watchEvaluation: evaluation,
    cancelEvaluation: evaluation,
    getSweep: sweep,
    watchSweep: sweep,
    cancelSweep: sweep,
  });
}

export function evaluatorService(logger: Logger): HostedService<Definition> {
  return {
    serviceName: serviceNames.evaluator,
    definition: evaluator.EvaluatorService,
    implementation: evaluatorServiceHandlers(logger),
    protoFile: protoFiles.evaluator,
  };
}
