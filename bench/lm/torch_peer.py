"""PyTorch peer for bench/lm/bench.ts: the same Llama workloads on CPU, printed as one JSON line.

Usage: /usr/bin/python3 bench/lm/torch_peer.py <stories260K.bin> <batch> <seq> <gen_tokens> <min_seconds>
Runs each workload with 1 and with 2 threads and reports the faster (tokens/s).
"""
import json
import math
import struct
import sys
import time

import torch
import torch.nn.functional as F


class Llama(torch.nn.Module):
    def __init__(self, dim, hidden, layers, heads, kv_heads, vocab, seq_len, weights=None):
        super().__init__()
        self.dim, self.layers, self.heads, self.kv_heads, self.vocab = dim, layers, heads, kv_heads, vocab
        self.hd = dim // heads
        g = torch.Generator().manual_seed(1)
        rnd = lambda *s: torch.randn(*s, generator=g) * 0.02
        w = weights or {}
        self.emb = w.get("emb", rnd(vocab, dim))
        self.blocks = []
        for l in range(layers):
            b = {k: w[k][l] if k in w else None for k in ["att", "wq", "wk", "wv", "wo", "ffn", "w1", "w2", "w3"]}
            kv = kv_heads * self.hd
            b["att"] = b["att"] if b["att"] is not None else torch.ones(dim)
            b["ffn"] = b["ffn"] if b["ffn"] is not None else torch.ones(dim)
            for k, shape in [("wq", (dim, dim)), ("wk", (kv, dim)), ("wv", (kv, dim)), ("wo", (dim, dim)),
                             ("w1", (hidden, dim)), ("w2", (dim, hidden)), ("w3", (hidden, dim))]:
                if b[k] is None:
                    b[k] = rnd(*shape)
            self.blocks.append(b)
        self.norm = w.get("norm", torch.ones(dim))
        self.cls = w.get("cls", self.emb)
        inv = 1.0 / (10000 ** (torch.arange(0, self.hd, 2).float() / self.hd))
        ang = torch.outer(torch.arange(seq_len).float(), inv)
        self.cos = torch.cat([ang.cos(), ang.cos()], -1)
        self.sin = torch.cat([ang.sin(), ang.sin()], -1)

    @staticmethod
    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    def rope(self, x, pos):
        cos, sin = self.cos[pos][None, :, None, :], self.sin[pos][None, :, None, :]
        x1, x2 = x[..., : self.hd // 2], x[..., self.hd // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def forward(self, tokens, hook_layer=None, hook=None, cache=None, start=0):
        B, T = tokens.shape
        h = self.emb[tokens]
        pos = torch.arange(start, start + T)
        for l, b in enumerate(self.blocks):
            x = self.rms(h, b["att"])
            q = (x @ b["wq"].T).view(B, T, self.heads, self.hd)
            k = (x @ b["wk"].T).view(B, T, self.kv_heads, self.hd)
            v = (x @ b["wv"].T).view(B, T, self.kv_heads, self.hd)
            q, k = self.rope(q, pos), self.rope(k, pos)
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
            if cache is not None:
                if l in cache:
                    k = torch.cat([cache[l][0], k], 2)
                    v = torch.cat([cache[l][1], v], 2)
                cache[l] = (k, v)
            rep = self.heads // self.kv_heads
            if rep > 1:
                k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
            att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
            if T > 1:
                mask = torch.full((T, k.shape[2]), float("-inf")).triu(k.shape[2] - T + 1)
                att = att + mask
            o = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, self.dim)
            h = h + o @ b["wo"].T
            x = self.rms(h, b["ffn"])
            h = h + (F.silu(x @ b["w1"].T) * (x @ b["w3"].T)) @ b["w2"].T
            if hook is not None and l == hook_layer:
                h = hook(h)
        return self.rms(h, self.norm) @ self.cls.T


def load_llama2c(path):
    with open(path, "rb") as f:
        dim, hidden, layers, heads, kv_heads, vocab, seq_len = struct.unpack("7i", f.read(28))
        shared = vocab > 0
        vocab = abs(vocab)
        hd = dim // heads
        kv = kv_heads * hd

        def take(*shape):
            n = 1
            for s in shape:
                n *= s
            return torch.frombuffer(bytearray(f.read(4 * n)), dtype=torch.float32).view(*shape)

        w = {"emb": take(vocab, dim), "att": take(layers, dim), "wq": take(layers, dim, dim), "wk": take(layers, kv, dim),
             "wv": take(layers, kv, dim), "wo": take(layers, dim, dim), "ffn": take(layers, dim),
             "w1": take(layers, hidden, dim), "w2": take(layers, dim, hidden), "w3": take(layers, hidden, dim),
             "norm": take(dim)}
        take(seq_len, hd // 2)
        take(seq_len, hd // 2)
        w["cls"] = w["emb"] if shared else take(vocab, dim)
    # llama2.c pairs (2i, 2i+1) for RoPE; permute q/k rows to rotate-half as HF does (same logits).
    def permute(x, n):
        L, rows, cols = x.shape
        return x.view(L, n, rows // n // 2, 2, cols).transpose(2, 3).reshape(L, rows, cols)
    w["wq"], w["wk"] = permute(w["wq"], heads), permute(w["wk"], kv_heads)
    return Llama(dim, hidden, layers, heads, kv_heads, vocab, seq_len, w)


def timed(fn, min_seconds):
    fn()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - start
        if el >= min_seconds and n >= 2:
            return el / n


def workloads(model, batch, seq, gen, min_seconds):
    g = torch.Generator().manual_seed(2)
    tokens = torch.randint(0, model.vocab, (batch, seq), generator=g)
    d = model.dim
    w1 = (torch.randn(d, 128, generator=g) * 0.02).requires_grad_()
    b1 = torch.zeros(128, requires_grad=True)
    w2 = (torch.randn(128, d, generator=g) * 0.02).requires_grad_()
    b2 = torch.zeros(d, requires_grad=True)
    hook = lambda h: h + F.gelu(h @ w1 + b1) @ w2 + b2
    layer = model.layers // 2

    def fwd():
        with torch.no_grad():
            model(tokens)

    def fwd_bwd():
        logits = model(tokens[:, :-1], layer, hook)
        loss = F.cross_entropy(logits.reshape(-1, model.vocab), tokens[:, 1:].reshape(-1))
        for p in (w1, b1, w2, b2):
            p.grad = None
        loss.backward()

    def generate():
        with torch.no_grad():
            cache = {}
            tok = torch.tensor([[1]])
            for pos in range(gen):
                logits = model(tok, cache=cache, start=pos)
                tok = logits[:, -1].argmax(-1, keepdim=True)

    return {
        "forward": batch * seq / timed(fwd, min_seconds),
        "forward_backward": batch * (seq - 1) / timed(fwd_bwd, min_seconds),
        "generate": gen / timed(generate, min_seconds),
    }


def main():
    path, batch, seq, gen, min_seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    models = {
        "stories260K": load_llama2c(path),
        "llama-d256-L4": Llama(256, 688, 4, 8, 8, 512, 512),
    }
    out = {}
    for name, model in models.items():
        best = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for k, v in workloads(model, batch, seq, gen, min_seconds).items():
                if v > best.get(k, (0, 0))[0]:
                    best[k] = (v, threads)
        out[name] = {k: {"tokens_per_s": v, "threads": t} for k, (v, t) in best.items()}
    print(json.dumps({"torch": torch.__version__, "results": out}))


if __name__ == "__main__":
    main()
