/**
 * A deliberately naive, loop-by-loop forward pass over HF-named weights (the way llama2.c's run.c and the
 * HF modeling code read), used to cross-check the tensor implementation on architectures without a real
 * checkpoint here (GPT-NeoX: fused per-head qkv, partial rotary, parallel residual, LayerNorm, biases).
 */
import type { ModelConfig, TensorMap } from '@memorize/lm';
import { erf } from '@memorize/testing';

type Vec = Float64Array;

function matvec(w: Float32Array, x: Vec, rows: number, cols: number, bias?: Float32Array): Vec {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = bias ? bias[r] : 0;
    for (let c = 0; c < cols; c++) s += w[r * cols + c] * x[c];
    out[r] = s;
  }
  return out;
}

function norm(c: ModelConfig, x: Vec, w: Float32Array, b?: Float32Array): Vec {
  const n = x.length;
  const out = new Float64Array(n);
  if (c.arch === 'llama') {
    let ss = 0;
    for (const v of x) ss += v * v;
    const inv = 1 / Math.sqrt(ss / n + c.normEps);
    for (let i = 0; i < n; i++) out[i] = x[i] * inv * w[i];
  } else {
    let mean = 0;
    for (const v of x) mean += v / n;
    let vr = 0;
    for (const v of x) vr += (v - mean) ** 2 / n;
    const inv = 1 / Math.sqrt(vr + c.normEps);
    for (let i = 0; i < n; i++) out[i] = (x[i] - mean) * inv * w[i] + (b ? b[i] : 0);
  }
  return out;
}

function act(c: ModelConfig, x: number): number {
  if (c.hiddenAct === 'silu') return x / (1 + Math.exp(-x));
  if (c.hiddenAct === 'gelu') return 0.5 * x * (1 + erf(x / Math.SQRT2));
  throw new Error(`reference: unsupported act ${c.hiddenAct}`);
}

/** rotate_half RoPE over the first rotaryDim dims of one head vector (HF convention). */
function rope(c: ModelConfig, v: Vec, pos: number): Vec {
  const rd = c.rotaryDim;
  const half = rd / 2;
  const out = Float64Array.from(v);
  for (let j = 0; j < half; j++) {
    const freq = 1 / Math.pow(c.ropeTheta, (2 * j) / rd);
    const cs = Math.cos(pos * freq);
    const sn = Math.sin(pos * freq);
    out[j] = v[j] * cs - v[j + half] * sn;
    out[j + half] = v[j + half] * cs + v[j] * sn;
  }
  return out;
}

/** Logits [T][vocab] for one token row. */
export function referenceForward(c: ModelConfig, w: TensorMap, tokens: number[]): Float64Array[] {
  const g = (name: string) => {
    const t = w.get(name);
    if (!t) throw new Error(`reference: missing ${name}`);
    return t.data;
  };
  const opt = (name: string) => w.get(name)?.data;
  const d = c.dim;
  const hd = c.headDim;
  const llama = c.arch === 'llama';
  const T = tokens.length;
  const emb = g(llama ? 'model.embed_tokens.weight' : 'gpt_neox.embed_in.weight');
  let xs: Vec[] = tokens.map((id) => Float64Array.from(emb.subarray(id * d, (id + 1) * d)));
  for (let l = 0; l < c.nLayers; l++) {
    const p = llama ? `model.layers.${l}.` : `gpt_neox.layers.${l}.`;
    const qs: Vec[][] = [];
    const ks: Vec[][] = [];
    const vs: Vec[][] = [];
    for (let t = 0; t < T; t++) {
      const h = norm(c, xs[t], g(`${p}input_layernorm.weight`), opt(`${p}input_layernorm.bias`));
      const heads = (flat: Vec, n: number) => Array.from({ length: n }, (_, i) => flat.subarray(i * hd, (i + 1) * hd));
      if (llama) {
        qs.push(heads(matvec(g(`${p}self_attn.q_proj.weight`), h, c.nHeads * hd, d), c.nHeads).map((v) => rope(c, v, t)));
        ks.push(heads(matvec(g(`${p}self_attn.k_proj.weight`), h, c.nKvHeads * hd, d), c.nKvHeads).map((v) => rope(c, v, t)));
        vs.push(heads(matvec(g(`${p}self_attn.v_proj.weight`), h, c.nKvHeads * hd, d), c.nKvHeads));
      } else {
        const qkv = matvec(g(`${p}attention.query_key_value.weight`), h, 3 * d, d, opt(`${p}attention.query_key_value.bias`));
        const per = (s: number) => Array.from({ length: c.nHeads }, (_, i) => qkv.subarray(i * 3 * hd + s * hd, i * 3 * hd + (s + 1) * hd));
        qs.push(per(0).map((v) => rope(c, v, t)));
        ks.push(per(1).map((v) => rope(c, v, t)));
        vs.push(per(2));
      }
    }
    const next: Vec[] = [];
    for (let t = 0; t < T; t++) {
      const attnOut = new Float64Array(c.nHeads * hd);
      for (let h = 0; h < c.nHeads; h++) {
        const kv = Math.floor(h / (c.nHeads / c.nKvHeads));
        const scores = new Float64Array(t + 1);
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += qs[t][h][i] * ks[s][kv][i];
          scores[s] = dot / Math.sqrt(hd);
        }
        const m = Math.max(...scores);
        let sum = 0;
        for (let s = 0; s <= t; s++) sum += scores[s] = Math.exp(scores[s] - m);
        for (let s = 0; s <= t; s++) for (let i = 0; i < hd; i++) attnOut[h * hd + i] += (scores[s] / sum) * vs[s][kv][i];
      }
      const attn = llama
        ? matvec(g(`${p}self_attn.o_proj.weight`), attnOut, d, c.nHeads * hd)
        : matvec(g(`${p}attention.dense.weight`), attnOut, d, d, opt(`${p}attention.dense.bias`));
      const mlp = (x: Vec): Vec => {
        const h = norm(c, x, g(`${p}post_attention_layernorm.weight`), opt(`${p}post_attention_layernorm.bias`));
        if (llama) {
          const gate = matvec(g(`${p}mlp.gate_proj.weight`), h, c.hiddenDim, d);
          const up = matvec(g(`${p}mlp.up_proj.weight`), h, c.hiddenDim, d);
          return matvec(
            g(`${p}mlp.down_proj.weight`),
            gate.map((v, i) => act(c, v) * up[i]),
            d,
            c.hiddenDim,
          );
        }
        const up = matvec(g(`${p}mlp.dense_h_to_4h.weight`), h, c.hiddenDim, d, opt(`${p}mlp.dense_h_to_4h.bias`));
        return matvec(
          g(`${p}mlp.dense_4h_to_h.weight`),
          up.map((v) => act(c, v)),
          d,
          c.hiddenDim,
          opt(`${p}mlp.dense_4h_to_h.bias`),
        );
      };
      if (c.parallelResidual) {
        const m = mlp(xs[t]);
        next.push(xs[t].map((v, i) => v + attn[i] + m[i]));
      } else {
        const mid = xs[t].map((v, i) => v + attn[i]);
        const m = mlp(mid);
        next.push(mid.map((v, i) => v + m[i]));
      }
    }
    xs = next;
  }
  const head = c.tieEmbeddings ? emb : g(llama ? 'lm_head.weight' : 'embed_out.weight');
  return xs.map((x) => {
    const h = llama ? norm(c, x, g('model.norm.weight')) : norm(c, x, g('gpt_neox.final_layer_norm.weight'), opt('gpt_neox.final_layer_norm.bias'));
    return matvec(head, h, c.vocabSize, d);
  });
}
