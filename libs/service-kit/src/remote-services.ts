/**
 * Every RPC of DataService, ModelHost and Trainer as plain functions over one channel each (service-kit's
 * remoteUnary / remoteStream: failures as domain errors naming the service), for the orchestrators (trainer,
 * evaluator), whose library ports are subsets of these.
 */
import { data, modelHost, trainer } from '@memorize/contracts';
import { connect } from './client.js';
import { isServing, remoteStream, remoteUnary } from './remote.js';

/** Quick calls (listings, lookups). */
const SHORT_MS = 60_000;
/** Calls that queue behind other clients' work on a busy host or build a corpus. */
const WORK_MS = 30 * 60_000;

/** `caller` is the `client` metadata key model-host schedules callers by. */
export function remoteDataService(address: string, maxMessageBytes: number, caller: string) {
  const client = connect(data.DataServiceClient, address, maxMessageBytes);
  const service = `DataService ${address}`;
  return {
    address,
    loadCorpus: remoteUnary(client, service, client.loadCorpus, WORK_MS, caller),
    listDocuments: remoteUnary(client, service, client.listDocuments, SHORT_MS, caller),
    streamTrainingBatches: remoteStream(client, service, client.streamTrainingBatches, caller),
    streamEvaluationItems: remoteStream(client, service, client.streamEvaluationItems, caller),
    healthy: () => isServing(address),
    close: () => client.close(),
  };
}

export function remoteModelHost(address: string, maxMessageBytes: number, caller: string) {
  const client = connect(modelHost.ModelHostClient, address, maxMessageBytes);
  const service = `model-host ${address}`;
  const call = <Req, Res>(method: Parameters<typeof remoteUnary<Req, Res>>[2]) => remoteUnary(client, service, method, WORK_MS, caller);
  return {
    address,
    loadModel: call(client.loadModel),
    unloadModel: call(client.unloadModel),
    tokenize: call(client.tokenize),
    createMemory: call(client.createMemory),
    loadMemory: call(client.loadMemory),
    deleteMemory: call(client.deleteMemory),
    saveMemory: call(client.saveMemory),
    saveModel: call(client.saveModel),
    trainStep: call(client.trainStep),
    documentLoss: call(client.documentLoss),
    score: call(client.score),
    generate: remoteStream(client, service, client.generate, caller),
    healthy: () => isServing(address),
    close: () => client.close(),
  };
}

export function remoteTrainer(address: string, maxMessageBytes: number, caller: string) {
  const client = connect(trainer.TrainerClient, address, maxMessageBytes);
  const service = `Trainer ${address}`;
  return {
    address,
    startRun: remoteUnary(client, service, client.startRun, SHORT_MS, caller),
    getRun: remoteUnary(client, service, client.getRun, SHORT_MS, caller),
    cancelRun: remoteUnary(client, service, client.cancelRun, WORK_MS, caller),
    healthy: () => isServing(address),
    close: () => client.close(),
  };
}
