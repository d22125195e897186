#!/usr/bin/python3
"""PyTorch CPU reference for docs/performance-train.md: a Llama (by default the quickstart
model: D 128, 4 layers, 4 heads, FFN 384, vocab 1024, tied embeddings; other sizes with
--hidden/--layers/--heads/--ffn/--vocab) trained on random token rows of batch x seq, full
training or LoRA (r 8, alpha 16, all linear layers), AdamW, f32. Runs steps + 2 optimizer steps.
Written in plain torch (Debian's python3-torch, no transformers). Prints tokens/s and peak RSS.

usage: /usr/bin/python3 scripts/bench_train_torch.py [--lora] [--steps N] [--threads T]
       [--hidden D --layers L --heads H --ffn F --vocab V] [--batch B --seq T]
"""
import argparse
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LoraLinear(nn.Module):
    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base
        self.A = nn.Parameter(torch.empty(r, base.in_features).uniform_(-1, 1) / math.sqrt(base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))
        self.scale = alpha / r

    def forward(self, x):
        return self.base(x) + (x @ self.A.t() @ self.B.t()) * self.scale


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class Block(nn.Module):
    def __init__(self, d, h, ffn):
        super().__init__()
        self.h, self.dh = h, d // h
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate, self.up = nn.Linear(d, ffn, bias=False), nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)
        self.n1, self.n2 = nn.Parameter(torch.ones(d)), nn.Parameter(torch.ones(d))

    @staticmethod
    def norm(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    def forward(self, x, cos, sin, mask):
        B, T, D = x.shape
        y = self.norm(x, self.n1)
        q = self.q(y).view(B, T, self.h, self.dh).transpose(1, 2)
        k = self.k(y).view(B, T, self.h, self.dh).transpose(1, 2)
        v = self.v(y).view(B, T, self.h, self.dh).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        a = (q @ k.transpose(-1, -2)) / math.sqrt(self.dh) + mask
        a = torch.softmax(a, -1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(B, T, D))
        y = self.norm(x, self.n2)
        return x + self.down(F.silu(self.gate(y)) * self.up(y))


class Model(nn.Module):
    def __init__(self, V=1024, d=128, layers=4, h=4, ffn=384):
        super().__init__()
        self.emb = nn.Embedding(V, d)
        nn.init.normal_(self.emb.weight, std=0.02)
        self.blocks = nn.ModuleList(Block(d, h, ffn) for _ in range(layers))
        self.norm = nn.Parameter(torch.ones(d))
        self.dh = d // h

    def forward(self, ids, targets):
        T = ids.shape[1]
        inv = 1.0 / (10000 ** (torch.arange(0, self.dh, 2).float() / self.dh))
        ang = torch.outer(torch.arange(T).float(), inv)
        ang = torch.cat((ang, ang), -1)
        cos, sin = ang.cos(), ang.sin()
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = self.emb(ids)
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        x = Block.norm(x, self.norm)
        logits = x @ self.emb.weight.t()
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lora", action="store_true")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=384)
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = Model(V=a.vocab, d=a.hidden, layers=a.layers, h=a.heads, ffn=a.ffn)
    if a.lora:
        for p in m.parameters():
            p.requires_grad_(False)
        for b in m.blocks:
            for name in ("q", "k", "v", "o", "gate", "up", "down"):
                setattr(b, name, LoraLinear(getattr(b, name), 8, 16))
    params = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01, foreach=False)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq + 1))
    times = []
    for step in range(a.steps + 2):
        t0 = time.perf_counter()
        loss = m(ids[:, :-1], ids[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - t0)
    t = sorted(times[2:])[len(times[2:]) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = sum(p.numel() for p in m.parameters())
    print(f"torch {torch.__version__} {'lora' if a.lora else 'full'} threads {a.threads}, "
          f"{n/1e6:.1f} M parameters, batch {a.batch} x {a.seq}: "
          f"median step {t*1e3:.0f} ms, {a.batch*a.seq/t:.0f} tokens/s, peak RSS {rss:.0f} MiB, "
          f"loss {loss.item():.3f}")


if __name__ == "__main__":
    main()
