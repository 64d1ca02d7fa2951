// Generated gRPC contracts (ts-proto, outputServices=grpc-js) from proto/memorize/v1. Never hand-edited:
// run `npm run codegen` (tests and builds do it first).
import { fileURLToPath } from 'node:url';

export * as common from './gen/memorize/v1/common.js';
export * as data from './gen/memorize/v1/data.js';
export * as modelHost from './gen/memorize/v1/model_host.js';
export * as trainer from './gen/memorize/v1/trainer.js';
export * as evaluator from './gen/memorize/v1/evaluator.js';

/** Folder holding the .proto sources (for server reflection and independent clients). */
export const protoRoot: string = fileURLToPath(new URL('../../../proto/', import.meta.url));

/** The .proto file of each service, relative to protoRoot. */
export const protoFiles = {
  data: 'memorize/v1/data.proto',
  modelHost: 'memorize/v1/model_host.proto',
  trainer: 'memorize/v1/trainer.proto',
  evaluator: 'memorize/v1/evaluator.proto',
} as const;

/** Fully-qualified service names. */
export const serviceNames = {
  data: 'memorize.v1.DataService',
  modelHost: 'memorize.v1.ModelHost',
  trainer: 'memorize.v1.Trainer',
  evaluator: 'memorize.v1.Evaluator',
} as const;

/**
 * A uint64 seed as the services use it: taken modulo 2^32, as the contract says (a seed below 2^32 is used
 * unchanged). 64-bit fields decode as bigint (ts-proto forceLong=bigint), so no value fails deserialisation.
 */
export function seed32(seed: bigint): number {
  return Number(BigInt.asUintN(32, seed));
}
