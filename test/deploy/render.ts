/** Rendering kustomizations with `kubectl kustomize` (offline) and validating objects with kubernetes-models. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '@memorize/testing';

export const k8sDir = join(repoRoot, 'deploy', 'k8s');
export const overlays = ['local', 'gpu'] as const;

/** Fields of a rendered object, loosely typed: the tests read what they check. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;
export type K8sObject = Loose & { apiVersion: string; kind: string; metadata: Loose & { name: string; namespace?: string } };

export function kustomize(dir: string): K8sObject[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} exited ${r.status}: ${r.stderr}`);
  return parseYamlObjects(r.stdout);
}

export function parseYamlObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw d.errors[0];
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/**
 * Validates an object against its Kubernetes schema (kubernetes-models: apps/v1/Deployment, v1/Service, ...).
 * Returns false for a kind the package has no model of (a CRD such as Kueue's); throws on a schema violation.
 */
export async function validate(o: K8sObject): Promise<boolean> {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : [undefined, o.apiVersion];
  const path = group ? `kubernetes-models/${group}/${version}/${o.kind}` : `kubernetes-models/${version}/${o.kind}`;
  let Model: (new (data: unknown) => { validate(): void }) | undefined;
  try {
    Model = ((await import(path)) as Record<string, new (data: unknown) => { validate(): void }>)[o.kind];
  } catch {
    return false;
  }
  if (!Model) return false;
  new Model(o).validate();
  return true;
}

/** Containers of a workload (Deployment, StatefulSet, Job) with the pod spec they run in. */
export function containersOf(o: K8sObject): Array<{ pod: K8sObject; container: K8sObject }> {
  const pod = o.spec?.template?.spec;
  if (!pod) return [];
  return [...(pod.initContainers ?? []), ...(pod.containers ?? [])].map((container: K8sObject) => ({ pod, container }));
}

export const workloadKinds = new Set(['Deployment', 'StatefulSet', 'Job', 'DaemonSet']);
