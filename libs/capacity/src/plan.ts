/**
 * The capacity plan of a model: from its configuration alone (config.json or a llama2.c header, no weights read)
 * the bytes of the weights, the activations of a scoring pass and of a memory train step at a batch and length, the
 * KV cache of generation, the memory's parameters with their gradients and AdamW moments, and from them the GPU
 * memory to ask for and the Kubernetes resources of a model-host holding the model.
 *
 * The parameter count and the weight and RoPE bytes are @memorize/validation's estimateModelBytes (the check
 * model-host runs before loading); the memory's tensors are @memorize/memory's mlpFileLayout at its defaults.
 * Activation figures model tfjs: a scoring pass keeps one layer's intermediates at a time (plus the context's KV
 * cache); a train step runs the whole forward inside tf.variableGrads, whose tape holds every layer's
 * intermediates until the gradients are taken.
 */
import { closeSync, openSync, readSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '@memorize/errors';
import { configFromHf, llama2cLayout, type ModelConfig } from '@memorize/lm';
import { MEMORY_DEFAULTS, mlpFileLayout } from '@memorize/memory';
import { estimateModelBytes } from '@memorize/validation';

export type PlanDtype = 'float32' | 'float16';

export interface PlanOptions {
  /** Rows per scoring pass and per train step; default 4 (the reference batch). */
  batch?: number;
  /** Tokens per row; default 512. */
  seq?: number;
  /** The memory's entries (m); default the memory default, 128. */
  memoryEntries?: number;
  /**
   * Element type of weights and activations; default float32, what tfjs computes in (float16 is a what-if for
   * another runtime: model-host's model cache budget stays the float32 one).
   */
  dtype?: PlanDtype;
}

export const PLAN_DEFAULTS = { batch: 4, seq: 512, dtype: 'float32' as PlanDtype };

/** GPU memory sizes offered by common data-centre cards, GiB, with examples. */
export const GPU_SIZES: ReadonlyArray<{ gib: number; examples: string }> = [
  { gib: 16, examples: 'T4, V100-16GB' },
  { gib: 24, examples: 'L4, A10G' },
  { gib: 40, examples: 'A100-40GB' },
  { gib: 48, examples: 'L40S, A6000' },
  { gib: 80, examples: 'A100-80GB, H100-80GB' },
  { gib: 141, examples: 'H200' },
];

/** Fraction added to the peak for the allocator's fragmentation and the framework's own buffers. */
export const GPU_HEADROOM = 0.1;
/** CUDA context, cuDNN/cuBLAS workspaces: bytes no tensor accounts for. */
export const GPU_RESERVED_BYTES = 2 * 2 ** 30;
/** Host memory a model-host needs beside the weights it stages while loading (Node heap, gRPC, tokenizer). */
export const HOST_OVERHEAD_BYTES = 4 * 2 ** 30;

const GIB = 2 ** 30;

export interface CapacityPlan {
  /** Where the configuration came from. */
  source: string;
  model: Pick<ModelConfig, 'arch' | 'dim' | 'nLayers' | 'nHeads' | 'nKvHeads' | 'headDim' | 'hiddenDim' | 'vocabSize' | 'maxSeqLen'>;
  batch: number;
  seq: number;
  memoryEntries: number;
  dtype: PlanDtype;
  bytesPerElement: number;
  /** Parameters of the base model. */
  parameters: number;
  /** Parameters of the memory (an MLP of memoryEntries hidden units at the defaults: layer norm, gate). */
  memoryParameters: number;
  bytes: {
    weights: number;
    rope: number;
    /** Peak intermediates of one scoring pass of batch x seq (no gradient), plus its context's KV cache. */
    scoringActivations: number;
    /** Intermediates a memory train step of batch x seq holds: every layer's, on the gradient tape. */
    trainActivations: number;
    /** KV cache of generating batch rows up to seq tokens. */
    kvCache: number;
    /** The memory's parameters, their gradients and AdamW's two moments (float32, as the optimizer keeps them). */
    memoryState: number;
    /** weights + rope + memoryState + the largest of the three workloads. */
    peak: number;
  };
  /** The peak with headroom and the reserved bytes: what the GPU must hold. */
  gpuBytes: number;
  /** The smallest common GPU size that holds gpuBytes (null if none of GPU_SIZES does). */
  gpu: { gib: number; examples: string } | null;
  /** Resources of a model-host holding the model (strings as Kubernetes takes them). */
  kubernetes: {
    requests: { cpu: string; memory: string; 'nvidia.com/gpu': string };
    limits: { cpu: string; memory: string; 'nvidia.com/gpu': string };
    /** GPU nodes to select: nvidia.com/gpu.memory (GPU feature discovery, MiB) must be at least this. */
    minGpuMemoryMib: number;
    /** model-host's --model-cache-bytes (MEMORIZE_MODEL_HOST_MODEL_CACHE_BYTES): the weights and RoPE tables fit. */
    modelCacheBytes: number;
  };
}

function positive(value: number | undefined, fallback: number, field: string, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > max)
    throw new InvalidArgumentError(`${field} must be an integer in 1..${max}, got ${String(value)}`, field);
  return v;
}

/** The model configuration at a path: an HF folder or its config.json, or a llama2.c .bin (its header only). */
export function readModelConfig(path: string): { config: ModelConfig; source: string } {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new NotFoundError(`${path}: no such file or folder`, 'model');
  }
  const file = stat.isDirectory() ? join(path, 'config.json') : path;
  if (file.endsWith('.bin')) {
    const fd = openSync(file, 'r');
    try {
      const header = new Int32Array(7);
      if (readSync(fd, header, 0, 28, 0) !== 28) throw new InvalidArgumentError(`${file}: shorter than a llama2.c header`, 'model');
      return { config: llama2cLayout(header, file).config, source: file };
    } finally {
      closeSync(fd);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`${path}: no config.json`, 'model');
    throw new InvalidArgumentError(`${file}: not JSON (${(err as Error).message})`, 'model');
  }
  return { config: configFromHf(json as Parameters<typeof configFromHf>[0]), source: file };
}

const ceilGiB = (bytes: number): number => Math.ceil(bytes / GIB);

/** The capacity plan of `config` (see the module comment for what each figure counts). */
export function planCapacity(config: ModelConfig, options: PlanOptions = {}, source = 'config'): CapacityPlan {
  const batch = positive(options.batch, PLAN_DEFAULTS.batch, 'batch', 4096);
  const seq = positive(options.seq, PLAN_DEFAULTS.seq, 'seq', config.maxSeqLen);
  const memoryEntries = positive(options.memoryEntries, MEMORY_DEFAULTS.entries, 'memoryEntries', 65536);
  const dtype = options.dtype ?? PLAN_DEFAULTS.dtype;
  if (dtype !== 'float32' && dtype !== 'float16') throw new InvalidArgumentError(`dtype must be float32 or float16, got ${String(dtype)}`, 'dtype');
  const el = dtype === 'float32' ? 4 : 2;

  const { parameters, ropeBytes, weightAndRopeBytes } = estimateModelBytes(config);
  const { dim: d, nHeads: h, hiddenDim: f, vocabSize: v, nLayers } = config;
  const q = config.nHeads * config.headDim;
  const kv = config.nKvHeads * config.headDim;
  const rows = batch * seq;
  const scores = batch * h * seq * seq;

  // One layer's intermediates in a pass without gradients: attention (input, normed, q, k, v, output; scores and
  // probabilities), the MLP (input, normed, gate, up, gated product), the head (last hidden, logits, log-softmax).
  const attention = rows * (2 * d + 2 * q + 2 * kv) + 2 * scores;
  const mlp = rows * (2 * d + 3 * f);
  const head = rows * (d + 2 * v);
  const kvCacheElements = 2 * nLayers * rows * kv;
  const scoringElements = Math.max(attention, mlp, head) + kvCacheElements;
  // The tape of a train step: per layer its inputs, norms, q/k/v, probabilities, attention output, residual,
  // MLP gate/up/product; then logits, log-softmax and their gradient; the backward's transients ~ one layer's.
  const perLayer = rows * (4 * d + 2 * q + 2 * kv + 3 * f) + scores;
  const trainElements = nLayers * perLayer + 3 * rows * v + perLayer + rows * 3 * memoryEntries;

  const layout = mlpFileLayout({ d, m: memoryEntries, layerNorm: MEMORY_DEFAULTS.layerNorm, gate: MEMORY_DEFAULTS.gate });
  const memoryParameters = [...layout.values()].reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);

  const weights = parameters * el;
  const rope = (ropeBytes / 4) * el;
  const memoryState = memoryParameters * 4 * 4;
  const scoringActivations = scoringElements * el;
  const trainActivations = trainElements * el;
  const kvCache = kvCacheElements * el + batch * 2 * v * el;
  const peak = weights + rope + memoryState + Math.max(scoringActivations, trainActivations, kvCache);
  const gpuBytes = Math.ceil(peak * (1 + GPU_HEADROOM) + GPU_RESERVED_BYTES);
  const gpu = GPU_SIZES.find((g) => g.gib * GIB >= gpuBytes) ?? null;
  // The host stages the weights as float32 arrays (tfjs uploads from them) while loading.
  const hostMemory = `${ceilGiB(parameters * 4 + ropeBytes + HOST_OVERHEAD_BYTES)}Gi`;
  // model-host holds float32 weights whatever --dtype says, and checks them against this budget before loading.
  const modelCacheBytes = ceilGiB(weightAndRopeBytes) * GIB;
  return {
    source,
    model: {
      arch: config.arch,
      dim: d,
      nLayers,
      nHeads: h,
      nKvHeads: config.nKvHeads,
      headDim: config.headDim,
      hiddenDim: f,
      vocabSize: v,
      maxSeqLen: config.maxSeqLen,
    },
    batch,
    seq,
    memoryEntries,
    dtype,
    bytesPerElement: el,
    parameters,
    memoryParameters,
    bytes: { weights, rope, scoringActivations, trainActivations, kvCache, memoryState, peak },
    gpuBytes,
    gpu,
    kubernetes: {
      requests: { cpu: '4', memory: hostMemory, 'nvidia.com/gpu': '1' },
      limits: { cpu: '8', memory: hostMemory, 'nvidia.com/gpu': '1' },
      minGpuMemoryMib: Math.ceil(gpuBytes / 2 ** 20),
      modelCacheBytes,
    },
  };
}

const gb = (n: number): string => `${(n / 1e9).toFixed(2)} GB`;
const gib = (n: number): string => (n < GIB ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / GIB).toFixed(2)} GiB`);

/** The plan as a table (what `memorize plan` prints without --json). */
export function formatPlan(p: CapacityPlan): string {
  const m = p.model;
  const rows: Array<[string, string, string]> = [
    ['parameters', `${p.parameters.toLocaleString('en-US')} (${(p.parameters / 1e9).toFixed(3)} B)`, ''],
    ['weights', gib(p.bytes.weights), `${gb(p.bytes.weights)}; ${p.dtype}`],
    ['RoPE tables', gib(p.bytes.rope), `${m.maxSeqLen} positions`],
    ['scoring activations', gib(p.bytes.scoringActivations), `batch ${p.batch} x ${p.seq} tokens, with the context's KV cache`],
    ['memory train step activations', gib(p.bytes.trainActivations), `batch ${p.batch} x ${p.seq} tokens, every layer on the tape`],
    ['KV cache (generation)', gib(p.bytes.kvCache), `batch ${p.batch} up to ${p.seq} tokens`],
    [
      'memory state',
      gib(p.bytes.memoryState),
      `${p.memoryParameters.toLocaleString('en-US')} parameters (m=${p.memoryEntries}) + gradients + AdamW moments, float32`,
    ],
    ['peak', gib(p.bytes.peak), 'weights + RoPE + memory state + the largest workload'],
    ['GPU memory needed', gib(p.gpuBytes), `peak + ${GPU_HEADROOM * 100}% + ${GPU_RESERVED_BYTES / GIB} GiB CUDA context`],
    ['recommended GPU', p.gpu ? `${p.gpu.gib} GB` : 'none fits one GPU', p.gpu ? p.gpu.examples : 'shard the model or use --dtype float16'],
    [
      'model-host requests',
      `cpu ${p.kubernetes.requests.cpu}, memory ${p.kubernetes.requests.memory}, nvidia.com/gpu 1`,
      `limits cpu ${p.kubernetes.limits.cpu}, memory ${p.kubernetes.limits.memory}`,
    ],
    ['GPU nodes', `nvidia.com/gpu.memory >= ${p.kubernetes.minGpuMemoryMib} MiB`, ''],
    ['--model-cache-bytes', `${p.kubernetes.modelCacheBytes}`, gib(p.kubernetes.modelCacheBytes)],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const head = `${p.source}: ${m.arch}, ${m.nLayers} layers, dim ${m.dim}, ${m.nHeads} heads (${m.nKvHeads} KV), hidden ${m.hiddenDim}, vocab ${m.vocabSize}`;
  return [head, ...rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`.trimEnd())].join('\n') + '\n';
}

/**
 * The gpu overlay's patch of model-host from a plan (`memorize plan --kustomize`): resources, the model cache
 * budget, and GPU nodes with at least the GPU memory the plan needs (GPU feature discovery's nvidia.com/gpu.memory,
 * MiB).
 */
export function kustomizePatch(p: CapacityPlan): string {
  const k = p.kubernetes;
  const resources = (r: CapacityPlan['kubernetes']['requests']): string =>
    `              cpu: '${r.cpu}'\n              memory: ${r.memory}\n              nvidia.com/gpu: '${r['nvidia.com/gpu']}'`;
  return `# Generated by memorize plan --model ${p.source} --batch ${p.batch} --seq ${p.seq} --memory-entries ${p.memoryEntries} --dtype ${p.dtype} --kustomize
# ${p.parameters} parameters; GPU memory needed ${(p.gpuBytes / GIB).toFixed(2)} GiB (${p.gpu ? `${p.gpu.gib} GB: ${p.gpu.examples}` : 'no single GPU'}).
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: model-host
spec:
  template:
    spec:
      containers:
        - name: model-host
          env:
            - name: MEMORIZE_MODEL_HOST_MODEL_CACHE_BYTES
              value: '${k.modelCacheBytes}'
          resources:
            requests:
${resources(k.requests)}
            limits:
${resources(k.limits)}
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - key: nvidia.com/gpu.memory
                    operator: Gt
                    values: ['${k.minGpuMemoryMib - 1}']
`;
}
