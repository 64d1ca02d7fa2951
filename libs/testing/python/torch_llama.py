#!/usr/bin/python3
"""Independent PyTorch reference for a Llama forward from an HF folder, written from Hugging Face's
modeling_llama semantics rather than from libs/lm:
- embed_tokens, then per layer: RMSNorm (x * rsqrt(mean(x^2) + rms_norm_eps) * w), q/k/v projections (with
  biases when attention_bias), rotate_half RoPE with inv_freq = 1 / rope_theta ** (arange(0, hd, 2) / hd) and
  emb = cat(freqs, freqs), GQA by repeating each KV head num_attention_heads / num_key_value_heads times,
  scores / sqrt(head_dim) with a causal mask, softmax, o_proj; RMSNorm; down(act(gate(x)) * up(x));
- final norm, then lm_head (or embed_tokens when tie_word_embeddings).
hidden_act: silu, gelu (exact), gelu_pytorch_tanh / gelu_new (tanh), relu.

usage: torch_llama.py MODEL_DIR 1,2,3,...   -> prints {"logits": [[...vocab] per position]}
       torch_llama.py MODEL_DIR 1,2,3;4,5,6 --train STEPS LR WD CLIP
         -> trains every weight with torch.optim.AdamW (betas 0.9/0.999, eps 1e-8, one group, decay on all) and
            clip_grad_norm_ on the mean next-token cross-entropy of the rows (equal lengths, ';'-separated), and
            prints {"losses": [before every step], "grad_norms": [before clipping]}
Safetensors are read with safetensors_f32 (this folder), so no package beyond torch is needed."""
import json
import sys

import torch
import torch.nn.functional as F
from safetensors_f32 import read_safetensors

ACT = {
    "silu": F.silu,
    "swish": F.silu,
    "gelu": F.gelu,
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def forward(cfg, w, ids):
    T = ids.shape[0]
    d, H = cfg["hidden_size"], cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads", H)
    hd = cfg.get("head_dim", d // H)
    eps = cfg.get("rms_norm_eps", 1e-6)
    act = ACT[cfg.get("hidden_act", "silu")]
    inv_freq = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    freqs = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]
    causal = torch.full((T, T), float("-inf")).triu(1)

    def proj(x, name):
        return F.linear(x, w[name + ".weight"], w.get(name + ".bias"))

    x = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = proj(h, p + "self_attn.q_proj").view(T, H, hd)
        k = proj(h, p + "self_attn.k_proj").view(T, KV, hd)
        v = proj(h, p + "self_attn.v_proj").view(T, KV, hd)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
        scores = torch.einsum("thd,shd->hts", q, k) / hd**0.5 + causal
        o = torch.einsum("hts,shd->thd", scores.softmax(-1), v).reshape(T, H * hd)
        x = x + proj(o, p + "self_attn.o_proj")
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        x = x + proj(act(proj(h, p + "mlp.gate_proj")) * proj(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return x @ head.T


def train(cfg, w, rows, steps, lr, wd, clip):
    params = {k: v.clone().requires_grad_(True) for k, v in w.items()}
    if cfg.get("tie_word_embeddings", False):
        params.pop("lm_head.weight", None)
    opt = torch.optim.AdamW(list(params.values()), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
    losses, norms = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.stack([F.cross_entropy(forward(cfg, params, ids)[:-1], ids[1:], reduction="sum") for ids in rows]).sum()
        loss = loss / sum(ids.shape[0] - 1 for ids in rows)
        loss.backward()
        losses.append(float(loss))
        norms.append(float(torch.nn.utils.clip_grad_norm_(list(params.values()), clip)))
        opt.step()
    return {"losses": losses, "grad_norms": norms}


def main():
    model_dir, token_list = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    cfg = json.load(open(f"{model_dir}/config.json"))
    assert cfg["model_type"] == "llama", cfg["model_type"]
    w, _ = read_safetensors(f"{model_dir}/model.safetensors")
    if "--train" in sys.argv:
        i = sys.argv.index("--train")
        steps, lr, wd, clip = int(sys.argv[i + 1]), float(sys.argv[i + 2]), float(sys.argv[i + 3]), float(sys.argv[i + 4])
        rows = [torch.tensor([int(t) for t in row.split(",")]) for row in token_list.split(";")]
        print(json.dumps(train(cfg, w, rows, steps, lr, wd, clip)))
        return
    ids = torch.tensor([int(t) for t in token_list.split(",")])
    with torch.no_grad():
        logits = forward(cfg, w, ids)
    print(json.dumps({"logits": logits.tolist()}))


if __name__ == "__main__":
    main()
