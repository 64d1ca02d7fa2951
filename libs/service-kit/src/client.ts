import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';

/** Client constructors as ts-proto generates them (e.g. DataServiceClient). */
export type ClientConstructor<C extends Client> = new (address: string, creds: ReturnType<typeof credentials.createInsecure>, options?: object) => C;

/** A plaintext client with the same message size limit the servers use. */
export function connect<C extends Client>(Ctor: ClientConstructor<C>, address: string, maxMessageBytes = 64 * 1024 * 1024): C {
  return new Ctor(address, credentials.createInsecure(), {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
  });
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (error: ServiceError | null, response: Res) => void,
) => unknown;

/** Calls a unary method with a deadline (every call gets one) and optional metadata (e.g. model-host's `client` key). */
export function callUnary<Req, Res>(
  client: Client,
  method: UnaryMethod<Req, Res>,
  request: Req,
  deadlineMs = 30_000,
  metadata: Metadata = new Metadata(),
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, { deadline: new Date(Date.now() + deadlineMs) }, (error, response) => {
      if (error) reject(error);
      else resolve(response);
    });
  });
}

type StreamMethod<Req, Res> = (request: Req, metadata: Metadata, options: { deadline: Date }) => AsyncIterable<Res> & { cancel(): void };

/** Iterates a server-streaming method with a deadline for the whole stream. */
export async function* callStream<Req, Res>(client: Client, method: StreamMethod<Req, Res>, request: Req, deadlineMs = 600_000): AsyncGenerator<Res> {
  const stream = method.call(client, request, new Metadata(), { deadline: new Date(Date.now() + deadlineMs) });
  try {
    for await (const message of stream) yield message as Res;
  } finally {
    stream.cancel();
  }
}

interface HealthClient extends Client {
  check(
    request: { service: string },
    metadata: Metadata,
    options: { deadline: Date },
    callback: (e: ServiceError | null, r: { status: string }) => void,
  ): void;
}

let healthCtor: (new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => HealthClient) | undefined;

/** grpc.health.v1.Health/Check: resolves to "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN" or "UNKNOWN". */
export async function checkHealth(address: string, service = '', deadlineMs = 2_000): Promise<string> {
  if (!healthCtor) {
    const pkg = loadPackageDefinition(loadSync(healthProtoPath, { keepCase: true, enums: String })) as unknown as {
      grpc: { health: { v1: { Health: typeof healthCtor } } };
    };
    healthCtor = pkg.grpc.health.v1.Health;
  }
  const client = new healthCtor!(address, credentials.createInsecure());
  try {
    return await new Promise<string>((resolve, reject) => {
      client.check({ service }, new Metadata(), { deadline: new Date(Date.now() + deadlineMs) }, (error, response) => {
        if (error) reject(error);
        else resolve(response.status);
      });
    });
  } finally {
    client.close();
  }
}

/** Polls health until SERVING or the timeout passes. */
export async function waitHealthy(address: string, timeoutMs = 30_000, service = ''): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < until) {
    try {
      last = await checkHealth(address, service, 1_000);
      if (last === 'SERVING') return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${address} not healthy after ${timeoutMs} ms (last: ${last})`);
}
