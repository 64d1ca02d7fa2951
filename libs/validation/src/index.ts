/**
 * Validation at the edge: one zod schema per request message of DataService, ModelHost, Trainer and Evaluator.
 * A validator returns the request itself (typed, unchanged) or throws a RequestValidationError (an
 * InvalidArgumentError) whose field and message name the proto field path in snake_case and what was expected:
 * "learning_rate must be a finite number in (0, 10], got Infinity".
 *
 *   validators.modelHost.trainStep(request)                          // context-free checks
 *   validators.modelHost.score(request, modelContext(held.model.config))  // + lengths and ids against the model
 *   validateRequest('memorize.v1.ModelHost/TrainStep', request)      // the same, by method path
 */
import { data, evaluator, modelHost, trainer } from '@memorize/contracts';
import type { z } from 'zod';
import { check, type ValidationContext } from './fields.js';
import { dataRequests, evaluatorRequests, modelHostRequests, trainerRequests } from './requests.js';

export * from './limits.js';
export { RequestValidationError, fieldPath, type Problem, type ValidationContext } from './fields.js';
export { checkEvaluationSet, type EvaluationSetOptions } from './corpus.js';
export {
  checkModelConfigLimits,
  estimateModelBytes,
  MODEL_LIMITS,
  type ModelBytes,
  type ModelConfigLimitOptions,
  type ModelConfigShape,
} from './model-config.js';

const definitions = {
  data: data.DataServiceService,
  modelHost: modelHost.ModelHostService,
  trainer: trainer.TrainerService,
  evaluator: evaluator.EvaluatorService,
} as const;
type Definitions = typeof definitions;
type Service = keyof Definitions;
type RequestOfMethod<M> = M extends { requestDeserialize: (value: Buffer) => infer R } ? R : never;

/** Checks a request; returns it unchanged, typed, or throws RequestValidationError. */
export type Validator<R> = (request: R, context?: ValidationContext) => R;

/** One validator per RPC of each service, under the method names of the generated service definitions. */
export type Validators = { [S in Service]: { [K in keyof Definitions[S]]: Validator<RequestOfMethod<Definitions[S][K]>> } };

/** Schemas are built per context (a handful of models and corpora), so each is built once per distinct context. */
function validator<R>(build: (ctx: ValidationContext) => z.ZodType): Validator<R> {
  const cache = new Map<string, z.ZodType>();
  return (request, context = {}) => {
    const key = `${context.maxSeqLen}/${context.vocabSize}/${context.layers}/${context.documents}`;
    let schema = cache.get(key);
    if (!schema) {
      if (cache.size >= 64) cache.delete(cache.keys().next().value!);
      schema = build(context);
      cache.set(key, schema);
    }
    return check(schema, request);
  };
}

function validatorsOf<S extends Service>(builders: Record<keyof Definitions[S], (ctx: ValidationContext) => z.ZodType>): Validators[S] {
  return Object.fromEntries(
    Object.entries(builders).map(([k, build]) => [k, validator(build as (ctx: ValidationContext) => z.ZodType)]),
  ) as Validators[S];
}

export const validators: Validators = {
  data: validatorsOf<'data'>(dataRequests),
  modelHost: validatorsOf<'modelHost'>(modelHostRequests),
  trainer: validatorsOf<'trainer'>(trainerRequests),
  evaluator: validatorsOf<'evaluator'>(evaluatorRequests),
};

type PathOf<M> = M extends { path: `/${infer P}` } ? P : never;
type Methods = {
  [S in Service]: { [K in keyof Definitions[S]]: [PathOf<Definitions[S][K]>, RequestOfMethod<Definitions[S][K]>] }[keyof Definitions[S]];
}[Service];
/** Fully-qualified method names: 'memorize.v1.ModelHost/TrainStep', ... */
export type MethodPath = Methods[0];
/** The request type of a method. */
export type RequestOf<P extends MethodPath> = Extract<Methods, [P, unknown]>[1];

const byPath = new Map<string, Validator<unknown>>();
for (const service of Object.keys(definitions) as Service[]) {
  for (const [method, def] of Object.entries(definitions[service]) as [string, { path: string }][]) {
    byPath.set(def.path.slice(1), (validators[service] as Record<string, Validator<unknown>>)[method]);
  }
}

/** Validates a request by its method path ('memorize.v1.ModelHost/TrainStep'; a leading '/' is accepted). */
export function validateRequest<P extends MethodPath>(method: P | `/${P}`, request: RequestOf<P>, context?: ValidationContext): RequestOf<P> {
  const run = byPath.get(method.startsWith('/') ? method.slice(1) : method);
  if (!run) throw new Error(`no validator for method ${method}`);
  return run(request, context) as RequestOf<P>;
}

/** The context of a loaded model, from its config (libs/lm ModelConfig) or ModelInfo-like fields. */
export function modelContext(config: { maxSeqLen: number; vocabSize: number; nLayers: number }): ValidationContext {
  return { maxSeqLen: config.maxSeqLen, vocabSize: config.vocabSize, layers: config.nLayers };
}
