/**
 * Cross-check of the GPT-NeoX path against an independent implementation: libs/lm/test/torch_neox.py is a
 * PyTorch forward written from Hugging Face's modeling_gpt_neox semantics (per-head q|k|v interleave of
 * query_key_value, partial rotary with rotate_half, 1/sqrt(head_dim) scaling, exact GELU, parallel or
 * sequential residual, untied embed_out). Each case writes a random checkpoint as an HF folder with HF's
 * tensor names, loads it through loadModel, and compares the logits of one token row within 1e-4.
 * reference.ts shares our reading of the format; this test does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, mulberry32, tf, writeSafetensors, type TensorToWrite } from '@memorize/tensor';
import { loadModel } from '@memorize/lm';
import { backend, maxAbsDiff, runPython, tempDir, values } from '@memorize/testing';

const script = join(import.meta.dirname, 'torch_neox.py');
const TOKENS = [3, 17, 42, 0, 8, 49, 25, 25, 11, 30, 7, 46, 2, 19, 33, 5];

/** The config.json fields a case sets; 'defaults' leaves every optional field out, so HF's defaults apply. */
type NeoxCase = { rotary_pct: number; use_parallel_residual: boolean; rotary_emb_base: number } | 'defaults';

function neoxConfig(c: NeoxCase): Record<string, unknown> {
  const required = {
    model_type: 'gpt_neox',
    architectures: ['GPTNeoXForCausalLM'],
    hidden_size: 32,
    num_attention_heads: 4,
    num_hidden_layers: 2,
    intermediate_size: 64,
    vocab_size: 50,
    max_position_embeddings: 64,
  };
  if (c === 'defaults') return required;
  return { ...required, layer_norm_eps: 1e-5, hidden_act: 'gelu', tie_word_embeddings: false, bos_token_id: 0, eos_token_id: 0, ...c };
}

/**
 * Random tensors under HF GPTNeoXForCausalLM names, [out, in] matrices. Written here rather than through
 * randomWeights so the names and shapes come from HF's format, not from our loader. Scales are large enough
 * that attention is far from uniform (so rotary and the q/k/v split matter) and LayerNorm weights and every
 * bias are non-trivial.
 */
function neoxTensors(seed: number, cfg: Record<string, unknown>): Map<string, TensorToWrite> {
  const rand = mulberry32(seed);
  const d = cfg.hidden_size as number;
  const ff = cfg.intermediate_size as number;
  const vocab = cfg.vocab_size as number;
  const m = new Map<string, TensorToWrite>();
  const uniform = (name: string, shape: number[], center: number, halfWidth: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = center + (2 * rand() - 1) * halfWidth;
    m.set(name, { shape, data });
  };
  // Uniform(-a, a) has std a/sqrt(3); a = sqrt(3/fanIn) gives unit-variance outputs.
  const matrix = (name: string, out: number, inDim: number) => uniform(name, [out, inDim], 0, Math.sqrt(3 / inDim));
  const bias = (name: string, n: number) => uniform(name, [n], 0, 0.2);
  const norm = (prefix: string) => {
    uniform(`${prefix}.weight`, [d], 1, 0.3);
    bias(`${prefix}.bias`, d);
  };
  uniform('gpt_neox.embed_in.weight', [vocab, d], 0, 1);
  for (let i = 0; i < (cfg.num_hidden_layers as number); i++) {
    const p = `gpt_neox.layers.${i}.`;
    norm(`${p}input_layernorm`);
    norm(`${p}post_attention_layernorm`);
    // Larger q/k scale: sharper attention, so a wrong head layout or rotary shows up clearly.
    uniform(`${p}attention.query_key_value.weight`, [3 * d, d], 0, 2 * Math.sqrt(3 / d));
    bias(`${p}attention.query_key_value.bias`, 3 * d);
    matrix(`${p}attention.dense.weight`, d, d);
    bias(`${p}attention.dense.bias`, d);
    matrix(`${p}mlp.dense_h_to_4h.weight`, ff, d);
    bias(`${p}mlp.dense_h_to_4h.bias`, ff);
    matrix(`${p}mlp.dense_4h_to_h.weight`, d, ff);
    bias(`${p}mlp.dense_4h_to_h.bias`, d);
  }
  norm('gpt_neox.final_layer_norm');
  matrix('embed_out.weight', vocab, d);
  return m;
}

const cases: NeoxCase[] = [
  { rotary_pct: 0.25, use_parallel_residual: true, rotary_emb_base: 10000 },
  { rotary_pct: 0.25, use_parallel_residual: false, rotary_emb_base: 10000 },
  { rotary_pct: 0.5, use_parallel_residual: true, rotary_emb_base: 10000 },
  // A small base makes the rotary angles large at these short positions, so a base that is ignored shows.
  { rotary_pct: 0.5, use_parallel_residual: false, rotary_emb_base: 100 },
  // GPTNeoXConfig's defaults: rotary_pct 0.25, rotary_emb_base 10000, parallel residual, eps 1e-5, "gelu", untied.
  'defaults',
];

function caseLabel(c: NeoxCase): string {
  return c === 'defaults'
    ? 'optional config fields absent'
    : `rotary_pct ${c.rotary_pct}, parallel residual ${c.use_parallel_residual}, base ${c.rotary_emb_base}`;
}

/** Writes the case's checkpoint, runs both forwards, asserts and returns the max abs logit difference. */
function checkCase(c: NeoxCase, seed: number, backendName: string): number {
  const cfg = neoxConfig(c);
  const dir = tempDir('memorize-neox-');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  writeSafetensors(join(dir, 'model.safetensors'), neoxTensors(seed, cfg));

  const model = loadModel(dir);
  const ours = values(model.forward([TOKENS]));
  model.dispose();
  const ref = JSON.parse(runPython(script, [dir, TOKENS.join(',')])) as { logits: number[][] };
  assert.equal(ref.logits.length, TOKENS.length);
  const theirs = Float32Array.from(ref.logits.flat());
  const diff = maxAbsDiff(ours, theirs);
  let scale = 0;
  for (const x of theirs) scale = Math.max(scale, Math.abs(x));
  process.stderr.write(`[neox-torch ${backendName}: ${caseLabel(c)}] max |logit| ${scale.toFixed(3)}, max abs diff ${diff.toExponential(2)}\n`);
  assert.ok(diff < 1e-4, `${caseLabel(c)} on ${backendName}: max abs logit difference ${diff} (logits up to ${scale})`);
  return diff;
}

for (const [index, c] of cases.entries()) {
  test(`GPT-NeoX logits match an HF-semantics PyTorch forward (${caseLabel(c)})`, async () => {
    await backend();
    checkCase(c, 100 + index, tf.getBackend());
  });
}

test('the op-based path (cpu backend: reverse-based RoPE instead of the wasm kernel) matches PyTorch too', async () => {
  await initBackend({ prefer: 'cpu', logger: () => {} });
  try {
    assert.equal(tf.getBackend(), 'cpu');
    for (const [index, c] of cases.entries()) checkCase(c, 100 + index, 'cpu');
  } finally {
    await initBackend({ prefer: 'wasm', logger: () => {} });
  }
});
