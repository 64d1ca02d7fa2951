import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  MemorizeError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnavailableError,
} from '@memorize/errors';

/** A gRPC status with its message, ready to hand to a callback or emit on a stream. */
export interface StatusError extends Partial<ServiceError> {
  code: status;
  details: string;
  message: string;
  metadata: Metadata;
}

const codeOf: Array<[new (...args: never[]) => MemorizeError, status]> = [
  [InvalidArgumentError, status.INVALID_ARGUMENT],
  [NotFoundError, status.NOT_FOUND],
  [FailedPreconditionError, status.FAILED_PRECONDITION],
  [ResourceExhaustedError, status.RESOURCE_EXHAUSTED],
  [AlreadyExistsError, status.ALREADY_EXISTS],
  [PermissionDeniedError, status.PERMISSION_DENIED],
  [DeadlineExceededError, status.DEADLINE_EXCEEDED],
  [CancelledError, status.CANCELLED],
  [UnavailableError, status.UNAVAILABLE],
];

/** Error thrown by handlers to answer a specific status (CANCELLED, DEADLINE_EXCEEDED, UNIMPLEMENTED...). */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcStatusError';
  }
}

function make(code: status, details: string, field?: string): StatusError {
  const metadata = new Metadata();
  if (field) metadata.set('memorize-field', field);
  return Object.assign(new Error(details), { code, details, metadata });
}

/**
 * Maps a thrown value to a gRPC status. Domain errors keep their message (which names the field);
 * anything else becomes INTERNAL with a generic message, so stack traces and internals never leak.
 */
export function toStatusError(error: unknown): StatusError {
  if (error instanceof GrpcStatusError) return make(error.code, error.message);
  for (const [type, code] of codeOf) {
    if (error instanceof type) {
      const field = (error as MemorizeError).field;
      const message = field && !error.message.includes(field) ? `${field}: ${error.message}` : error.message;
      return make(code, message, field);
    }
  }
  return make(status.INTERNAL, 'internal error (see the service log)');
}

/** True when the error is not the caller's fault and deserves an error-level log with its stack. */
export function isInternal(mapped: StatusError): boolean {
  return mapped.code === status.INTERNAL || mapped.code === status.UNKNOWN;
}

export { status };
