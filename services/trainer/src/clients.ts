/**
 * The trainer's gRPC side of libs/runs' ports: DataService and model-host clients whose failures become domain
 * errors, so the run logic tells a lost service (UnavailableError: wait and resume) from a bad request (the run
 * fails with the service's own message, which names the field).
 */
import { Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { data, modelHost } from '@memorize/contracts';
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
import type { DataPort, ModelHostPort } from '@memorize/runs';
import { callUnary, checkHealth, connect } from '@memorize/service-kit';

/** The `client` metadata key model-host schedules callers by (round-robin); the trainer is one client. */
const CLIENT = 'trainer';

const SHORT_MS = 60_000;
/** A train step or a measure may queue behind other clients' work on a busy host. */
const WORK_MS = 30 * 60_000;

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

function metadata(): Metadata {
  const m = new Metadata();
  m.set('client', CLIENT);
  return m;
}

async function healthy(address: string): Promise<boolean> {
  try {
    return (await checkHealth(address, '', 2_000)) === 'SERVING';
  } catch {
    return false;
  }
}

type Unary<Req, Res> = Parameters<typeof callUnary<Req, Res>>[1];

function unary<C extends Client, Req, Res>(client: C, service: string, method: Unary<Req, Res>, deadlineMs: number): (request: Req) => Promise<Res> {
  return async (request) => {
    try {
      return await callUnary(client, method, request, deadlineMs, metadata());
    } catch (error) {
      throw fromGrpc(error, service);
    }
  };
}

export function dataPort(address: string, maxMessageBytes: number): DataPort & { close(): void } {
  const client = connect(data.DataServiceClient, address, maxMessageBytes);
  const service = `DataService ${address}`;
  return {
    address,
    loadCorpus: unary(client, service, client.loadCorpus, WORK_MS),
    listDocuments: unary(client, service, client.listDocuments, SHORT_MS),
    async *streamTrainingBatches(request, signal) {
      const stream = client.streamTrainingBatches(request, metadata(), { deadline: new Date(Date.now() + 24 * 3_600_000) });
      const onAbort = (): void => stream.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const batch of stream) yield batch as data.StreamTrainingBatchesResponse;
      } catch (error) {
        if (signal.aborted) throw signal.reason as Error;
        throw fromGrpc(error, service);
      } finally {
        signal.removeEventListener('abort', onAbort);
        stream.cancel();
      }
    },
    healthy: () => healthy(address),
    close: () => client.close(),
  };
}

export function modelHostPort(address: string, maxMessageBytes: number): ModelHostPort & { close(): void } {
  const client = connect(modelHost.ModelHostClient, address, maxMessageBytes);
  const service = `model-host ${address}`;
  return {
    address,
    loadModel: unary(client, service, client.loadModel, WORK_MS),
    unloadModel: unary(client, service, client.unloadModel, WORK_MS),
    createMemory: unary(client, service, client.createMemory, WORK_MS),
    loadMemory: unary(client, service, client.loadMemory, WORK_MS),
    deleteMemory: unary(client, service, client.deleteMemory, WORK_MS),
    saveMemory: unary(client, service, client.saveMemory, WORK_MS),
    saveModel: unary(client, service, client.saveModel, WORK_MS),
    trainStep: unary(client, service, client.trainStep, WORK_MS),
    documentLoss: unary(client, service, client.documentLoss, WORK_MS),
    healthy: () => healthy(address),
    close: () => client.close(),
  };
}
