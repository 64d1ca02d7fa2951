/**
 * The trainer's gRPC side of libs/runs' ports: DataService and model-host clients whose failures become domain
 * errors (service-kit's fromGrpc), so the run logic tells a lost service (UnavailableError: wait and resume) from a
 * bad request (the run fails with the service's own message, which names the field).
 */
import { data, modelHost } from '@memorize/contracts';
import type { DataPort, ModelHostPort } from '@memorize/runs';
import { connect, isServing, remoteStream, remoteUnary } from '@memorize/service-kit';

/** The `client` metadata key model-host schedules callers by (round-robin); the trainer is one client. */
const CALLER = 'trainer';
const SHORT_MS = 60_000;
/** A train step or a measure may queue behind other clients' work on a busy host. */
const WORK_MS = 30 * 60_000;

export function dataPort(address: string, maxMessageBytes: number): DataPort & { close(): void } {
  const client = connect(data.DataServiceClient, address, maxMessageBytes);
  const service = `DataService ${address}`;
  return {
    address,
    loadCorpus: remoteUnary(client, service, client.loadCorpus, WORK_MS, CALLER),
    listDocuments: remoteUnary(client, service, client.listDocuments, SHORT_MS, CALLER),
    streamTrainingBatches: remoteStream(client, service, client.streamTrainingBatches, CALLER),
    healthy: () => isServing(address),
    close: () => client.close(),
  };
}

export function modelHostPort(address: string, maxMessageBytes: number): ModelHostPort & { close(): void } {
  const client = connect(modelHost.ModelHostClient, address, maxMessageBytes);
  const service = `model-host ${address}`;
  const call = <Req, Res>(method: Parameters<typeof remoteUnary<Req, Res>>[2]) => remoteUnary(client, service, method, WORK_MS, CALLER);
  return {
    address,
    loadModel: call(client.loadModel),
    unloadModel: call(client.unloadModel),
    createMemory: call(client.createMemory),
    loadMemory: call(client.loadMemory),
    deleteMemory: call(client.deleteMemory),
    saveMemory: call(client.saveMemory),
    saveModel: call(client.saveModel),
    trainStep: call(client.trainStep),
    documentLoss: call(client.documentLoss),
    generate: remoteStream(client, service, client.generate, CALLER),
    healthy: () => isServing(address),
    close: () => client.close(),
  };
}
