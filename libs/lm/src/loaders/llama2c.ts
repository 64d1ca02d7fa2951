/**
 * llama2.c checkpoints (legacy version 0): a header of 7 int32 (dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, vocab_size, seq_len; a negative vocab_size means the classifier is stored separately), then
 * float32 weights: token embedding, per-layer stacks (rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3),
 * rms_final, the legacy freq_cis tables (skipped), and the classifier when not shared.
 * Matrices are [out, in] like PyTorch's. q/k keep llama2.c's interleaved RoPE pairing (the HF export
 * permutes them for rotate_half instead), so the model runs with ropeStyle 'interleaved'.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { InvalidArgumentError } from '@memorize/errors';
import { openRegularFile } from '@memorize/files';
import { LLAMA2C_HEADER_FIELDS, validateConfig, type ModelConfig } from '../config.js';
import type { LoadModelOptions } from './options.js';
import type { TransformerModel } from '../model.js';
import { buildSteps, runSteps, type RawTensor, type WeightSource } from '../weights.js';

const HEADER_BYTES = 28;
const VERSIONED_MAGIC = 0x616b3432; // "ak42": llama2.c's newer versioned export

interface Segment {
  /** HF name the segment maps to. */
  name: string;
  /** llama2.c name, for error messages. */
  label: string;
  offset: number;
  shape: number[];
}

export interface Llama2cLayout {
  config: ModelConfig;
  sharedClassifier: boolean;
  segments: Map<string, Segment>;
  expectedBytes: number;
}

/** Computes the config and every tensor's byte range from the header; no weight is read. */
export function llama2cLayout(header: Int32Array, path: string): Llama2cLayout {
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = header;
  if (header[0] === VERSIONED_MAGIC) {
    throw new InvalidArgumentError(`${path}: versioned llama2.c export ("ak42" magic) is not supported; use the legacy (version 0) export`, 'model');
  }
  const sharedClassifier = rawVocab > 0;
  const vocabSize = Math.abs(rawVocab);
  if ([dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen].some((v) => !(v > 0)) || dim % nHeads !== 0) {
    throw new InvalidArgumentError(
      `${path}: header at offset 0 is not a llama2.c config (expected 7 int32: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len, all non-zero, dim a multiple of n_heads)`,
      'header',
    );
  }
  const headDim = dim / nHeads;
  const config = validateConfig(
    {
      arch: 'llama',
      dim,
      nLayers,
      nHeads,
      nKvHeads,
      headDim,
      hiddenDim,
      vocabSize,
      maxSeqLen: seqLen,
      normEps: 1e-5,
      ropeTheta: 10000,
      ropeStyle: 'interleaved',
      rotaryDim: headDim,
      tieEmbeddings: sharedClassifier,
      parallelResidual: false,
      hiddenAct: 'silu',
      bosId: 1,
      eosId: 2,
    },
    path,
    LLAMA2C_HEADER_FIELDS,
  );
  const kvDim = nKvHeads * headDim;
  const segments = new Map<string, Segment>();
  let offset = HEADER_BYTES;
  const add = (name: string, label: string, shape: number[]) => {
    segments.set(name, { name, label, offset, shape });
    offset += shape.reduce((a, b) => a * b, 1) * 4;
  };
  const perLayer = (suffix: string, label: string, shape: number[]) => {
    for (let l = 0; l < nLayers; l++) add(`model.layers.${l}.${suffix}`, `${label}[layer ${l}]`, shape);
  };
  add('model.embed_tokens.weight', 'token_embedding_table', [vocabSize, dim]);
  perLayer('input_layernorm.weight', 'rms_att_weight', [dim]);
  perLayer('self_attn.q_proj.weight', 'wq', [dim, dim]);
  perLayer('self_attn.k_proj.weight', 'wk', [kvDim, dim]);
  perLayer('self_attn.v_proj.weight', 'wv', [kvDim, dim]);
  perLayer('self_attn.o_proj.weight', 'wo', [dim, dim]);
  perLayer('post_attention_layernorm.weight', 'rms_ffn_weight', [dim]);
  perLayer('mlp.gate_proj.weight', 'w1', [hiddenDim, dim]);
  perLayer('mlp.down_proj.weight', 'w2', [dim, hiddenDim]);
  perLayer('mlp.up_proj.weight', 'w3', [hiddenDim, dim]);
  add('model.norm.weight', 'rms_final_weight', [dim]);
  add('freq_cis_real', 'freq_cis_real', [seqLen, headDim / 2]);
  add('freq_cis_imag', 'freq_cis_imag', [seqLen, headDim / 2]);
  if (!sharedClassifier) add('lm_head.weight', 'wcls', [vocabSize, dim]);
  return { config, sharedClassifier, segments, expectedBytes: offset };
}

function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

export function loadLlama2cModel(path: string, options: LoadModelOptions = {}): TransformerModel {
  return runSteps(llama2cSteps(path, options));
}

/** The load of a llama2.c checkpoint as steps, one per block (see buildSteps); the file is closed however it ends. */
export function* llama2cSteps(path: string, options: LoadModelOptions = {}): Generator<void, TransformerModel> {
  // A regular file only (a FIFO or device is refused at once, never blocks).
  const fd = openRegularFile(path, 'model');
  try {
    const size = fstatSync(fd).size;
    const headerBuf = readAt(fd, HEADER_BYTES, 0);
    if (headerBuf.length < HEADER_BYTES) {
      throw new InvalidArgumentError(`${path}: truncated header: ${size} bytes, a llama2.c header needs ${HEADER_BYTES} (offset 0)`, 'header');
    }
    const header = new Int32Array(7);
    for (let i = 0; i < 7; i++) header[i] = headerBuf.readInt32LE(4 * i);
    const layout = llama2cLayout(header, path);
    options.checkConfig?.(layout.config, { path, format: 'llama2c' });
    for (const s of layout.segments.values()) {
      const end = s.offset + s.shape.reduce((a, b) => a * b, 1) * 4;
      if (end > size) {
        throw new InvalidArgumentError(
          `${path}: truncated: tensor ${s.label} ("${s.name}") spans bytes [${s.offset}, ${end}) but the file ends at offset ${size}`,
          s.name,
        );
      }
    }
    if (size !== layout.expectedBytes) {
      throw new InvalidArgumentError(
        `${path}: inconsistent with its header: expected ${layout.expectedBytes} bytes, found ${size} (extra data from offset ${layout.expectedBytes})`,
        'model',
      );
    }
    const src: WeightSource = {
      describe: path,
      has: (name) => layout.segments.has(name) && !name.startsWith('freq_cis'),
      read: (name): RawTensor => {
        const s = layout.segments.get(name);
        if (!s) throw new InvalidArgumentError(`${path}: no tensor "${name}"`, name);
        const n = s.shape.reduce((a, b) => a * b, 1);
        const raw = readAt(fd, n * 4, s.offset);
        if (raw.length !== n * 4) {
          throw new InvalidArgumentError(`${path}: truncated while reading ${s.label} at offset ${s.offset + raw.length}`, name);
        }
        const data = new Float32Array(n);
        new Uint8Array(data.buffer).set(raw);
        return { data, shape: s.shape, raw };
      },
    };
    return yield* buildSteps(layout.config, src);
  } finally {
    closeSync(fd);
  }
}
