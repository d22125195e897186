#!/usr/bin/env bash
# Prefill and decode speed of a random Llama-shaped model (~100M parameters) in wick and in
# PyTorch CPU, same weights, same machine, same run.
#   scripts/bench-generate.sh [build-dir] [prompt-tokens] [decode-tokens]
# Needs python3-torch and python3-numpy (Debian). Torch runs with 2 threads and OpenBLAS single
# threaded, as the wick build does. Attention in torch is matmul + softmax (torch 1.13 has no SDPA).
set -euo pipefail
BUILD=${1:-build}
PROMPT=${2:-128}
DECODE=${3:-64}
WORK=$(mktemp -d /tmp/wick-bench-gen.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export OPENBLAS_NUM_THREADS=1
# Passive OpenMP waiting for both (wick and torch both use libgomp): on a shared 2-core host the
# default spin-wait burns the time slice of the thread it waits for (measured: 1.2 vs 15.6 tok/s).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
PY=${PYTHON:-/usr/bin/python3}  # Debian python3-torch lives in the system interpreter
ninja -C "$BUILD" generate_bench >/dev/null

"$PY" - "$WORK" "$PROMPT" "$DECODE" <<'PY'
import json, os, resource, struct, sys, time
import numpy as np
import torch

work, P, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(2)
torch.manual_seed(0)
cfg = dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=768,
           intermediate_size=2048, num_hidden_layers=12, num_attention_heads=12,
           num_key_value_heads=4, vocab_size=32000, max_position_embeddings=2048,
           rms_norm_eps=1e-5, rope_theta=10000.0, hidden_act="silu", tie_word_embeddings=False,
           bos_token_id=1, eos_token_id=2)
D, L, H, Hkv, F, V = 768, 12, 12, 4, 2048, 32000
Dh = D // H
shapes = {"model.embed_tokens.weight": (V, D), "model.norm.weight": (D,), "lm_head.weight": (V, D)}
for i in range(L):
    p = f"model.layers.{i}."
    shapes.update({p + "input_layernorm.weight": (D,), p + "post_attention_layernorm.weight": (D,),
                   p + "self_attn.q_proj.weight": (H * Dh, D), p + "self_attn.k_proj.weight": (Hkv * Dh, D),
                   p + "self_attn.v_proj.weight": (Hkv * Dh, D), p + "self_attn.o_proj.weight": (D, H * Dh),
                   p + "mlp.gate_proj.weight": (F, D), p + "mlp.up_proj.weight": (F, D),
                   p + "mlp.down_proj.weight": (D, F)})
W = {k: (torch.ones(s) + 0.02 * torch.randn(s)) if len(s) == 1 else 0.02 * torch.randn(s)
     for k, s in shapes.items()}

def save(dirname, dtype):
    os.makedirs(dirname, exist_ok=True)
    header, blobs, off = {}, [], 0
    for k in sorted(W):
        t = W[k].to(dtype).contiguous()
        b = (t.view(torch.int16) if dtype == torch.bfloat16 else t).numpy().tobytes()
        header[k] = {"dtype": "BF16" if dtype == torch.bfloat16 else "F32",
                     "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header).encode(); h += b" " * (-len(h) % 8)
    with open(os.path.join(dirname, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for b in blobs: f.write(b)
    c = dict(cfg, torch_dtype="bfloat16" if dtype == torch.bfloat16 else "float32")
    json.dump(c, open(os.path.join(dirname, "config.json"), "w"))

save(os.path.join(work, "f32"), torch.float32)
save(os.path.join(work, "bf16"), torch.bfloat16)
PY

# Each measurement in its own process so that peak RSS is per run.
torch_run() {
"$PY" - "$WORK" "$PROMPT" "$DECODE" "$1" <<'PY'
import json, resource, sys, time
import torch
from torch.nn import functional as Fn
work, P, N, dt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(2)
dtype = torch.bfloat16 if dt == "bf16" else torch.float32
import struct
path = f"{work}/{dt}/model.safetensors"
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n]); base = 8 + n
W = {}
for k, v in hdr.items():
    a, b = v["data_offsets"]
    t = torch.frombuffer(bytearray(raw[base + a:base + b]), dtype=torch.int16 if v["dtype"] == "BF16" else torch.float32)
    W[k] = (t.view(torch.bfloat16) if v["dtype"] == "BF16" else t).reshape(v["shape"])
del raw
D, L, H, Hkv, Dh, eps = 768, 12, 12, 4, 64, 1e-5
inv = 1.0 / (10000.0 ** (torch.arange(0, Dh, 2).float() / Dh))
def rms(x, w):
    v = x.float().pow(2).mean(-1, keepdim=True)
    return w * (x.float() * torch.rsqrt(v + eps)).to(x.dtype)
def rot(x, pos):
    f = pos[:, None].float() * inv[None, :]
    e = torch.cat((f, f), -1); c, s = e.cos().to(x.dtype), e.sin().to(x.dtype)
    x1, x2 = x[..., :Dh // 2], x[..., Dh // 2:]
    return x * c + torch.cat((-x2, x1), -1) * s
cache = [[torch.zeros(1, Hkv, P + N, Dh, dtype=dtype), torch.zeros(1, Hkv, P + N, Dh, dtype=dtype)] for _ in range(L)]
def forward(ids, start):
    T = ids.shape[1]
    pos = torch.arange(start, start + T)
    h = Fn.embedding(ids, W["model.embed_tokens.weight"])
    for i in range(L):
        p = f"model.layers.{i}."
        x = rms(h, W[p + "input_layernorm.weight"])
        q = Fn.linear(x, W[p + "self_attn.q_proj.weight"]).view(1, T, H, Dh).transpose(1, 2)
        k = Fn.linear(x, W[p + "self_attn.k_proj.weight"]).view(1, T, Hkv, Dh).transpose(1, 2)
        v = Fn.linear(x, W[p + "self_attn.v_proj.weight"]).view(1, T, Hkv, Dh).transpose(1, 2)
        q, k = rot(q, pos), rot(k, pos)
        cache[i][0][:, :, start:start + T] = k; cache[i][1][:, :, start:start + T] = v
        S = start + T
        kk = cache[i][0][:, :, :S].repeat_interleave(H // Hkv, 1)
        vv = cache[i][1][:, :, :S].repeat_interleave(H // Hkv, 1)
        s = torch.matmul(q, kk.transpose(2, 3)) / Dh ** 0.5
        mask = torch.full((T, S), float("-inf")).triu(start + 1)
        a = torch.softmax(s.float() + mask, -1).to(dtype)
        o = torch.matmul(a, vv).transpose(1, 2).reshape(1, T, H * Dh)
        h = h + Fn.linear(o, W[p + "self_attn.o_proj.weight"])
        x = rms(h, W[p + "post_attention_layernorm.weight"])
        h = h + Fn.linear(Fn.silu(Fn.linear(x, W[p + "mlp.gate_proj.weight"])) * Fn.linear(x, W[p + "mlp.up_proj.weight"]), W[p + "mlp.down_proj.weight"])
    h = rms(h[:, -1:], W["model.norm.weight"])
    return Fn.linear(h, W["lm_head.weight"]).float()
ids = torch.randint(3, 32000, (1, P), generator=torch.Generator().manual_seed(1))
with torch.inference_mode():
    t0 = time.perf_counter(); logits = forward(ids, 0); t1 = time.perf_counter()
    nxt = logits[0, -1].argmax().view(1, 1)
    t2 = time.perf_counter()
    for j in range(N - 1):
        logits = forward(nxt, P + j); nxt = logits[0, -1].argmax().view(1, 1)
    t3 = time.perf_counter()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"impl": "torch " + torch.__version__, "dtype": dt, "prefill_tok_s": P / (t1 - t0),
                  "decode_tok_s": (N - 1) / (t3 - t2), "peak_rss_mb": rss}))
PY
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; prompt $PROMPT, decode $DECODE"
for dt in f32 bf16; do
  "$BUILD/bench/generate_bench" --model "$WORK/$dt" --prompt-tokens "$PROMPT" --decode-tokens "$DECODE"
  torch_run "$dt"
done
