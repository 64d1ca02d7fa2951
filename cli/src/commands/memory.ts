/**
 * `memorize memory import|loss|inspect`. Results go to `out` (one JSON document with --json), diagnostics to
 * stderr. The main CLI wires these functions into commander.
 */
import { SafetensorsReader, initBackend, tf } from '@memorize/tensor';
import { InvalidArgumentError } from '@memorize/errors';
import { checkTokenIds, loadModel, loadTokenizer, resolveTokenizerPath } from '@memorize/lm';
import { checkConfig } from '@memorize/model-host';
import {
  DocKeyMasker,
  baseInfo,
  importPytorchMemory,
  kindLabel,
  lmLoss,
  loadMemory,
  overlapStats,
  pairOverlaps,
  parseKindName,
  saveMemory,
  setSizeStats,
  type GeluVariant,
  type MaskSource,
} from '@memorize/memory';

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

export interface MemoryImportOptions {
  /** Only 'memory' (the unstructured kind) has a bare PyTorch weight convention. */
  kind: string;
  layer: number;
  /** safetensors with up.weight [m,d], up.bias, down.weight [d,m], down.bias, ln.weight, ln.bias, gate. */
  weights: string;
  out: string;
  gelu?: GeluVariant;
  /** Base model whose fingerprint is recorded (else the memory loads into any model of matching width). */
  model?: string;
  json?: boolean;
}

export async function runMemoryImport(opts: MemoryImportOptions, out: NodeJS.WritableStream): Promise<void> {
  const { kind } = parseKindName(opts.kind);
  if (kind !== 'memory') throw new InvalidArgumentError(`--kind: only "memory" imports bare PyTorch weights, got "${opts.kind}"`, 'kind');
  if (!Number.isInteger(opts.layer) || opts.layer < 0) throw new InvalidArgumentError('--layer must be a non-negative integer', 'layer');
  if (opts.gelu !== undefined && opts.gelu !== 'erf' && opts.gelu !== 'tanh') throw new InvalidArgumentError('--gelu must be erf or tanh', 'gelu');
  await initBackend({ logger: log });
  const model = opts.model ? loadModel(opts.model, { checkConfig }) : undefined;
  try {
    const memory = importPytorchMemory(opts.weights, { layer: opts.layer, gelu: opts.gelu, base: model ? baseInfo(model) : undefined });
    try {
      saveMemory(opts.out, memory);
      const summary = {
        out: opts.out,
        kind: memory.config.kind,
        layer: memory.layer,
        d: memory.dim,
        m: memory.config.entries,
        gelu: memory.config.gelu,
        layer_norm: memory.config.layerNorm,
        gate: memory.config.gate,
        base_fingerprint: memory.baseFingerprint ?? null,
      };
      out.write(
        opts.json
          ? `${JSON.stringify(summary)}\n`
          : `wrote ${opts.out}: ${summary.kind} at layer ${summary.layer}, d=${summary.d}, m=${summary.m}, gelu ${summary.gelu}${summary.base_fingerprint ? `, base ${summary.base_fingerprint}` : ', any base model of width ' + summary.d}\n`,
      );
    } finally {
      memory.dispose();
    }
  } finally {
    model?.dispose();
  }
}

export interface MemoryLossOptions {
  model: string;
  tokenizer?: string;
  memory: string;
  text?: string;
  /** Comma-separated ids ("1,2,3") or a list; used as given (no BOS added). */
  tokens?: string | readonly number[];
  grad?: boolean;
  json?: boolean;
  /** Document-wise memories: the corpus document whose mask to use (oracle). */
  document?: number;
  /** oracle | context | all | none (no entry on: text that is no corpus document); unset = the kind's default. */
  maskSource?: MaskSource;
}

export interface MemoryLossResult {
  loss: number;
  tokens: number;
  grad_norms?: Record<string, number>;
  total_grad_norm?: number;
}

function parseTokens(tokens: string | readonly number[]): number[] {
  const ids =
    typeof tokens === 'string'
      ? tokens
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
          .map(Number)
      : [...tokens];
  if (ids.some((id) => !Number.isInteger(id) || id < 0))
    throw new InvalidArgumentError('--tokens must be comma-separated non-negative integers', 'tokens');
  return ids;
}

const MASK_SOURCES: readonly MaskSource[] = ['oracle', 'context', 'all', 'none'];

/** Loss (and gradient norms) of one token sequence under a memory. */
export async function computeMemoryLoss(opts: MemoryLossOptions): Promise<MemoryLossResult> {
  if ((opts.text === undefined) === (opts.tokens === undefined)) throw new InvalidArgumentError('give exactly one of --text and --tokens', 'text');
  if (opts.maskSource !== undefined && !MASK_SOURCES.includes(opts.maskSource)) {
    throw new InvalidArgumentError(
      `--mask-source must be one of ${MASK_SOURCES.join('|')} (none = no entry on), got "${opts.maskSource}"`,
      'maskSource',
    );
  }
  await initBackend({ logger: log });
  const model = loadModel(opts.model, { checkConfig });
  try {
    const memory = loadMemory(opts.memory, baseInfo(model));
    try {
      let ids: number[];
      if (opts.tokens !== undefined) ids = parseTokens(opts.tokens);
      else {
        const tokenizer = await loadTokenizer(resolveTokenizerPath(opts.model, opts.tokenizer), { vocabSize: model.config.vocabSize });
        ids = tokenizer.encode(opts.text!, { bos: true });
      }
      checkTokenIds(ids, model.config.vocabSize, opts.tokens !== undefined ? '--tokens' : '--text', 2);
      const row = { ids, documentIndex: opts.document };
      // Unset: the kind's default (e.g. dlp 'oracle' with --document, else 'none'; simset dim 'oracle' / 'context').
      const maskSource = opts.maskSource ?? memory.defaultMaskSource(opts.document !== undefined);
      log(`memory ${kindLabel(memory.config)} at layer ${memory.layer}, ${ids.length} tokens, mask source ${memory.masker ? maskSource : 'n/a'}`);
      if (!opts.grad) {
        const loss = tf.tidy(() => lmLoss(model, [row], memory, { maskSource }).loss.dataSync()[0]);
        return { loss, tokens: ids.length - 1 };
      }
      const names = new Map([...memory.parameters()].map(([name, p]) => [p.variable.name, name]));
      const { value, grads } = tf.variableGrads(() => lmLoss(model, [row], memory, { maskSource }).loss, memory.variables());
      const gradNorms: Record<string, number> = {};
      let sq = 0;
      for (const [varName, g] of Object.entries(grads)) {
        const s = tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]);
        gradNorms[names.get(varName) ?? varName] = Math.sqrt(s);
        sq += s;
        g.dispose();
      }
      const loss = value.dataSync()[0];
      value.dispose();
      return { loss, tokens: ids.length - 1, grad_norms: gradNorms, total_grad_norm: Math.sqrt(sq) };
    } finally {
      memory.dispose();
    }
  } finally {
    model.dispose();
  }
}

export async function runMemoryLoss(opts: MemoryLossOptions, out: NodeJS.WritableStream): Promise<void> {
  const r = await computeMemoryLoss(opts);
  if (opts.json) {
    out.write(`${JSON.stringify(r)}\n`);
    return;
  }
  out.write(`loss ${r.loss} (${r.tokens} targets)\n`);
  if (r.grad_norms) {
    for (const [name, n] of Object.entries(r.grad_norms)) out.write(`grad ${name} ${n}\n`);
    out.write(`total_grad_norm ${r.total_grad_norm}\n`);
  }
}

export interface MemoryInspection {
  path: string;
  metadata: Record<string, string>;
  tensors: Record<string, number[]>;
  /** Set kinds: their entry sets; doc-key: entries whose gate exceeds 0.5. */
  entrySets?: {
    basis: 'entry sets' | 'doc-key gates > 0.5';
    documents: number;
    mean: number;
    min: number;
    max: number;
    empty: number;
    pairs: number;
    meanOverlap: number;
    sharingPairs: number;
    maxOverlap: number;
  };
}

/** Long metadata fields (per-document lists) are summarised rather than printed whole. */
function summarizeMetadata(md: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md)) out[k] = v.length > 200 ? `${v.slice(0, 120)}... (${v.length} chars)` : v;
  return out;
}

export async function inspectMemory(path: string): Promise<MemoryInspection> {
  await initBackend({ logger: log });
  const reader = new SafetensorsReader(path);
  const tensors: Record<string, number[]> = {};
  let metadata: Record<string, string>;
  try {
    for (const e of reader.header.tensors.values()) tensors[e.name] = e.shape;
    metadata = reader.header.metadata;
  } finally {
    reader.close();
  }
  const memory = loadMemory(path);
  try {
    let sets = memory.entrySets();
    let basis: 'entry sets' | 'doc-key gates > 0.5' = 'entry sets';
    if (!sets && memory.masker instanceof DocKeyMasker) {
      const masker = memory.masker;
      const n = masker.documentCount;
      const gates = tf.tidy(() => masker.generate(tf.tensor2d(masker.keys, [n, memory.config.keyDim])).dataSync() as Float32Array);
      const m = memory.config.entries;
      sets = Array.from({ length: n }, (_, i) => Uint32Array.from([...gates.subarray(i * m, (i + 1) * m)].flatMap((g, j) => (g > 0.5 ? [j] : []))));
      basis = 'doc-key gates > 0.5';
    }
    const result: MemoryInspection = { path, metadata, tensors };
    if (sets) result.entrySets = { basis, ...setSizeStats(sets), ...overlapStats(pairOverlaps(sets)) };
    return result;
  } finally {
    memory.dispose();
  }
}

export async function runMemoryInspect(path: string, out: NodeJS.WritableStream, opts: { json?: boolean } = {}): Promise<void> {
  const r = await inspectMemory(path);
  if (opts.json) {
    out.write(`${JSON.stringify({ ...r, metadata: summarizeMetadata(r.metadata) })}\n`);
    return;
  }
  out.write(`${path}\n`);
  for (const [k, v] of Object.entries(summarizeMetadata(r.metadata))) out.write(`  ${k}: ${v}\n`);
  out.write('tensors\n');
  for (const [k, s] of Object.entries(r.tensors)) out.write(`  ${k} [${s.join(', ')}]\n`);
  const e = r.entrySets;
  if (e) {
    out.write(`entry sets (${e.basis}): ${e.documents} documents, size mean ${e.mean.toFixed(2)} min ${e.min} max ${e.max}, ${e.empty} empty\n`);
    out.write(`overlap: ${e.pairs} pairs, mean ${e.meanOverlap.toFixed(3)}, ${e.sharingPairs} pairs share entries, max ${e.maxOverlap}\n`);
  }
}
