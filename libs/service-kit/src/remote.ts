/**
 * Calling another service: its gRPC failures as domain errors whose message says which service answered what, so
 * an orchestrator (trainer, evaluator) tells a lost service (UnavailableError: wait and resume) from a bad request
 * (the service's own message, naming the field).
 */
import { Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { callUnary, checkHealth } from './client.js';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  MemorizeError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnavailableError,
} from '@memorize/errors';

function isServiceError(error: unknown): error is ServiceError {
  return typeof error === 'object' && error !== null && 'code' in error && typeof (error as ServiceError).code === 'number';
}

/** A gRPC failure of `service` as a domain error whose message says which service answered what. */
export function fromGrpc(error: unknown, service: string): unknown {
  if (!isServiceError(error)) return error;
  const field = String(error.metadata?.get('memorize-field')[0] ?? '') || undefined;
  const message = `${service}: ${error.details || error.message}`;
  switch (error.code) {
    case status.INVALID_ARGUMENT:
    case status.OUT_OF_RANGE:
      return new InvalidArgumentError(message, field);
    case status.NOT_FOUND:
      return new NotFoundError(message, field);
    case status.FAILED_PRECONDITION:
    case status.UNIMPLEMENTED:
      return new FailedPreconditionError(message, field);
    case status.ALREADY_EXISTS:
      return new AlreadyExistsError(message, field);
    case status.PERMISSION_DENIED:
      return new PermissionDeniedError(message, field);
    case status.RESOURCE_EXHAUSTED:
      return new ResourceExhaustedError(message, field);
    // Down, restarting, or cancelled by its shutdown: worth waiting for.
    case status.UNAVAILABLE:
    case status.CANCELLED:
    case status.DEADLINE_EXCEEDED:
    case status.ABORTED:
      return new UnavailableError(message, field);
    default:
      return new MemorizeError(message, field);
  }
}

type UnaryMethod<Req, Res> = Parameters<typeof callUnary<Req, Res>>[1];

/** A unary method of another service as a function; failures through fromGrpc. `caller` is model-host's `client` key. */
export function remoteUnary<Req, Res>(
  client: Client,
  service: string,
  method: UnaryMethod<Req, Res>,
  deadlineMs: number,
  caller: string,
): (request: Req) => Promise<Res> {
  return async (request) => {
    const metadata = new Metadata();
    metadata.set('client', caller);
    try {
      return await callUnary(client, method, request, deadlineMs, metadata);
    } catch (error) {
      throw fromGrpc(error, service);
    }
  };
}

type StreamMethod<Req, Res> = (request: Req, metadata: Metadata, options: { deadline: Date }) => AsyncIterable<Res> & { cancel(): void };

/** A server-streaming method as an async iterable that `signal` cancels; failures through fromGrpc. */
export function remoteStream<Req, Res>(
  client: Client,
  service: string,
  method: StreamMethod<Req, Res>,
  caller: string,
  deadlineMs = 24 * 3_600_000,
): (request: Req, signal: AbortSignal) => AsyncIterable<Res> {
  return async function* (request, signal) {
    const metadata = new Metadata();
    metadata.set('client', caller);
    const stream = method.call(client, request, metadata, { deadline: new Date(Date.now() + deadlineMs) });
    const onAbort = (): void => stream.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const message of stream) yield message as Res;
    } catch (error) {
      if (signal.aborted) throw signal.reason as Error;
      throw fromGrpc(error, service);
    } finally {
      signal.removeEventListener('abort', onAbort);
      stream.cancel();
    }
  };
}

/** grpc.health.v1 answers SERVING within 2 s. */
export async function isServing(address: string): Promise<boolean> {
  try {
    return (await checkHealth(address, '', 2_000)) === 'SERVING';
  } catch {
    return false;
  }
}
