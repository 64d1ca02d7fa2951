/**
 * kind "doc-key" (Park & Choi, IJCAI 2024): learned key generation gating the entries. Linear:
 * k_D = act(W_k K_D + b_k) (tensors key.weight [m, keyDim], key.bias [m]); nonlinear: an MLP with one hidden
 * layer of keyDim units and the same activation, named like PyTorch's nn.Sequential(Linear, act, Linear):
 * key.0.weight [keyDim, keyDim], key.0.bias, key.2.weight [m, keyDim], key.2.bias. The fixed keys are stored
 * as doc_keys [documents, keyDim].
 */
import { tf, type TensorToWrite } from '@memorize/tensor';
import { FailedPreconditionError, InvalidArgumentError } from '@memorize/errors';
import type { KeyActivation, ResolvedMemoryConfig } from '../../config.js';
import { deriveSeed, mulberry32 } from '../../hash.js';
import { documentOrNone, type KindDefinition, type StoredMemory } from '../../kind.js';
import type { Masker, RowMaskRequest } from '../../masker.js';
import { parameterFromFile, type ParameterMap } from '../../mlp.js';
import { docKeyModes, validateDocKeyConfig } from './config.js';
import { documentKeys } from './entries.js';

function act(x: tf.Tensor, a: KeyActivation): tf.Tensor {
  return a === 'tanh' ? tf.tanh(x) : a === 'relu' ? tf.relu(x) : tf.sigmoid(x);
}

/** Generator tensor names and PyTorch shapes. */
export function keyGeneratorLayout(c: ResolvedMemoryConfig): [string, number[]][] {
  const { entries: m, keyDim: k } = c;
  return c.keyGenerator === 'linear'
    ? [
        ['key.weight', [m, k]],
        ['key.bias', [m]],
      ]
    : [
        ['key.0.weight', [k, k]],
        ['key.0.bias', [k]],
        ['key.2.weight', [m, k]],
        ['key.2.bias', [m]],
      ];
}

export class DocKeyMasker implements Masker {
  readonly mode = 'dim' as const;
  private readonly keysTensor: tf.Tensor2D;

  constructor(
    readonly config: ResolvedMemoryConfig,
    /** [documents, keyDim] row-major. */
    readonly keys: Float32Array,
    private readonly params: ParameterMap,
  ) {
    if (keys.length % config.keyDim !== 0) throw new InvalidArgumentError('doc_keys size is not a multiple of keyDim', 'doc_keys');
    this.keysTensor = tf.keep(tf.tensor2d(keys, [keys.length / config.keyDim, config.keyDim]));
  }

  get documentCount(): number {
    return this.keysTensor.shape[0];
  }

  /** k = act(generator(K)) for keys [B, keyDim] -> [B, m]. */
  generate(keys: tf.Tensor2D): tf.Tensor2D {
    const w = (n: string) => this.params.get(n)!.variable;
    const a = this.config.keyActivation;
    if (this.config.keyGenerator === 'linear') return act(tf.add(tf.matMul(keys, w('key.weight')), w('key.bias')), a) as tf.Tensor2D;
    const hidden = act(tf.add(tf.matMul(keys, w('key.0.weight')), w('key.0.bias')), a) as tf.Tensor2D;
    return act(tf.add(tf.matMul(hidden, w('key.2.weight')), w('key.2.bias')), a) as tf.Tensor2D;
  }

  mask(rows: readonly RowMaskRequest[]): tf.Tensor3D {
    const { keyDim, entries: m } = this.config;
    const b = rows.length;
    const keys = new Float32Array(b * keyDim);
    const generated = new Float32Array(b);
    // Rows that are not generated get a constant: 1 for 'all', 0 for 'none'.
    const constant = new Float32Array(b);
    rows.forEach((row, r) => {
      if (row.source === 'all' || row.source === 'none') {
        constant[r] = row.source === 'all' ? 1 : 0;
        return;
      }
      if (row.source === 'context') {
        throw new FailedPreconditionError('doc-key cannot derive a key from the context; use mask source oracle or all', 'maskSource');
      }
      const key = row.source === 'key' ? row.key : this.keys.subarray(row.document * keyDim, (row.document + 1) * keyDim);
      if (row.source === 'oracle' && row.document >= this.documentCount) {
        throw new InvalidArgumentError(`document ${row.document} outside [0, ${this.documentCount})`, 'documentIndex');
      }
      if (key.length !== keyDim) throw new InvalidArgumentError(`key of length ${key.length}, expected ${keyDim}`, 'key');
      keys.set(key, r * keyDim);
      generated[r] = 1;
    });
    const gen = this.generate(tf.tensor2d(keys, [b, keyDim]));
    // Rows with source 'all' / 'none' get ones / zeros instead of a generated gate.
    const sel = tf.tensor2d(generated, [b, 1]);
    const mixed = tf.add(tf.mul(gen, sel), tf.tensor2d(constant, [b, 1]));
    return tf.reshape(mixed, [b, 1, m]) as tf.Tensor3D;
  }

  parameters(): ParameterMap {
    return this.params;
  }
  entrySets(): undefined {
    return undefined;
  }
  fileTensors(): Map<string, TensorToWrite> {
    return new Map([['doc_keys', { shape: [this.documentCount, this.config.keyDim], data: this.keys }]]);
  }
  metadata(): Record<string, string> {
    return {};
  }
  dispose(): void {
    this.keysTensor.dispose();
  }
}

function initGenerator(c: ResolvedMemoryConfig): ParameterMap {
  const rand = mulberry32(deriveSeed(c.seed, 'doc-key/init'));
  const map: ParameterMap = new Map();
  for (const [name, shape] of keyGeneratorLayout(c)) {
    // PyTorch nn.Linear default: U(-1/sqrt(in), 1/sqrt(in)), in = keyDim for every layer here.
    const bound = 1 / Math.sqrt(c.keyDim);
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (2 * rand() - 1) * bound);
    map.set(name, parameterFromFile(data, shape, shape.length === 2));
  }
  return map;
}

function restoreGenerator(c: ResolvedMemoryConfig, stored: StoredMemory): ParameterMap {
  const map: ParameterMap = new Map();
  for (const [name, shape] of keyGeneratorLayout(c)) {
    const t = stored.tensor(name);
    if (!t || t.shape.join(',') !== shape.join(',')) {
      throw new InvalidArgumentError(`${stored.path}: tensor "${name}" must have shape [${shape}]`, name);
    }
    map.set(name, parameterFromFile(t.data, shape, shape.length === 2));
  }
  return map;
}

export const docKeyKind: KindDefinition = {
  name: 'doc-key',
  description: 'document-wise memory gated by learned keys, trained with a guidance loss (Park & Choi, IJCAI 2024)',
  documentWise: true,
  modes: docKeyModes,
  validate: validateDocKeyConfig,
  defaultMaskSource: documentOrNone,
  createMasker: (c, docs) => new DocKeyMasker(c, documentKeys(docs.length, c.keyDim, c.seed), initGenerator(c)),
  restoreMasker: (c, stored) => {
    const keys = stored.tensor('doc_keys');
    if (!keys || keys.shape.length !== 2 || keys.shape[1] !== c.keyDim) {
      throw new InvalidArgumentError(`${stored.path}: tensor "doc_keys" must have shape [documents, ${c.keyDim}]`, 'doc_keys');
    }
    return new DocKeyMasker(c, keys.data, restoreGenerator(c, stored));
  },
};
