#!/usr/bin/python3
"""Independent PyTorch reference for `memorize memory loss`: a Llama forward written from scratch (HF
conventions: rotate-half RoPE, GQA by repeating KV heads, RMSNorm), an unstructured memory
LN(W_down GELU(W_up h + b_up) + b_down) * g added after block `layer`, the mean next-token cross-entropy of
positions 0..T-2 against tokens 1..T-1, and the L2 norm of its gradient per memory tensor.

usage: torch_memory_loss.py MODEL_DIR MEMORY.safetensors 1,2,3,...   -> prints one JSON object
       torch_memory_loss.py MODEL_DIR MEMORY.safetensors 1,2,3,... --train STEPS PEAK_LR WD CLIP WARMUP
         -> trains the memory with torch.optim.AdamW, HF's cosine-with-warm-up schedule (LambdaLR) and
            clip_grad_norm_, and prints the loss before every step and the final parameters' norms
Safetensors are read with the F32 reader in libs/testing/python (safetensors_f32), so no package beyond torch is
needed; the tests run this script with that folder on PYTHONPATH."""
import json
import math
import sys

import torch
from safetensors_f32 import read_safetensors


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def main():
    model_dir, memory_path, token_list = sys.argv[1], sys.argv[2], sys.argv[3]
    torch.set_num_threads(1)
    cfg = json.load(open(f"{model_dir}/config.json"))
    w, _ = read_safetensors(f"{model_dir}/model.safetensors")
    mem, meta = read_safetensors(memory_path)
    layer = int(meta["layer"])
    approximate = "tanh" if meta.get("gelu") == "tanh" else "none"
    params = {k: v.clone().requires_grad_(True) for k, v in mem.items()}

    ids = torch.tensor([int(t) for t in token_list.split(",")])
    T = ids.shape[0]
    d, H, KV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim", d // H)
    eps = cfg["rms_norm_eps"]
    inv_freq = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    freqs = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]
    causal = torch.full((T, T), float("-inf")).triu(1)

    def loss_fn():
        x = w["model.embed_tokens.weight"][ids]
        for l in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{l}."
            h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
            q = (h @ w[p + "self_attn.q_proj.weight"].T).view(T, H, hd)
            k = (h @ w[p + "self_attn.k_proj.weight"].T).view(T, KV, hd)
            v = (h @ w[p + "self_attn.v_proj.weight"].T).view(T, KV, hd)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = k.repeat_interleave(H // KV, dim=1)
            v = v.repeat_interleave(H // KV, dim=1)
            scores = torch.einsum("thd,shd->hts", q, k) / hd**0.5 + causal
            o = torch.einsum("hts,shd->thd", scores.softmax(-1), v).reshape(T, H * hd)
            x = x + o @ w[p + "self_attn.o_proj.weight"].T
            h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
            gate = torch.nn.functional.silu(h @ w[p + "mlp.gate_proj.weight"].T)
            x = x + (gate * (h @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
            if l == layer:
                a = torch.nn.functional.gelu(x @ params["up.weight"].T + params["up.bias"], approximate=approximate)
                y = a @ params["down.weight"].T + params["down.bias"]
                if "ln.weight" in params:
                    y = torch.nn.functional.layer_norm(y, (d,), params["ln.weight"], params["ln.bias"], 1e-5)
                if "gate" in params:
                    y = y * params["gate"]
                x = x + y
        x = rms_norm(x, w["model.norm.weight"], eps)
        head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
        logits = x @ head.T
        return torch.nn.functional.cross_entropy(logits[:-1], ids[1:])

    if "--train" in sys.argv:
        i = sys.argv.index("--train")
        steps, peak, wd, clip, warmup = int(sys.argv[i + 1]), float(sys.argv[i + 2]), float(sys.argv[i + 3]), float(sys.argv[i + 4]), int(sys.argv[i + 5])
        opt = torch.optim.AdamW(list(params.values()), lr=peak, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)

        def lr_lambda(step):  # transformers.get_cosine_schedule_with_warmup
            if step < warmup:
                return step / max(1, warmup)
            progress = (step - warmup) / max(1, steps - warmup)
            return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
        losses, norms_before_clip = [], []
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            losses.append(float(loss))
            norms_before_clip.append(float(torch.nn.utils.clip_grad_norm_(list(params.values()), clip)))
            opt.step()
            sched.step()
        print(json.dumps({"losses": losses, "grad_norms": norms_before_clip, "param_norms": {k: float(v.detach().norm()) for k, v in params.items()}}))
        return

    loss = loss_fn()
    loss.backward()
    norms = {k: float(v.grad.norm()) for k, v in params.items()}
    total = float(torch.sqrt(sum(v.grad.pow(2).sum() for v in params.values())))
    print(json.dumps({"loss": float(loss), "grad_norms": norms, "total_grad_norm": total}))


if __name__ == "__main__":
    main()
