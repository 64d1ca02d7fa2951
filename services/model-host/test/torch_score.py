#!/usr/bin/python3
"""Independent PyTorch scoring of FEVER answer candidates, lm-evaluation-harness style: each (context, option)
pair gets its own full forward through libs/testing's HF-semantics reference (torch_llama.forward), and the
option's log-probability is the sum over its tokens of log_softmax (float64) of the logits at the position before.

usage: torch_score.py MODEL_DIR < {"prompts": [{"context": [...], "options": [[...], ...]}, ...]}
       -> prints {"logprobs": [[lp_a, lp_b, lp_c], ...]}"""
import json
import sys

import torch
from safetensors_f32 import read_safetensors
from torch_llama import forward


def main():
    model_dir = sys.argv[1]
    torch.set_num_threads(1)
    cfg = json.load(open(f"{model_dir}/config.json"))
    w, _ = read_safetensors(f"{model_dir}/model.safetensors")
    prompts = json.load(sys.stdin)["prompts"]
    out = []
    with torch.no_grad():
        for p in prompts:
            row = []
            for option in p["options"]:
                ids = torch.tensor(p["context"] + option)
                logp = forward(cfg, w, ids[:-1]).double().log_softmax(-1)
                n = len(p["context"])
                row.append(float(sum(logp[n - 1 + j, t] for j, t in enumerate(option))))
            out.append(row)
    print(json.dumps({"logprobs": out}))


if __name__ == "__main__":
    main()
