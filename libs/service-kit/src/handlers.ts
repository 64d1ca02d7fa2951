import type { Metadata, ServerUnaryCall, ServerWritableStream, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { NotFoundError } from '@memorize/errors';
import type { Logger } from './logger.js';
import { GrpcStatusError, isInternal, status, toStatusError, type StatusError } from './status.js';

/** What a handler knows about its call besides the request. */
export interface CallContext {
  /** Aborted when the client cancels, the deadline passes, or shutdown's grace period ends. */
  signal: AbortSignal;
  /** The client's deadline, if it set one. */
  deadline: Date | null;
  peer: string;
  metadata: Metadata;
  logger: Logger;
}

/** A unary handler: return the response or throw (domain errors map to their status codes). */
export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res>;
/** A server-streaming handler: `send` resolves when the message is flushed (backpressure). */
export type StreamHandler<Req, Res> = (request: Req, send: (message: Res) => Promise<void>, ctx: CallContext) => Promise<void>;

interface MethodDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestDeserialize(buffer: Buffer): unknown;
  responseSerialize(value: never): Buffer;
}
type RequestOf<M> = M extends { requestDeserialize(buffer: Buffer): infer R } ? R : never;
type ResponseOf<M> = M extends { responseSerialize(value: infer R): Buffer } ? R : never;
type HandlerOf<M> = M extends { responseStream: true } ? StreamHandler<RequestOf<M>, ResponseOf<M>> : UnaryHandler<RequestOf<M>, ResponseOf<M>>;

/** Handlers for a ts-proto service definition; operations left out answer UNIMPLEMENTED. */
export type Implementation<D> = { [K in keyof D]?: HandlerOf<D[K]> };
export type ServiceDefinitionLike = Record<string, MethodDefinition>;

/** Book-keeping shared by every call of a server: in-flight calls and the concurrency limit. */
export class CallTracker {
  readonly inFlight = new Set<AbortController>();
  constructor(readonly maxConcurrentCalls: number) {}
  get size(): number {
    return this.inFlight.size;
  }
  abortAll(reason: string): void {
    for (const controller of this.inFlight) controller.abort(new GrpcStatusError(status.UNAVAILABLE, reason));
  }
}

function deadlineOf(call: { getDeadline(): Date | number }): Date | null {
  const d = call.getDeadline();
  if (d instanceof Date) return d;
  return Number.isFinite(d) ? new Date(d) : null;
}

function waitDrain(call: ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = (): void => {
      call.removeListener('drain', onDrain);
      reject(signal.reason);
    };
    call.once('drain', onDrain);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Turns async handlers into a grpc-js implementation: one log line per RPC (method, status code,
 * duration, peer), thrown errors mapped to statuses, cancellation and deadlines as an AbortSignal,
 * RESOURCE_EXHAUSTED past the concurrency limit, UNIMPLEMENTED for operations not provided.
 */
export function adaptService<D extends ServiceDefinitionLike>(
  definition: D,
  implementation: Implementation<D>,
  logger: Logger,
  tracker: CallTracker,
): UntypedServiceImplementation {
  const adapted: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const handler = (implementation as Record<string, unknown>)[name] as UnaryHandler<unknown, unknown> | StreamHandler<unknown, unknown> | undefined;
    const methodLog = logger.child({ method: method.path });

    const begin = (call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>) => {
      const controller = new AbortController();
      const started = process.hrtime.bigint();
      const ctx: CallContext = {
        signal: controller.signal,
        deadline: deadlineOf(call),
        peer: call.getPeer(),
        metadata: call.metadata,
        logger: methodLog,
      };
      call.on('cancelled', () => controller.abort(new GrpcStatusError(status.CANCELLED, 'call cancelled by the client or its deadline')));
      const finish = (code: status, error?: unknown, mapped?: StatusError): void => {
        tracker.inFlight.delete(controller);
        const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
        const entry = { code: status[code], durationMs: Math.round(durationMs * 1000) / 1000, peer: ctx.peer };
        if (mapped && isInternal(mapped)) methodLog.error({ ...entry, err: error }, 'rpc failed');
        else if (mapped) methodLog.info({ ...entry, detail: mapped.details }, 'rpc');
        else methodLog.info(entry, 'rpc');
      };
      const refuse = (): StatusError | undefined => {
        if (!handler) return toStatusError(new GrpcStatusError(status.UNIMPLEMENTED, `${method.path} is not implemented yet`));
        if (tracker.maxConcurrentCalls > 0 && tracker.size >= tracker.maxConcurrentCalls) {
          return toStatusError(
            new GrpcStatusError(status.RESOURCE_EXHAUSTED, `server busy: ${tracker.size} calls in flight (limit ${tracker.maxConcurrentCalls})`),
          );
        }
        tracker.inFlight.add(controller);
        return undefined;
      };
      return { controller, ctx, finish, refuse };
    };

    if (method.responseStream) {
      adapted[name] = (call: ServerWritableStream<unknown, unknown>) => {
        const { ctx, finish, refuse } = begin(call);
        const refused = refuse();
        if (refused) {
          finish(refused.code, refused, refused);
          call.emit('error', refused);
          return;
        }
        const send = async (message: unknown): Promise<void> => {
          if (ctx.signal.aborted) throw ctx.signal.reason;
          if (!call.write(message)) await waitDrain(call, ctx.signal);
        };
        (handler as StreamHandler<unknown, unknown>)(call.request, send, ctx).then(
          () => {
            finish(status.OK);
            call.end();
          },
          (error: unknown) => {
            const mapped = toStatusError(ctx.signal.aborted && !(error instanceof GrpcStatusError) ? ctx.signal.reason : error);
            finish(mapped.code, error, mapped);
            if (!call.cancelled) call.emit('error', mapped);
          },
        );
      };
    } else {
      adapted[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const { ctx, finish, refuse } = begin(call);
        const refused = refuse();
        if (refused) {
          finish(refused.code, refused, refused);
          callback(refused);
          return;
        }
        (handler as UnaryHandler<unknown, unknown>)(call.request, ctx).then(
          (response) => {
            finish(status.OK);
            callback(null, response);
          },
          (error: unknown) => {
            const mapped = toStatusError(ctx.signal.aborted && !(error instanceof GrpcStatusError) ? ctx.signal.reason : error);
            finish(mapped.code, error, mapped);
            callback(mapped);
          },
        );
      };
    }
  }
  return adapted;
}

/** A lookup by id in a store that is not built yet: the request key, its proto field name and what it names. */
export interface EmptyStoreLookup {
  key: string;
  field: string;
  noun: string;
}

/**
 * Handlers for operations that are not built yet: each checks its request with `validate[name]` first, so bad
 * input answers INVALID_ARGUMENT (as it will once built) and good input UNIMPLEMENTED. Lookups by id
 * (`lookups[name]`) answer NOT_FOUND instead: the store they read holds nothing yet, so no id names anything.
 */
export function validatedUnimplemented<D extends ServiceDefinitionLike>(
  definition: D,
  validate: { [K in keyof D]: (request: RequestOf<D[K]>) => unknown },
  lookups: { [K in keyof D]?: EmptyStoreLookup } = {},
): Implementation<D> {
  const handlers: Record<string, (request: unknown) => Promise<never>> = {};
  for (const [name, method] of Object.entries(definition)) {
    const check = validate[name] as (request: unknown) => unknown;
    const lookup = lookups[name];
    handlers[name] = async (request) => {
      check(request);
      if (lookup) {
        const id = String((request as Record<string, unknown>)[lookup.key]);
        throw new NotFoundError(`no ${lookup.noun} "${id}" (none exist yet: ${method.path} is not implemented)`, lookup.field);
      }
      throw new GrpcStatusError(status.UNIMPLEMENTED, `${method.path} is not implemented yet`);
    };
  }
  return handlers as unknown as Implementation<D>;
}
