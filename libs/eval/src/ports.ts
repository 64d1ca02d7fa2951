/**
 * What evaluations and sweeps need from the other services (the evaluator service implements these over gRPC;
 * failures are domain errors as in libs/runs' ports: UnavailableError for a service that does not answer).
 */
import type { data, modelHost, trainer } from '@memorize/contracts';

export interface EvalDataPort {
  readonly address: string;
  loadCorpus(request: data.LoadCorpusRequest): Promise<data.LoadCorpusResponse>;
  streamEvaluationItems(request: data.StreamEvaluationItemsRequest, signal: AbortSignal): AsyncIterable<data.StreamEvaluationItemsResponse>;
  healthy(): Promise<boolean>;
}

export interface EvalHostPort {
  readonly address: string;
  loadModel(request: modelHost.LoadModelRequest): Promise<modelHost.LoadModelResponse>;
  loadMemory(request: modelHost.LoadMemoryRequest): Promise<modelHost.LoadMemoryResponse>;
  deleteMemory(request: modelHost.DeleteMemoryRequest): Promise<modelHost.DeleteMemoryResponse>;
  tokenize(request: modelHost.TokenizeRequest): Promise<modelHost.TokenizeResponse>;
  score(request: modelHost.ScoreRequest): Promise<modelHost.ScoreResponse>;
  generate(request: modelHost.GenerateRequest, signal: AbortSignal): AsyncIterable<modelHost.GenerateResponse>;
  healthy(): Promise<boolean>;
}

export interface TrainerPort {
  readonly address: string;
  startRun(request: trainer.StartRunRequest): Promise<trainer.StartRunResponse>;
  getRun(request: trainer.GetRunRequest): Promise<trainer.GetRunResponse>;
  cancelRun(request: trainer.CancelRunRequest): Promise<trainer.CancelRunResponse>;
  healthy(): Promise<boolean>;
}
