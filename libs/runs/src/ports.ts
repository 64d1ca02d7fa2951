/**
 * What a run needs from the other services, as narrow interfaces: the trainer service implements them over gRPC
 * (services/trainer), so the run logic here stays free of transport. An implementation maps transport failures to
 * domain errors: a service that does not answer is UnavailableError (the run waits for it and resumes), NOT_FOUND
 * is NotFoundError, anything else keeps its message (the run fails with it).
 */
import type { data, modelHost } from '@memorize/contracts';

export interface DataPort {
  readonly address: string;
  loadCorpus(request: data.LoadCorpusRequest): Promise<data.LoadCorpusResponse>;
  listDocuments(request: data.ListDocumentsRequest): Promise<data.ListDocumentsResponse>;
  /** The batches of StreamTrainingBatches; stops (and cancels the stream) when the loop breaks or `signal` aborts. */
  streamTrainingBatches(request: data.StreamTrainingBatchesRequest, signal: AbortSignal): AsyncIterable<data.StreamTrainingBatchesResponse>;
  /** grpc.health.v1 answers SERVING. */
  healthy(): Promise<boolean>;
}

export interface ModelHostPort {
  readonly address: string;
  loadModel(request: modelHost.LoadModelRequest): Promise<modelHost.LoadModelResponse>;
  unloadModel(request: modelHost.UnloadModelRequest): Promise<modelHost.UnloadModelResponse>;
  createMemory(request: modelHost.CreateMemoryRequest): Promise<modelHost.CreateMemoryResponse>;
  loadMemory(request: modelHost.LoadMemoryRequest): Promise<modelHost.LoadMemoryResponse>;
  deleteMemory(request: modelHost.DeleteMemoryRequest): Promise<modelHost.DeleteMemoryResponse>;
  saveMemory(request: modelHost.SaveMemoryRequest): Promise<modelHost.SaveMemoryResponse>;
  saveModel(request: modelHost.SaveModelRequest): Promise<modelHost.SaveModelResponse>;
  trainStep(request: modelHost.TrainStepRequest): Promise<modelHost.TrainStepResponse>;
  documentLoss(request: modelHost.DocumentLossRequest): Promise<modelHost.DocumentLossResponse>;
  generate(request: modelHost.GenerateRequest, signal: AbortSignal): AsyncIterable<modelHost.GenerateResponse>;
  healthy(): Promise<boolean>;
}

/** The minimal logger a run manager writes to (pino's surface). */
export interface RunLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
