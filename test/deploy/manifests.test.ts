/**
 * deploy/k8s: every overlay renders (`kubectl kustomize`), every object validates against the Kubernetes schemas,
 * and the invariants hold: gRPC probes on every service container, requests and limits on every container, the
 * security context, images pinned by tag, the NetworkPolicies allowing exactly the call graph, GPUs asked for by
 * model-host only (in the gpu overlay, with the resources of Llama-2-7B's capacity plan), and trainer and evaluator
 * listing every model-host replica.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { planCapacity, readModelConfig } from '@memorize/capacity';
import { sharedDir } from '@memorize/testing';
import { containersOf, k8sDir, kustomize, overlays, validate, workloadKinds, type K8sObject } from './render.js';

const rendered = Object.fromEntries(overlays.map((o) => [o, kustomize(join(k8sDir, 'overlays', o))])) as Record<
  (typeof overlays)[number],
  K8sObject[]
>;
const ports: Record<string, number> = { data: 50051, 'model-host': 50052, trainer: 50053, evaluator: 50054 };
const named = (objects: K8sObject[], kind: string, name: string): K8sObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} rendered`);
  return o;
};
const configOf = (objects: K8sObject[]): Record<string, string> =>
  objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('memorize-config'))!.data;

for (const overlay of overlays) {
  describe(`overlay ${overlay}`, () => {
    const objects = rendered[overlay];

    it('validates every object against the Kubernetes schemas', async () => {
      for (const o of objects) assert.equal(await validate(o), true, `${o.kind}/${o.metadata.name} has a schema and passes it`);
      const kinds = new Set(objects.map((o) => o.kind));
      for (const k of ['Namespace', 'ConfigMap', 'PersistentVolumeClaim', 'Deployment', 'StatefulSet', 'Service', 'NetworkPolicy'])
        assert.ok(kinds.has(k), k);
      for (const o of objects) if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'memorize', `${o.kind}/${o.metadata.name}`);
    });

    it('runs each service with gRPC health probes on its port, resources, and a locked-down security context', () => {
      const workloads = objects.filter((o) => workloadKinds.has(o.kind));
      assert.deepEqual(workloads.map((w) => w.metadata.name).sort(), ['data', 'evaluator', 'model-host', 'trainer']);
      for (const w of workloads) {
        const port = ports[w.metadata.name];
        for (const { pod, container: c } of containersOf(w)) {
          const where = `${w.kind}/${w.metadata.name} ${c.name}`;
          assert.deepEqual(c.args.slice(0, 2), ['serve', w.metadata.name], where);
          assert.equal(c.ports[0].containerPort, port, where);
          for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) assert.deepEqual(c[probe]?.grpc, { port }, `${where} ${probe}`);
          for (const r of ['cpu', 'memory']) {
            assert.ok(c.resources?.requests?.[r], `${where} requests ${r}`);
            assert.ok(c.resources?.limits?.[r], `${where} limits ${r}`);
          }
          assert.equal(pod.securityContext.runAsNonRoot, true, where);
          assert.ok(pod.securityContext.runAsUser > 0, where);
          assert.equal(c.securityContext.allowPrivilegeEscalation, false, where);
          assert.equal(c.securityContext.readOnlyRootFilesystem, true, where);
          assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], where);
          assert.equal(c.securityContext.privileged, undefined, where);
          const image = String(c.image);
          assert.match(image, /^[a-z0-9./-]+:[0-9][\w.-]*$/, `${where}: image pinned by a version tag, got ${image}`);
          assert.doesNotMatch(image, /:latest$/, where);
          assert.ok(
            c.envFrom.some((e: K8sObject) => e.configMapRef?.name === configOf(objects) || e.configMapRef?.name.startsWith('memorize-config')),
            where,
          );
        }
        // Every volume claim a pod mounts is rendered.
        for (const v of w.spec.template.spec.volumes ?? [])
          if (v.persistentVolumeClaim) named(objects, 'PersistentVolumeClaim', v.persistentVolumeClaim.claimName);
      }
      // SQLite stores: one pod each, never two at once.
      for (const name of ['trainer', 'evaluator']) {
        const d = named(objects, 'Deployment', name);
        assert.equal(d.spec.replicas, 1);
        assert.equal(d.spec.strategy.type, 'Recreate');
        assert.ok(d.spec.template.spec.volumes.some((v: K8sObject) => v.persistentVolumeClaim?.claimName === `${name}-store`));
      }
    });

    it('lets in only the call graph: trainer and evaluator -> data and model-host, evaluator -> trainer, clients -> trainer and evaluator', () => {
      const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
      const deny = policies.find((p) => Object.keys(p.spec.podSelector).length === 0);
      assert.ok(deny && deny.spec.policyTypes.includes('Ingress') && !deny.spec.ingress, 'a default-deny ingress policy');
      const allowed = new Set<string>();
      for (const p of policies) {
        const to = p.spec.podSelector.matchLabels?.['app.kubernetes.io/name'];
        for (const rule of p.spec.ingress ?? []) {
          assert.ok(to, `${p.metadata.name} selects one service`);
          assert.deepEqual(
            rule.ports.map((x: K8sObject) => x.port),
            [ports[to]],
            `${p.metadata.name} opens only ${to}'s port`,
          );
          for (const from of rule.from) {
            assert.deepEqual(Object.keys(from), ['podSelector'], `${p.metadata.name}: only pods of this namespace`);
            const labels = from.podSelector.matchLabels;
            allowed.add(`${labels['app.kubernetes.io/name'] ?? (labels['memorize.dev/client'] === 'true' ? 'client' : '?')}->${to}`);
          }
        }
      }
      assert.deepEqual([...allowed].sort(), [
        'client->evaluator',
        'client->trainer',
        'evaluator->data',
        'evaluator->model-host',
        'evaluator->trainer',
        'trainer->data',
        'trainer->model-host',
      ]);
    });

    it('gives trainer and evaluator every model-host replica by its stable name under the headless Service', () => {
      const sts = named(objects, 'StatefulSet', 'model-host');
      const svc = named(objects, 'Service', 'model-host');
      assert.equal(svc.spec.clusterIP, 'None');
      assert.equal(sts.spec.serviceName, 'model-host');
      const replicas = sts.spec.replicas ?? 1;
      const expected = Array.from({ length: replicas }, (_, i) => `model-host-${i}.model-host:50052`).join(',');
      const config = configOf(objects);
      assert.equal(config.MEMORIZE_TRAINER_MODEL_HOSTS, expected);
      assert.equal(config.MEMORIZE_EVALUATOR_MODEL_HOSTS, expected);
      assert.equal(config.MEMORIZE_TRAINER_DATA_ADDRESS, 'data:50051');
      assert.equal(config.MEMORIZE_EVALUATOR_TRAINER_ADDRESS, 'trainer:50053');
      assert.equal(config.MEMORIZE_HOST, '0.0.0.0');
      assert.equal(replicas, overlay === 'gpu' ? 2 : 1);
    });
  });
}

describe('the schema check', () => {
  it('refuses what the API server would (a control for the validations above)', async () => {
    const d = structuredClone(rendered.local.find((o) => o.kind === 'Deployment')!);
    d.spec.replicas = 'one';
    await assert.rejects(validate(d), /replicas/);
    const s = structuredClone(rendered.local.find((o) => o.kind === 'Service')!);
    s.spec.ports[0].port = 'grpc';
    await assert.rejects(validate(s), /port/);
  });
});

describe('GPUs', () => {
  const gpuRequests = (objects: K8sObject[]): string[] =>
    objects
      .filter((o) => workloadKinds.has(o.kind))
      .flatMap((w) =>
        containersOf(w).filter(({ container: c }) => c.resources?.limits?.['nvidia.com/gpu'] || c.resources?.requests?.['nvidia.com/gpu']),
      )
      .map(({ container }) => container.name);

  it('the local overlay asks for none; the gpu overlay for one per model-host and nothing else', () => {
    assert.deepEqual(gpuRequests(rendered.local), []);
    assert.deepEqual(gpuRequests(rendered.gpu), ['model-host']);
  });

  it("model-host on GPU nodes with the resources of Llama-2-7B's capacity plan", () => {
    const { config } = readModelConfig(join(sharedDir, 'models', 'llama-2-7b-chat'));
    const plan = planCapacity(config);
    const sts = named(rendered.gpu, 'StatefulSet', 'model-host');
    const pod = sts.spec.template.spec;
    const c = pod.containers[0];
    assert.equal(c.image, 'memorize/model-host-gpu:0.1.0');
    assert.deepEqual(c.resources.requests, plan.kubernetes.requests);
    assert.deepEqual(c.resources.limits, plan.kubernetes.limits);
    assert.ok(
      c.env.some((e: K8sObject) => e.name === 'MEMORIZE_MODEL_HOST_MODEL_CACHE_BYTES' && Number(e.value) === plan.kubernetes.modelCacheBytes),
    );
    assert.ok(plan.kubernetes.modelCacheBytes >= plan.bytes.weights + plan.bytes.rope);
    assert.equal(pod.nodeSelector['nvidia.com/gpu.present'], 'true');
    assert.ok(pod.tolerations.some((t: K8sObject) => t.key === 'nvidia.com/gpu' && t.effect === 'NoSchedule'));
    const term = pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0];
    assert.deepEqual(term, { key: 'nvidia.com/gpu.memory', operator: 'Gt', values: [String(plan.kubernetes.minGpuMemoryMib - 1)] });
    // The rest of the stack stays on CPU.
    for (const name of ['data', 'trainer', 'evaluator'])
      assert.equal(named(rendered.gpu, 'Deployment', name).spec.template.spec.nodeSelector, undefined);
  });
});
