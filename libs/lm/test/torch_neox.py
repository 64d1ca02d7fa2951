#!/usr/bin/python3
"""Independent PyTorch reference for a GPT-NeoX (Pythia) forward, written from Hugging Face's
modeling_gpt_neox semantics rather than from libs/lm:
- query_key_value [3*d, d] output viewed as (T, heads, 3*head_dim), then q | k | v split per head;
- rotary (GPTNeoXRotaryEmbedding) over the first rotary_ndims = int(head_dim * rotary_pct) dims of q and k,
  inv_freq = 1 / base ** (arange(0, rotary_ndims, 2) / rotary_ndims), emb = cat(freqs, freqs),
  x * cos + rotate_half(x) * sin; the remaining dims pass through;
- scores scaled by 1 / sqrt(head_dim), causal mask, softmax, merge heads, dense;
- use_parallel_residual: x + attn(ln1(x)) + mlp(ln2(x)); otherwise a = x + attn(ln1(x)); a + mlp(ln2(a));
- mlp: dense_4h_to_h(act(dense_h_to_4h(x))), act from config hidden_act ("gelu" = exact erf GELU);
- final_layer_norm, then embed_out (untied) or embed_in (tied).
Fields absent from config.json take GPTNeoXConfig's defaults: rotary_pct 0.25, rotary_emb_base 10000,
use_parallel_residual true, layer_norm_eps 1e-5, hidden_act "gelu", tie_word_embeddings false.

usage: torch_neox.py MODEL_DIR 1,2,3,...   -> prints {"logits": [[...vocab] per position]}
Safetensors are read with the F32 reader in libs/testing/python (safetensors_f32), so no package beyond torch is
needed; the tests run this script with that folder on PYTHONPATH."""
import json
import math
import sys

import torch
import torch.nn.functional as F
from safetensors_f32 import read_safetensors


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


ACT = {
    "gelu": lambda x: F.gelu(x),
    "gelu_new": lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3)))),
    "gelu_fast": lambda x: 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))),
    "relu": F.relu,
}


def forward(cfg, w, ids):
    T = ids.shape[0]
    d = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    hd = d // H
    eps = cfg.get("layer_norm_eps", 1e-5)
    rotary_ndims = int(hd * cfg.get("rotary_pct", 0.25))
    base = cfg.get("rotary_emb_base", 10000)
    parallel = cfg.get("use_parallel_residual", True)
    act = ACT[cfg.get("hidden_act", "gelu")]

    inv_freq = 1.0 / (base ** (torch.arange(0, rotary_ndims, 2).float() / rotary_ndims))
    t = torch.arange(T, dtype=inv_freq.dtype)
    freqs = torch.einsum("i,j->ij", t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, :, :], emb.sin()[None, :, :]  # [1, T, rotary_ndims], broadcast over heads
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))

    def ln(x, prefix):
        return F.layer_norm(x, (d,), w[prefix + ".weight"], w[prefix + ".bias"], eps)

    def attention(x, p):
        qkv = F.linear(x, w[p + "attention.query_key_value.weight"], w[p + "attention.query_key_value.bias"])
        qkv = qkv.view(T, H, 3 * hd)
        q = qkv[..., :hd].permute(1, 0, 2)  # [H, T, hd]
        k = qkv[..., hd : 2 * hd].permute(1, 0, 2)
        v = qkv[..., 2 * hd :].permute(1, 0, 2)
        q_rot, q_pass = q[..., :rotary_ndims], q[..., rotary_ndims:]
        k_rot, k_pass = k[..., :rotary_ndims], k[..., rotary_ndims:]
        q = torch.cat((q_rot * cos + rotate_half(q_rot) * sin, q_pass), dim=-1)
        k = torch.cat((k_rot * cos + rotate_half(k_rot) * sin, k_pass), dim=-1)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        scores = torch.where(causal, scores, torch.tensor(torch.finfo(scores.dtype).min))
        probs = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(1, 0, 2).reshape(T, H * hd)
        return F.linear(ctx, w[p + "attention.dense.weight"], w[p + "attention.dense.bias"])

    def mlp(x, p):
        h = act(F.linear(x, w[p + "mlp.dense_h_to_4h.weight"], w[p + "mlp.dense_h_to_4h.bias"]))
        return F.linear(h, w[p + "mlp.dense_4h_to_h.weight"], w[p + "mlp.dense_4h_to_h.bias"])

    x = w["gpt_neox.embed_in.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"gpt_neox.layers.{i}."
        attn = attention(ln(x, p + "input_layernorm"), p)
        if parallel:
            x = x + attn + mlp(ln(x, p + "post_attention_layernorm"), p)
        else:
            a = x + attn
            x = a + mlp(ln(a, p + "post_attention_layernorm"), p)
    x = ln(x, "gpt_neox.final_layer_norm")
    head = w["gpt_neox.embed_in.weight"] if cfg.get("tie_word_embeddings", False) else w["embed_out.weight"]
    return F.linear(x, head)


def main():
    model_dir, token_list = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    cfg = json.load(open(f"{model_dir}/config.json"))
    assert cfg["model_type"] == "gpt_neox"
    w, _ = read_safetensors(f"{model_dir}/model.safetensors")
    ids = torch.tensor([int(t) for t in token_list.split(",")])
    with torch.no_grad():
        logits = forward(cfg, w, ids)
    print(json.dumps({"logits": logits.tolist()}))


if __name__ == "__main__":
    main()
