/**
 * Sweeps on a cluster and the capacity plan, through the `memorize` command: `cluster sweep` writes a ConfigMap and
 * an Indexed Job with one completion per cell (2 layers x {pretrained, memory, simset-2 token} = 5, each index one
 * cell in planCells' order) that validate against the Kubernetes schemas and match deploy/k8s/sweep/example;
 * `cluster cell` (one pod) sends StartSweep with cell = $JOB_COMPLETION_INDEX to an evaluator and waits for that
 * cell; `plan --json` counts Llama-2-7B's parameters and `plan --kustomize` is the gpu overlay's patch.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { common, evaluator } from '@memorize/contracts';
import { cliEntry, repoRoot, runCli, sharedDir, tempDir } from '@memorize/testing';
import { containersOf, k8sDir, kustomize, parseYamlObjects, validate, type K8sObject } from './render.js';

const clusterSweep = join(k8sDir, 'sweep', 'sweep.yaml');
const exampleDir = join(k8sDir, 'sweep', 'example');

interface PlanJson {
  sweep_id: string;
  completions: number;
  cells: Array<{ index: number; variant: string; layer: number; key: string }>;
  files: string[];
}

function plan(config: string, ...flags: string[]): { plan: PlanJson; dir: string } {
  const dir = tempDir('memorize-cluster-sweep-');
  const r = runCli(['cluster', 'sweep', '--config', config, '--out', dir, '--json', ...flags]);
  assert.equal(r.code, 0, r.stderr);
  return { plan: JSON.parse(r.stdout) as PlanJson, dir };
}

describe('memorize cluster sweep', () => {
  it('a 2-layer x 3-variant sweep is an Indexed Job of 5 completions, each index one cell in table order', () => {
    const { plan: p } = plan(join(repoRoot, 'configs', 'sweep.example.yaml'), '--sweep-id', 'example');
    assert.equal(p.completions, 5);
    assert.deepEqual(
      p.cells.map((c) => [c.index, c.variant, c.layer]),
      [
        [0, 'pretrained', -1],
        [1, 'memory', 1],
        [2, 'memory', 3],
        [3, 'simset-2 token', 1],
        [4, 'simset-2 token', 3],
      ],
    );
    assert.equal(new Set(p.cells.map((c) => c.key)).size, 5);
  });

  it('memorize sweep --plan-only writes the same plan without starting anything, and needs --out', () => {
    const config = join(repoRoot, 'configs', 'sweep.example.yaml');
    const { plan: expected, dir: expectedDir } = plan(config);
    const dir = tempDir('memorize-plan-only-');
    const r = runCli(['sweep', '--plan-only', '--config', config, '--out', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout) as PlanJson;
    assert.equal(got.sweep_id, expected.sweep_id);
    assert.deepEqual(got.cells, expected.cells);
    for (const name of ['configmap.yaml', 'job.yaml', 'kustomization.yaml'])
      assert.equal(readFileSync(join(dir, name), 'utf8'), readFileSync(join(expectedDir, name), 'utf8'), name);
    const missing = runCli(['sweep', '--plan-only', '--config', config]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--out is required with --plan-only/);
  });

  it('writes a ConfigMap and a Job that validate, mount the config the pods read, and match deploy/k8s/sweep/example', async () => {
    const { plan: p, dir } = plan(clusterSweep);
    const objects = kustomize(dir);
    assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'Job']);
    for (const o of objects) assert.equal(await validate(o), true, o.kind);
    const job = objects.find((o) => o.kind === 'Job')!;
    const configMap = objects.find((o) => o.kind === 'ConfigMap')!;
    assert.equal(job.metadata.name, p.sweep_id);
    assert.equal(job.spec.completionMode, 'Indexed');
    assert.equal(job.spec.completions, 5);
    assert.equal(job.metadata.labels['kueue.x-k8s.io/queue-name'], 'memorize');
    assert.equal(configMap.data['sweep.yaml'], readFileSync(clusterSweep, 'utf8'));
    const [{ pod, container }] = containersOf(job);
    assert.equal(pod.restartPolicy, 'Never');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.metadata, undefined);
    assert.equal(job.spec.template.metadata.labels['memorize.dev/client'], 'true', 'the NetworkPolicy lets cell pods reach the evaluator');
    assert.ok(container.resources.limits.cpu && container.resources.limits.memory);
    assert.doesNotMatch(container.image, /:latest$|^[^:]+$/);
    const config = container.args[container.args.indexOf('--config') + 1] as string;
    const mount = container.volumeMounts.find((m: K8sObject) => config.startsWith(`${m.mountPath}/`));
    assert.equal(pod.volumes.find((v: K8sObject) => v.name === mount.name).configMap.name, configMap.metadata.name);
    assert.equal(config.slice(mount.mountPath.length + 1), 'sweep.yaml');
    assert.deepEqual(container.args.slice(0, 2), ['cluster', 'cell']);
    // The committed example is this command's output.
    for (const name of ['configmap.yaml', 'job.yaml', 'kustomization.yaml'])
      assert.deepEqual(parseYamlObjects(readFileSync(join(exampleDir, name), 'utf8')), parseYamlObjects(readFileSync(join(dir, name), 'utf8')), name);
  });

  it('refuses a bad config or id with one line naming it, writing nothing', () => {
    const dir = tempDir('memorize-cluster-sweep-');
    const r = runCli(['cluster', 'sweep', '--config', clusterSweep, '--out', dir, '--sweep-id', 'Bad_Id']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^memorize: --sweep-id must be lower-case/);
    const missing = runCli(['cluster', 'sweep', '--config', join(dir, 'none.yaml'), '--out', dir]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^memorize: --config: /);
    assert.equal(r.stdout + missing.stdout, '');
  });
});

/** An Evaluator that records StartSweep and answers GetSweep: the cell runs for two polls, then ends in `end`. */
function fakeEvaluator(end: common.JobState): { server: Server; start(): Promise<string>; requests: evaluator.StartSweepRequest[] } {
  const requests: evaluator.StartSweepRequest[] = [];
  let polls = 0;
  const server = new Server();
  const sweep = (): evaluator.Sweep => {
    const r = requests[0];
    return evaluator.Sweep.fromPartial({
      sweepId: r.sweepId,
      state: common.JobState.JOB_STATE_RUNNING,
      cells: [
        { variant: 'pretrained', layer: -1, state: common.JobState.JOB_STATE_SUCCEEDED },
        {
          variant: 'simset-2 token',
          layer: 16,
          state: ++polls > 2 ? end : common.JobState.JOB_STATE_RUNNING,
          error: polls > 2 ? 'out of memory' : '',
        },
      ],
    });
  };
  server.addService(evaluator.EvaluatorService, {
    startSweep: (
      call: ServerUnaryCall<evaluator.StartSweepRequest, evaluator.StartSweepResponse>,
      done: sendUnaryData<evaluator.StartSweepResponse>,
    ) => {
      requests.push(call.request);
      done(null, { sweep: sweep() });
    },
    getSweep: (_call: ServerUnaryCall<evaluator.GetSweepRequest, evaluator.GetSweepResponse>, done: sendUnaryData<evaluator.GetSweepResponse>) =>
      done(null, { sweep: sweep() }),
  });
  return {
    server,
    requests,
    start: () =>
      new Promise((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(`127.0.0.1:${port}`))),
      ),
  };
}

/** The command as a child process, without blocking this process's event loop (the fake evaluator runs in it). */
function memorize(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliEntry, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('memorize cluster cell (one pod of the Job)', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.forceShutdown()));
  const cell = (address: string, index: string) =>
    memorize(['cluster', 'cell', '--config', clusterSweep, '--sweep-id', 'sweep-test', '--evaluator', address, '--poll-ms', '20'], {
      JOB_COMPLETION_INDEX: index,
    });

  it('starts the cell of $JOB_COMPLETION_INDEX with the sweep spec, waits for it, exits 0 when it succeeded', async () => {
    const fake = fakeEvaluator(common.JobState.JOB_STATE_SUCCEEDED);
    servers.push(fake.server);
    const r = await cell(await fake.start(), '3');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fake.requests.length, 1);
    const [request] = fake.requests;
    assert.equal(request.cell, 3);
    assert.equal(request.sweepId, 'sweep-test');
    assert.deepEqual(request.spec!.layers, [16, 24]);
    assert.deepEqual(
      request.spec!.variants.map((v) => v.name),
      ['pretrained', 'memory', 'simset-2 token'],
    );
    assert.equal(request.spec!.evaluation!.modelPath, '/models/llama-2-7b-chat');
    assert.deepEqual(JSON.parse(r.stdout), {
      sweep_id: 'sweep-test',
      index: 3,
      cell: 'simset-2-token.L16',
      state: 'succeeded',
      sweep_state: 'running',
    });
  });

  it('exits 1 with the error when the cell failed (the Job retries the index), 2 for an index outside the sweep', async () => {
    const fake = fakeEvaluator(common.JobState.JOB_STATE_FAILED);
    servers.push(fake.server);
    const address = await fake.start();
    const failed = await cell(address, '3');
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /memorize: cell 3 \(simset-2-token\.L16\) of sweep sweep-test failed: out of memory/);
    const outside = await cell(address, '5');
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /memorize: --index 5: the sweep has 5 cells \(0\.\.4\)/);
    assert.equal(fake.requests.length, 1, 'nothing sent for the bad index');
  });
});

describe('memorize plan', () => {
  let json: { parameters: number; kubernetes: { requests: Record<string, string> } };
  before(() => {
    const r = runCli(['plan', '--model', join(sharedDir, 'models', 'llama-2-7b-chat'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    json = JSON.parse(r.stdout) as typeof json;
  });

  it("--json: Llama-2-7B's parameters within 0.1% of 6.74e9", () => {
    assert.ok(Math.abs(json.parameters - 6.74e9) / 6.74e9 < 0.001, String(json.parameters));
    assert.equal(json.kubernetes.requests['nvidia.com/gpu'], '1');
  });

  it("--kustomize prints the gpu overlay's model-host patch as committed", () => {
    const r = runCli(['plan', '--model', '../shared/models/llama-2-7b-chat', '--kustomize']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, readFileSync(join(k8sDir, 'overlays', 'gpu', 'model-host-resources.yaml'), 'utf8'));
  });

  it('refuses a length past the context with the flag named', () => {
    const r = runCli(['plan', '--model', join(sharedDir, 'models', 'llama-2-7b-chat'), '--seq', '5000']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'memorize: --seq must be an integer in 1..4096, got 5000\n');
  });
});
