/**
 * Sweeps on a Kubernetes cluster. `memorize cluster sweep --config F --out DIR` writes a ConfigMap holding the
 * sweep config and an Indexed Job with one completion per cell (libs/eval's planCells: each variant without a
 * memory once, then each memory variant at every layer), labelled for a Kueue LocalQueue. Each pod runs
 * `memorize cluster cell`: it parses the mounted config, calls StartSweep with cell = $JOB_COMPLETION_INDEX
 * (the first call creates the sweep, the last cell to end finishes it) and waits for its cell to end; results stay
 * in the evaluator's store, so `memorize report ID` assembles the table.
 *
 * On the cluster, config paths are the pods' paths (model-host's /models, data's /data): the config is parsed
 * with "/" as its folder, so an absolute path is sent as written.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { common, evaluator } from '@memorize/contracts';
import { InvalidArgumentError, MemorizeError } from '@memorize/errors';
import { cellKey, planCells } from '@memorize/eval';
import { callUnary, connect } from '@memorize/service-kit';
import { CliFailure, serviceError, type Out } from '../client.js';
import { parseSweepConfig } from '../eval-config.js';
import { fromFlag } from '../flags.js';
import { stateName } from '../progress.js';

/** Where the pods mount the sweep config. */
export const SWEEP_CONFIG_DIR = '/etc/memorize/sweep';
export const SWEEP_CONFIG_FILE = 'sweep.yaml';
/** The folder cluster configs resolve relative paths against. */
export const CLUSTER_BASE_DIR = '/';

export interface ClusterSweepOptions {
  /** Default: "sweep-" + the first 10 hex digits of the config's SHA-256. */
  sweepId?: string;
  namespace?: string;
  /** The image the cell pods run (the evaluator's image has the command). */
  image?: string;
  /** Kueue LocalQueue (kueue.x-k8s.io/queue-name). */
  queue?: string;
  /** The evaluator's address as the pods reach it. */
  evaluator?: string;
  /** Pods at once; default every cell. */
  parallelism?: number;
}

export const CLUSTER_DEFAULTS = {
  namespace: 'memorize',
  image: 'memorize/evaluator:0.1.0',
  queue: 'memorize',
  evaluator: 'evaluator:50054',
};

/** One index of the Job: the cell it runs. */
export interface PlannedCell {
  index: number;
  variant: string;
  /** -1 for a variant without a memory. */
  layer: number;
  key: string;
}

export interface SweepPlan {
  sweepId: string;
  cells: PlannedCell[];
  configMap: Record<string, unknown>;
  job: Record<string, unknown>;
  kustomization: Record<string, unknown>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;

/** The cells of a sweep spec by Job index. */
export function plannedCells(spec: evaluator.SweepSpec): PlannedCell[] {
  return planCells(spec).map((c, index) => ({ index, variant: c.variant.name, layer: c.layer, key: cellKey(c.variant.name, c.layer) }));
}

/** Parses a cluster sweep config's text (paths against "/"). */
export function parseClusterSweep(text: string, file: string): evaluator.SweepSpec {
  return parseSweepConfig(text, file, CLUSTER_BASE_DIR).spec;
}

/** The ConfigMap, the Indexed Job and a kustomization for the sweep config `text` (from `file`). */
export function sweepManifests(text: string, file: string, options: ClusterSweepOptions = {}): SweepPlan {
  const spec = parseClusterSweep(text, file);
  const cells = plannedCells(spec);
  const sweepId = options.sweepId ?? `sweep-${createHash('sha256').update(text).digest('hex').slice(0, 10)}`;
  if (!DNS_LABEL.test(sweepId))
    throw new InvalidArgumentError(
      `--sweep-id must be lower-case letters, digits and '-' (at most 40), got ${JSON.stringify(sweepId)}`,
      '--sweep-id',
    );
  const namespace = options.namespace ?? CLUSTER_DEFAULTS.namespace;
  const parallelism = Math.min(options.parallelism ?? cells.length, cells.length);
  const labels = { 'app.kubernetes.io/part-of': 'memorize', 'app.kubernetes.io/component': 'sweep', 'memorize.dev/sweep-id': sweepId };
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: sweepId, namespace, labels },
    data: { [SWEEP_CONFIG_FILE]: text },
  };
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: sweepId, namespace, labels: { ...labels, 'kueue.x-k8s.io/queue-name': options.queue ?? CLUSTER_DEFAULTS.queue } },
    spec: {
      completionMode: 'Indexed',
      completions: cells.length,
      parallelism,
      // A failed cell is retried on its own; the others go on. A retried cell resumes (a finished one is kept).
      backoffLimitPerIndex: 2,
      maxFailedIndexes: cells.length,
      ttlSecondsAfterFinished: 7 * 24 * 3600,
      template: {
        metadata: {
          labels: { ...labels, 'memorize.dev/client': 'true' },
          annotations: { 'memorize.dev/cells': cells.map((c) => `${c.index}=${c.key}`).join(',') },
        },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'cell',
              image: options.image ?? CLUSTER_DEFAULTS.image,
              // JOB_COMPLETION_INDEX is set by Kubernetes in every pod of an Indexed Job.
              args: [
                'cluster',
                'cell',
                '--config',
                `${SWEEP_CONFIG_DIR}/${SWEEP_CONFIG_FILE}`,
                '--sweep-id',
                sweepId,
                '--evaluator',
                options.evaluator ?? CLUSTER_DEFAULTS.evaluator,
              ],
              resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'sweep', mountPath: SWEEP_CONFIG_DIR, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'sweep', configMap: { name: sweepId } },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
          ],
        },
      },
    },
  };
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: ['configmap.yaml', 'job.yaml'],
  };
  return { sweepId, cells, configMap, job, kustomization };
}

const header = (file: string, plan: SweepPlan): string =>
  `# Written by memorize cluster sweep --config ${basename(file)}: sweep ${plan.sweepId}, ${plan.cells.length} cells\n` +
  plan.cells.map((c) => `#   index ${c.index}: ${c.key}\n`).join('');

/** Writes DIR/configmap.yaml, DIR/job.yaml and DIR/kustomization.yaml; `kubectl apply -k DIR` starts the sweep. */
export async function writeSweepPlan(
  configFile: string,
  outDir: string,
  options: ClusterSweepOptions = {},
): Promise<SweepPlan & { files: string[] }> {
  const text = await fromFlag('--config', () => readFileSync(configFile, 'utf8'));
  const plan = sweepManifests(text, configFile, options);
  const dir = resolve(outDir);
  const files = await fromFlag('--out', () => {
    mkdirSync(dir, { recursive: true });
    const written: Array<[string, unknown]> = [
      ['configmap.yaml', plan.configMap],
      ['job.yaml', plan.job],
      ['kustomization.yaml', plan.kustomization],
    ];
    return written.map(([name, object]) => {
      const path = join(dir, name);
      writeFileSync(path, header(configFile, plan) + stringify(object, { lineWidth: 0 }));
      return path;
    });
  });
  return { ...plan, files };
}

export async function runClusterSweep(
  configFile: string,
  outDir: string,
  options: ClusterSweepOptions & { json?: boolean },
  out: Out,
): Promise<void> {
  const plan = await writeSweepPlan(configFile, outDir, options);
  if (options.json) {
    out.write(`${JSON.stringify({ sweep_id: plan.sweepId, completions: plan.cells.length, cells: plan.cells, files: plan.files })}\n`);
    return;
  }
  out.write(`sweep ${plan.sweepId}: ${plan.cells.length} cells (Indexed Job completions)\n`);
  for (const c of plan.cells) out.write(`  ${c.index}  ${c.key}\n`);
  out.write(`wrote ${plan.files.join(', ')}\nstart it: kubectl apply -k ${outDir}\n`);
}

export interface CellOptions {
  config: string;
  sweepId: string;
  evaluator?: string;
  /** Default $JOB_COMPLETION_INDEX. */
  index?: string;
  /** Poll interval, ms (default 10 s). */
  pollMs?: number;
  /** How long the evaluator may take to answer at first, ms (default 5 min). */
  connectWaitMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const UNAVAILABLE = 14;

/**
 * One pod of the Job: StartSweep with this index's cell, then GetSweep every pollMs until the cell ends. Exits 0
 * when it succeeded, 1 when it failed or was cancelled (so the Job retries the index).
 */
export async function runCell(options: CellOptions, out: Out, err: Out): Promise<void> {
  const raw = options.index ?? process.env.JOB_COMPLETION_INDEX;
  const index = Number(raw);
  if (raw === undefined || !Number.isInteger(index) || index < 0)
    throw new InvalidArgumentError(`--index (or JOB_COMPLETION_INDEX) must be a cell index, got ${JSON.stringify(raw ?? null)}`, '--index');
  const text = await fromFlag('--config', () => readFileSync(options.config, 'utf8'));
  const spec = await fromFlag('--config', () => parseClusterSweep(text, options.config));
  const cells = plannedCells(spec);
  if (index >= cells.length)
    throw new InvalidArgumentError(`--index ${index}: the sweep has ${cells.length} cells (0..${cells.length - 1})`, '--index');
  const cell = cells[index];
  const address = options.evaluator ?? CLUSTER_DEFAULTS.evaluator;
  const client = connect(evaluator.EvaluatorClient, address);
  const pollMs = options.pollMs ?? 10_000;
  try {
    err.write(`cell ${index} of ${cells.length} (${cell.key}) of sweep ${options.sweepId} on ${address}\n`);
    const deadline = Date.now() + (options.connectWaitMs ?? 300_000);
    for (;;) {
      try {
        await callUnary(client, client.startSweep, { sweepId: options.sweepId, spec, cell: index }, 60_000);
        break;
      } catch (error) {
        if ((error as { code?: number }).code !== UNAVAILABLE || Date.now() > deadline) throw failure(error, address);
        await sleep(Math.min(pollMs, 5000));
      }
    }
    for (;;) {
      let sweep: evaluator.Sweep;
      try {
        sweep = (await callUnary(client, client.getSweep, { sweepId: options.sweepId }, 60_000)).sweep!;
      } catch (error) {
        if ((error as { code?: number }).code !== UNAVAILABLE) throw failure(error, address);
        await sleep(pollMs);
        continue;
      }
      const state = sweep.cells.find((c) => c.variant === cell.variant && c.layer === cell.layer)?.state ?? common.JobState.JOB_STATE_QUEUED;
      if (state === common.JobState.JOB_STATE_SUCCEEDED) {
        out.write(
          `${JSON.stringify({ sweep_id: options.sweepId, index, cell: cell.key, state: stateName(state), sweep_state: stateName(sweep.state) })}\n`,
        );
        return;
      }
      if (state === common.JobState.JOB_STATE_FAILED || state === common.JobState.JOB_STATE_CANCELLED) {
        const error = sweep.cells.find((c) => c.variant === cell.variant && c.layer === cell.layer)?.error ?? '';
        throw new CliFailure(`cell ${index} (${cell.key}) of sweep ${options.sweepId} ${stateName(state)}${error ? `: ${error}` : ''}`);
      }
      await sleep(pollMs);
    }
  } finally {
    client.close();
  }
}

function failure(error: unknown, address: string): Error {
  return error instanceof MemorizeError || error instanceof CliFailure ? error : serviceError(error, 'evaluator', address);
}
