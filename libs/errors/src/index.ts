/**
 * Domain errors shared by every lib: a lib of its own that imports nothing, so any lib may depend on it.
 * Services map them to gRPC status codes (libs/service-kit); libs stay free of gRPC. `field` names the
 * request field or file the error is about.
 */
export class MemorizeError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
/** Bad input from the caller: maps to INVALID_ARGUMENT. */
export class InvalidArgumentError extends MemorizeError {}
/** An unknown model, memory, corpus or run: maps to NOT_FOUND. */
export class NotFoundError extends MemorizeError {}
/** The system is not in a state the call needs (no model loaded, run finished): FAILED_PRECONDITION. */
export class FailedPreconditionError extends MemorizeError {}
/** Overload or a limit reached: RESOURCE_EXHAUSTED. */
export class ResourceExhaustedError extends MemorizeError {}
/** The name already exists: ALREADY_EXISTS. */
export class AlreadyExistsError extends MemorizeError {}
/** The caller may not touch this (a path outside its configured root, a file the service cannot read): PERMISSION_DENIED. */
export class PermissionDeniedError extends MemorizeError {}
/** The call's deadline passed before its work was done (checked between slices): DEADLINE_EXCEEDED. */
export class DeadlineExceededError extends MemorizeError {}
/** A service this one depends on does not answer (down, restarting, unreachable): UNAVAILABLE; worth retrying. */
export class UnavailableError extends MemorizeError {}
/** The caller cancelled the call (or the server is shutting down its work): CANCELLED. */
export class CancelledError extends MemorizeError {}
