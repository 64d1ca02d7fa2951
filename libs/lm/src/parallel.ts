/**
 * Data parallelism over worker threads. tfjs-backend-wasm runs one thread in Node, so a batch only uses one
 * core; a ParallelModel starts workers that each hold their own tfjs engine, wasm backend and a copy of the
 * model's weights, runs a share of the batch's rows on each, and combines the results on the calling thread.
 *
 * Hooks are closures and cannot cross threads, so trainable hooks are described by a HookSpec: an ES module
 * exporting `createHook(params)` plus the parameter values. Gradients of the summed token loss come back per
 * worker and are added here, so the result is the gradient of the whole batch's mean loss.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { tf } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';
import type { ModelConfig } from './config.js';
import { FrozenLinear } from './layers.js';
import { TransformerModel, type ModelWeights, type Norm, type TokenRows } from './model.js';
import type { ScoreRequest, ScoreResult } from './scoring.js';

export interface ArrayTensor {
  data: Float32Array;
  shape: number[];
}

/** A model's runtime weights as plain arrays, to rebuild an identical model in another thread. */
export interface ModelSnapshot {
  config: ModelConfig;
  fingerprint: string;
  tensors: Record<string, ArrayTensor>;
}

const LINEARS = ['qkv', 'out', 'gate', 'up', 'down'] as const;

export function snapshotModel(model: TransformerModel): ModelSnapshot {
  const tensors: Record<string, ArrayTensor> = {};
  const put = (name: string, t: tf.Tensor | undefined) => {
    if (t) tensors[name] = { data: t.dataSync() as Float32Array, shape: [...t.shape] };
  };
  const putNorm = (name: string, n: Norm) => {
    put(`${name}.weight`, n.weight);
    put(`${name}.bias`, n.bias);
  };
  const putLinear = (name: string, l: FrozenLinear | undefined) => {
    put(`${name}.w`, l?.w);
    put(`${name}.b`, l?.b);
  };
  const w = model.weights;
  put('embed', w.embed);
  putNorm('finalNorm', w.finalNorm);
  putLinear('classifier', w.classifier);
  w.blocks.forEach((blk, i) => {
    putNorm(`blocks.${i}.attnNorm`, blk.attnNorm);
    putNorm(`blocks.${i}.mlpNorm`, blk.mlpNorm);
    for (const l of LINEARS) putLinear(`blocks.${i}.${l}`, blk[l]);
  });
  return { config: model.config, fingerprint: model.fingerprint, tensors };
}

export function modelFromSnapshot(s: ModelSnapshot): TransformerModel {
  const t = (name: string) => {
    const a = s.tensors[name];
    return a ? tf.tensor(a.data, a.shape) : undefined;
  };
  const norm = (name: string): Norm => ({ weight: t(`${name}.weight`) as tf.Tensor1D, bias: t(`${name}.bias`) as tf.Tensor1D | undefined });
  const linear = (name: string) => {
    const w = t(`${name}.w`);
    return w ? new FrozenLinear(w as tf.Tensor2D, t(`${name}.b`) as tf.Tensor1D | undefined) : undefined;
  };
  const weights: ModelWeights = {
    embed: t('embed') as tf.Tensor2D,
    finalNorm: norm('finalNorm'),
    classifier: linear('classifier')!,
    blocks: Array.from({ length: s.config.nLayers }, (_, i) => ({
      attnNorm: norm(`blocks.${i}.attnNorm`),
      mlpNorm: norm(`blocks.${i}.mlpNorm`),
      qkv: linear(`blocks.${i}.qkv`)!,
      out: linear(`blocks.${i}.out`)!,
      gate: linear(`blocks.${i}.gate`),
      up: linear(`blocks.${i}.up`)!,
      down: linear(`blocks.${i}.down`)!,
    })),
  };
  return new TransformerModel(s.config, weights, s.fingerprint);
}

/**
 * A trainable hook that workers can rebuild: `module` (file URL or absolute path) exports
 * `createHook(params: Record<string, tf.Tensor>): LayerHook`, applied after block `layer`.
 */
export interface HookSpec {
  module: string;
  layer: number;
  params: Record<string, ArrayTensor>;
}

export interface ParallelLossOptions {
  attentionMask?: TokenRows;
  targetMask?: TokenRows;
}

export interface ParallelLossResult {
  /** Mean next-token cross-entropy over all counted targets of the batch. */
  loss: number;
  /** Mean cross-entropy per row (0 for rows without targets). */
  perRow: number[];
  tokenCounts: number[];
  /** d loss / d param for each HookSpec parameter (empty without a hook). */
  grads: Record<string, ArrayTensor>;
}

export interface ParallelModelOptions {
  /** Worker count (default: available cores, at least 1). */
  workers?: number;
  /** tfjs backend in the workers (default 'wasm'). */
  backend?: 'wasm' | 'cpu';
}

type Request =
  | { op: 'init'; snapshot: ModelSnapshot; backend: string }
  | { op: 'forward'; tokens: number[][]; attentionMask?: number[][] }
  | { op: 'loss'; tokens: number[][]; attentionMask?: number[][]; targetMask?: number[][]; hook?: HookSpec }
  | { op: 'score'; requests: ScoreRequest[]; batchSize?: number; padId?: number };

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

class WorkerHandle {
  private next = 0;
  private readonly pending = new Map<number, Pending>();
  private exited: Error | undefined;
  constructor(readonly worker: Worker) {
    worker.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`parallel worker: ${m.error}`));
    });
    worker.on('error', (e) => this.failAll(e));
    // A worker that dies (or is terminated) settles every pending call instead of leaving it hanging.
    worker.on('exit', (code) => {
      this.exited = new Error(`parallel worker exited (code ${code})`);
      this.failAll(this.exited);
    });
  }
  private failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
  call<T>(req: Request): Promise<T> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, req });
    });
  }
}

/** Splits n rows into at most k contiguous, nearly equal [start, end) ranges (no empty ones). */
export function shardRows(n: number, k: number): [number, number][] {
  const parts = Math.max(1, Math.min(k, n));
  const out: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const size = Math.floor(n / parts) + (i < n % parts ? 1 : 0);
    out.push([start, start + size]);
    start += size;
  }
  return out;
}

function workerUrl(): URL {
  return new URL('./parallel-worker-boot.mjs', import.meta.url);
}

export class ParallelModel {
  private constructor(
    readonly config: ModelConfig,
    private readonly workers: WorkerHandle[],
  ) {}

  get workerCount(): number {
    return this.workers.length;
  }

  /** Starts the workers and loads the model's weights into each (about a second per worker). */
  static async create(model: TransformerModel, options: ParallelModelOptions = {}): Promise<ParallelModel> {
    const n = options.workers ?? Math.max(1, availableParallelism());
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('workers must be a positive integer', 'workers');
    const snapshot = snapshotModel(model);
    const url = workerUrl();
    const handles = Array.from({ length: n }, () => new WorkerHandle(new Worker(url)));
    const pm = new ParallelModel(model.config, handles);
    try {
      await Promise.all(handles.map((h) => h.call({ op: 'init', snapshot, backend: options.backend ?? 'wasm' })));
    } catch (e) {
      await pm.dispose();
      throw e;
    }
    return pm;
  }

  /** Logits [B, T, vocab] of the rows (as TransformerModel.forward without cache or hooks), as a flat array. */
  async forward(tokens: TokenRows, options: { attentionMask?: TokenRows } = {}): Promise<ArrayTensor> {
    const shards = shardRows(tokens.length, this.workers.length);
    const parts = await Promise.all(
      shards.map(([s, e], i) =>
        this.workers[i].call<ArrayTensor>({
          op: 'forward',
          tokens: tokens.slice(s, e).map((r) => [...r]),
          attentionMask: options.attentionMask?.slice(s, e).map((r) => [...r]),
        }),
      ),
    );
    const shape = [tokens.length, ...parts[0].shape.slice(1)];
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    let offset = 0;
    for (const p of parts) {
      data.set(p.data, offset);
      offset += p.data.length;
    }
    return { data, shape };
  }

  /** scoreContinuations with the requests spread over the workers (no hooks); results in request order. */
  async scoreContinuations(requests: readonly ScoreRequest[], options: { batchSize?: number; padId?: number } = {}): Promise<ScoreResult[]> {
    if (requests.length === 0) return [];
    const shards = shardRows(requests.length, this.workers.length);
    const parts = await Promise.all(
      shards.map(([s, e], i) =>
        this.workers[i].call<ScoreResult[]>({
          op: 'score',
          requests: requests.slice(s, e).map((r) => ({ context: [...r.context], continuation: [...r.continuation] })),
          ...options,
        }),
      ),
    );
    return parts.flat();
  }

  /**
   * documentLoss of the rows with gradients into the hook's parameters, rows split across workers. The
   * loss and gradients equal those of one documentLoss over the whole batch (up to float summation order).
   */
  async documentLossGradients(tokens: TokenRows, hook: HookSpec | undefined, options: ParallelLossOptions = {}): Promise<ParallelLossResult> {
    if (tokens.length === 0) throw new InvalidArgumentError('tokens: empty batch', 'tokens');
    const shards = shardRows(tokens.length, this.workers.length);
    const parts = await Promise.all(
      shards.map(([s, e], i) =>
        this.workers[i].call<{ lossSum: number; perRow: number[]; tokenCounts: number[]; grads: Record<string, ArrayTensor> }>({
          op: 'loss',
          tokens: tokens.slice(s, e).map((r) => [...r]),
          attentionMask: options.attentionMask?.slice(s, e).map((r) => [...r]),
          targetMask: options.targetMask?.slice(s, e).map((r) => [...r]),
          hook,
        }),
      ),
    );
    const tokenCounts = parts.flatMap((p) => p.tokenCounts);
    const total = tokenCounts.reduce((a, b) => a + b, 0);
    if (total === 0) throw new InvalidArgumentError('no target tokens after masking', 'attentionMask');
    const grads: Record<string, ArrayTensor> = {};
    for (const p of parts) {
      for (const [name, g] of Object.entries(p.grads)) {
        const acc = (grads[name] ??= { data: new Float32Array(g.data.length), shape: g.shape });
        for (let j = 0; j < g.data.length; j++) acc.data[j] += g.data[j] / total;
      }
    }
    return { loss: parts.reduce((a, p) => a + p.lossSum, 0) / total, perRow: parts.flatMap((p) => p.perRow), tokenCounts, grads };
  }

  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((h) => h.worker.terminate()));
  }
}
