/**
 * What the clients of the orchestrators (trainer: train/runs; evaluator: eval/evals/sweep/sweeps/report) share:
 * finding the service's address, turning its gRPC errors into one-line refusals (a config's field named by its
 * key), and following a job's watch stream through service restarts and Ctrl-C.
 */
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { common } from '@memorize/contracts';
import { InvalidArgumentError } from '@memorize/errors';
import { defaultPorts } from '@memorize/service-kit';
import { readStack, stackDir } from './commands/stack.js';
import { stateName } from './progress.js';

export type Out = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** A refusal that is not bad input (an unreachable service, a failed job): printed as one line, its own exit code. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliFailure';
  }
}

export type Orchestrator = 'trainer' | 'evaluator';

/**
 * The address of `service`: the flag's value (`--trainer`, `--evaluator`), else the local stack's, else
 * MEMORIZE_<SERVICE>_ADDRESS, else 127.0.0.1 on the service's default port.
 */
export function serviceAddress(service: Orchestrator, given?: string): string {
  if (given !== undefined) {
    if (!/^\S+:\d+$/.test(given)) throw new InvalidArgumentError(`--${service} must be host:port, got "${given}"`, `--${service}`);
    return given;
  }
  try {
    const stack = readStack(stackDir());
    const found = stack?.services.find((s) => s.name === service);
    if (found) return found.address;
  } catch {
    // An unreadable stack.json: fall through to the defaults.
  }
  return process.env[`MEMORIZE_${service.toUpperCase()}_ADDRESS`] || `127.0.0.1:${defaultPorts[service]}`;
}

export function isServiceError(error: unknown): error is ServiceError {
  return typeof (error as ServiceError | undefined)?.code === 'number' && (error as ServiceError).metadata !== undefined;
}

/** The config a request was made from: its file and how a spec field maps to its key. */
export interface ConfigSource {
  file: string;
  keyOf(field: string): string | undefined;
}

/**
 * A service error as the CLI reports it. INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, FAILED_PRECONDITION and
 * ALREADY_EXISTS about the caller's input exit 2 (a config's field named by its key); an unreachable service and
 * everything else 1.
 */
export function serviceError(error: unknown, service: Orchestrator, address: string, config?: ConfigSource): Error {
  if (!isServiceError(error)) return error as Error;
  const details = error.details || error.message;
  if (error.code === status.UNAVAILABLE || error.code === status.DEADLINE_EXCEEDED)
    return new CliFailure(`the ${service} at ${address} does not answer (${status[error.code]}: ${details}); is the stack up? (memorize stack up)`);
  if (error.code === status.UNIMPLEMENTED)
    return new CliFailure(`the ${service} at ${address} does not implement this call yet (UNIMPLEMENTED: ${details})`);
  const input = [status.INVALID_ARGUMENT, status.NOT_FOUND, status.PERMISSION_DENIED, status.FAILED_PRECONDITION, status.ALREADY_EXISTS].includes(
    error.code,
  );
  if (!input) return new CliFailure(`${service}: ${status[error.code]}: ${details}`);
  const field = error.metadata.get('memorize-field')[0]?.toString();
  if (config && field) {
    const key = config.keyOf(field);
    if (key) {
      const message = details.startsWith(`${field}: `) ? details.slice(field.length + 2) : details.replace(field, key);
      return new InvalidArgumentError(`${config.file}: ${message.startsWith(key) ? message : `${key}: ${message}`}`);
    }
  }
  return new InvalidArgumentError(config ? `${config.file}: ${details}` : details);
}

/** Runs one call, its error reported as serviceError does. */
export async function call<Res>(service: Orchestrator, address: string, fn: () => Promise<Res>, config?: ConfigSource): Promise<Res> {
  try {
    return await fn();
  } catch (error) {
    throw serviceError(error, service, address, config);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Follow<Event, Final> {
  service: Orchestrator;
  address: string;
  /** "run ID", "evaluation ID", "sweep ID" (in messages). */
  what: string;
  /** The command that reattaches (said when Ctrl-C stops following). */
  reattach: string;
  open(): ClientReadableStream<Event>;
  onEvent(event: Event): void;
  /** Whether the event is the job's last. */
  ended(event: Event): boolean;
  /** The job's full record once it has ended; undefined while it goes on (the stream ended early: watch again). */
  final(): Promise<Final | undefined>;
  err: Out;
}

/**
 * Follows a job's watch stream until it ends and returns its final record. A service that restarts meanwhile
 * (UNAVAILABLE, or the stream ending early) is waited for and watched again. SIGINT stops following (the job keeps
 * running) and says how to reattach: exit 130.
 */
export async function follow<Event, Final>(f: Follow<Event, Final>): Promise<Final> {
  let detached = false;
  let stream: ClientReadableStream<Event> | undefined;
  const onSigint = (): void => {
    detached = true;
    stream?.cancel();
  };
  process.on('SIGINT', onSigint);
  try {
    let failures = 0;
    while (!detached) {
      try {
        stream = f.open();
        for await (const event of stream as AsyncIterable<Event>) {
          failures = 0;
          f.onEvent(event);
          if (f.ended(event)) break;
        }
      } catch (error) {
        if (detached) break;
        if (isServiceError(error) && error.code === status.UNAVAILABLE && failures < 20) {
          failures++;
          if (failures === 1) f.err.write(`${f.what}: the ${f.service} at ${f.address} does not answer; waiting for it\n`);
          await sleep(Math.min(250 * 2 ** failures, 5_000));
          continue;
        }
        throw serviceError(error, f.service, f.address);
      } finally {
        stream?.cancel();
      }
      if (detached) break;
      const done = await f.final();
      if (done !== undefined) return done;
      await sleep(500); // the stream ended before the job did (a service restarting): watch again
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  throw new CliFailure(`stopped following ${f.what}; it keeps running on the ${f.service}. Reattach with: ${f.reattach}`, 130);
}

/** A Unix time in seconds as ISO 8601; null for 0 (unset). */
export const isoTime = (unix: bigint): string | null => (unix > 0n ? new Date(Number(unix) * 1000).toISOString() : null);

/**
 * Exit status of a finished job: nothing when it succeeded, else its error on stderr and exit code 1. With the
 * config it was started from, an error that names a spec field also names the config key.
 */
export function finishJob(
  what: string,
  state: common.JobState,
  error: string,
  err: Out,
  config?: { file: string; keyInMessage(message: string): string | undefined },
): void {
  if (state === common.JobState.JOB_STATE_SUCCEEDED) return;
  const why = error || (state === common.JobState.JOB_STATE_CANCELLED ? 'cancelled' : 'no error recorded');
  const key = config && error ? config.keyInMessage(error) : undefined;
  err.write(`memorize: ${what} ${stateName(state)}: ${why}${key ? ` (${config!.file}: ${key})` : ''}\n`);
  process.exitCode = 1;
}
