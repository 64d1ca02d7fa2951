import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { data, evaluator, modelHost, serviceNames, trainer } from '@memorize/contracts';
import { callUnary, checkHealth, connect, status } from '@memorize/service-kit';
import type { ServiceError } from '@grpc/grpc-js';
import { pythonReflect, sharedRootsEnv, startServiceProcess, storiesBin, type ServiceProcess } from '@memorize/testing';

const expected = [
  { name: 'data', service: serviceNames.data, methods: Object.keys(data.DataServiceService).length },
  { name: 'model-host', service: serviceNames.modelHost, methods: Object.keys(modelHost.ModelHostService).length },
  { name: 'trainer', service: serviceNames.trainer, methods: Object.keys(trainer.TrainerService).length },
  { name: 'evaluator', service: serviceNames.evaluator, methods: Object.keys(evaluator.EvaluatorService).length },
];

const processes: ServiceProcess[] = [];

before(async () => {
  processes.push(...(await Promise.all(expected.map((e) => startServiceProcess(e.name, sharedRootsEnv())))));
});

after(async () => {
  await Promise.all(processes.map((p) => p.stop()));
});

test('four separate processes, each healthy over real gRPC', async () => {
  const pids = new Set(processes.map((p) => p.child.pid));
  assert.equal(pids.size, 4);
  for (const [i, p] of processes.entries()) {
    assert.equal(await checkHealth(p.address, '', 5_000), 'SERVING');
    assert.equal(await checkHealth(p.address, expected[i].service, 5_000), 'SERVING');
  }
});

const health = 'grpc.health.v1.Health';

test('an independent client (python grpcio) lists and describes every service, health included, through reflection only', () => {
  for (const [i, p] of processes.entries()) {
    const reflected = pythonReflect(p.address);
    assert.ok(reflected.services.includes(expected[i].service), `${p.name} lists ${expected[i].service}`);
    assert.ok(reflected.services.includes(health), `${p.name} lists ${health}`);
    const methods = reflected.methods[expected[i].service];
    assert.equal(methods.length, expected[i].methods, `${p.name} describes all its methods`);
    for (const m of methods) assert.match(m.input, /^memorize\.v1\./);
    assert.equal(reflected.files[health], 'grpc/health/v1/health.proto');
    assert.deepEqual(reflected.methods[health], [
      { name: 'Check', input: 'grpc.health.v1.HealthCheckRequest', output: 'grpc.health.v1.HealthCheckResponse', server_streaming: false },
      { name: 'Watch', input: 'grpc.health.v1.HealthCheckRequest', output: 'grpc.health.v1.HealthCheckResponse', server_streaming: true },
      { name: 'List', input: 'grpc.health.v1.HealthListRequest', output: 'grpc.health.v1.HealthListResponse', server_streaming: false },
    ]);
    // Checked through the reflected health descriptor, as grpcurl would.
    assert.equal(reflected.health[''], 'SERVING');
    assert.equal(reflected.health[expected[i].service], 'SERVING');
  }
  const modelHostMethods = pythonReflect(processes[1].address).methods[serviceNames.modelHost];
  assert.equal(modelHostMethods.find((m) => m.name === 'Generate')?.server_streaming, true);
  assert.equal(modelHostMethods.find((m) => m.name === 'Score')?.server_streaming, false);
});

test('reflection v1alpha describes the same services as v1', () => {
  const v1 = pythonReflect(processes[2].address);
  const v1alpha = pythonReflect(processes[2].address, undefined, 'v1alpha');
  assert.deepEqual(v1alpha.services.sort(), v1.services.sort());
  assert.deepEqual(v1alpha.methods, v1.methods);
  assert.deepEqual(v1alpha.health, v1.health);
});

test('a call built from reflected descriptors reaches the service (DataService GetCorpus)', () => {
  const reflected = pythonReflect(processes[0].address, { method: `${serviceNames.data}/GetCorpus`, body: { corpus_id: 'no-such-corpus' } });
  assert.equal(reflected.call?.code, 'NOT_FOUND');
  assert.match(reflected.call?.details ?? '', /corpus_id/);
});

test('grpc.health.v1.Health/Check called with descriptors from reflection only', () => {
  const serving = pythonReflect(processes[3].address, { method: `${health}/Check`, body: { service: serviceNames.evaluator } });
  assert.deepEqual(serving.call, { code: 'OK', response: { status: 'SERVING' } });
  const unknown = pythonReflect(processes[3].address, { method: `${health}/Check`, body: { service: 'memorize.v1.Nope' } });
  assert.equal(unknown.call?.code, 'NOT_FOUND');
});

test('every service is implemented: empty listings on fresh stores; lookups by id NOT_FOUND', async () => {
  const client = connect(trainer.TrainerClient, processes[2].address);
  const evaluatorClient = connect(evaluator.EvaluatorClient, processes[3].address);
  try {
    assert.deepEqual((await callUnary(evaluatorClient, evaluatorClient.listEvaluations, { limit: 5 }, 5_000)).evaluations, []);
    assert.deepEqual((await callUnary(client, client.listRuns, { state: 0, limit: 5 }, 5_000)).runs, []);
    await assert.rejects(
      callUnary(client, client.getRun, { runId: 'r1' }, 5_000),
      (e: ServiceError) => e.code === status.NOT_FOUND && e.details.includes('no run "r1"'),
    );
  } finally {
    client.close();
    evaluatorClient.close();
  }
});

test('a deadline that passes ends the call with DEADLINE_EXCEEDED; the service is still healthy', async () => {
  const client = connect(modelHost.ModelHostClient, processes[1].address);
  try {
    await assert.rejects(
      callUnary(client, client.loadModel, modelHost.LoadModelRequest.fromPartial({ path: storiesBin }), 1),
      (e: ServiceError) => e.code === status.DEADLINE_EXCEEDED,
    );
    assert.equal(await checkHealth(processes[1].address, '', 5_000), 'SERVING');
  } finally {
    client.close();
  }
});

test('SIGTERM drains and exits 0', async () => {
  const extra = await startServiceProcess('evaluator');
  const code = await extra.stop();
  assert.equal(code, 0);
  assert.ok(extra.logs.some((l) => l.includes('"msg":"stopped"')));
});
