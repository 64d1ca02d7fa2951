/**
 * The evaluator's gRPC side of libs/eval's ports: DataService, model-host and Trainer clients whose failures become
 * domain errors (service-kit's fromGrpc).
 */
import { data, modelHost, trainer } from '@memorize/contracts';
import type { EvalDataPort, EvalHostPort, TrainerPort } from '@memorize/eval';
import { connect, isServing, remoteStream, remoteUnary } from '@memorize/service-kit';

/** The `client` metadata key model-host schedules callers by: evaluations share the engine fairly with training. */
const CALLER = 'evaluator';
const SHORT_MS = 60_000;
/** A Score of a batch of claims may queue behind other clients' work on a busy host. */
const WORK_MS = 30 * 60_000;

export function dataPort(address: string, maxMessageBytes: number): EvalDataPort & { close(): void } {
  const client = connect(data.DataServiceClient, address, maxMessageBytes);
  const service = `DataService ${address}`;
  return {
    address,
    loadCorpus: remoteUnary(client, service, client.loadCorpus, WORK_MS, CALLER),
    streamEvaluationItems: remoteStream(client, service, client.streamEvaluationItems, CALLER),
    healthy: () => isServing(address),
    close: () => client.close(),
  };
}

export function modelHostPort(address: string, maxMessageBytes: number): EvalHostPort & { close(): void } {
  const client = connect(modelHost.ModelHostClient, address, maxMessageBytes);
  const service = `model-host ${address}`;
  const call = <Req, Res>(method: Parameters<typeof remoteUnary<Req, Res>>[2]) => remoteUnary(client, service, method, WORK_MS, CALLER);
  return {
    address,
    loadModel: call(client.loadModel),
    loadMemory: call(client.loadMemory),
    deleteMemory: call(client.deleteMemory),
    tokenize: call(client.tokenize),
    score: call(client.score),
    generate: remoteStream(client, service, client.generate, CALLER),
    healthy: () => isServing(address),
    close: () => client.close(),
  };
}

export function trainerPort(address: string, maxMessageBytes: number): TrainerPort & { close(): void } {
  const client = connect(trainer.TrainerClient, address, maxMessageBytes);
  const service = `Trainer ${address}`;
  return {
    address,
    startRun: remoteUnary(client, service, client.startRun, SHORT_MS, CALLER),
    getRun: remoteUnary(client, service, client.getRun, SHORT_MS, CALLER),
    cancelRun: remoteUnary(client, service, client.cancelRun, WORK_MS, CALLER),
    healthy: () => isServing(address),
    close: () => client.close(),
  };
}
