#!/usr/bin/env python3
"""PyTorch CPU baseline for scripts/bench-embed.sh (Debian python3-torch, no transformers).

  embed_torch.py make DIR          write a random MiniLM-L6-shaped BERT folder (hidden 384, 6
                                   layers, 12 heads, intermediate 1536) with mean pooling +
                                   Normalize, as all-MiniLM-L6-v2 is laid out
  embed_torch.py bench DIR DUMP    time the same model in PyTorch (eager BertModel written with
                                   matmul + softmax: torch 1.13 has no SDPA) and compare with the
                                   vectors wick wrote to DUMP
"""
import json
import os
import shutil
import struct
import sys
import time

import numpy as np

H, L, NH, FF, V, P = 384, 6, 12, 1536, 30522, 512
EPS = 1e-12


def write_safetensors(path, tensors):
    header, off, blobs = {}, 0, []
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8 : 8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + s : 8 + n + e], dtype=np.float32).reshape(v["shape"])
    return out


def make(d, tokenizer):
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    rng = np.random.default_rng(0)
    t = {}
    r = lambda *s: (rng.standard_normal(s) * 0.05).astype(np.float32)
    ln = lambda: (1 + rng.standard_normal(H) * 0.05).astype(np.float32)
    t["embeddings.word_embeddings.weight"] = r(V, H)
    t["embeddings.position_embeddings.weight"] = r(P, H)
    t["embeddings.token_type_embeddings.weight"] = r(2, H)
    t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"] = ln(), r(H)
    for i in range(L):
        p = f"encoder.layer.{i}."
        for m in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]:
            t[p + m + ".weight"], t[p + m + ".bias"] = r(H, H), r(H)
        t[p + "attention.output.LayerNorm.weight"], t[p + "attention.output.LayerNorm.bias"] = ln(), r(H)
        t[p + "intermediate.dense.weight"], t[p + "intermediate.dense.bias"] = r(FF, H), r(FF)
        t[p + "output.dense.weight"], t[p + "output.dense.bias"] = r(H, FF), r(H)
        t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"] = ln(), r(H)
    write_safetensors(os.path.join(d, "model.safetensors"), t)
    cfg = dict(architectures=["BertModel"], model_type="bert", hidden_size=H, num_hidden_layers=L,
               num_attention_heads=NH, intermediate_size=FF, hidden_act="gelu",
               max_position_embeddings=P, type_vocab_size=2, vocab_size=V, layer_norm_eps=EPS,
               pad_token_id=0)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=1)
    json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
              open(os.path.join(d, "modules.json"), "w"), indent=1)
    json.dump({"word_embedding_dimension": H, "pooling_mode_mean_tokens": True},
              open(os.path.join(d, "1_Pooling", "config.json"), "w"))
    json.dump({"max_seq_length": 256, "do_lower_case": False},
              open(os.path.join(d, "sentence_bert_config.json"), "w"))
    shutil.copy(tokenizer, os.path.join(d, "tokenizer.json"))


def bench(d, dump):
    import torch

    threads = int(os.environ.get("WICK_BENCH_THREADS", "2"))
    torch.set_num_threads(threads)
    w = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(os.path.join(d, "model.safetensors")).items()}
    lin = lambda x, p: torch.nn.functional.linear(x, w[p + ".weight"], w[p + ".bias"])
    norm = lambda x, p: torch.nn.functional.layer_norm(x, (H,), w[p + ".weight"], w[p + ".bias"], EPS)

    def forward(ids, mask):
        B, T = ids.shape
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:T] \
            + w["embeddings.token_type_embeddings.weight"][0]
        x = norm(x, "embeddings.LayerNorm")
        add = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for i in range(L):
            p = f"encoder.layer.{i}."
            heads = lambda t: t.view(B, T, NH, H // NH).transpose(1, 2)
            q, k, v = (heads(lin(x, p + "attention.self." + n)) for n in ("query", "key", "value"))
            s = torch.matmul(q, k.transpose(-1, -2)) / (H // NH) ** 0.5 + add
            c = torch.matmul(torch.softmax(s, -1), v).transpose(1, 2).reshape(B, T, H)
            x = norm(lin(c, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            f = torch.nn.functional.gelu(lin(x, p + "intermediate.dense"))
            x = norm(lin(f, p + "output.dense") + x, p + "output.LayerNorm")
        m = mask[:, :, None].float()
        e = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(e, p=2, dim=1)

    ref = json.load(open(dump))
    worst = 0.0
    with torch.inference_mode():
        for ids, vec in zip(ref["ids"], ref["embeddings"]):
            t = torch.tensor([ids])
            got = forward(t, torch.ones_like(t))[0].numpy()
            worst = max(worst, float(np.abs(got - np.array(vec, dtype=np.float32)).max()))
        g = torch.Generator().manual_seed(0)
        batch = torch.randint(1000, 30000, (100, 128), generator=g)
        single = torch.randint(1000, 30000, (1, 16), generator=g)
        ones_b, ones_s = torch.ones_like(batch), torch.ones_like(single)

        def timeit(f, min_s):
            """(wall seconds, process CPU seconds) per call, after one warm-up call."""
            f()
            n, t0, c0 = 0, time.perf_counter(), time.process_time()
            while True:
                f()
                n += 1
                el = time.perf_counter() - t0
                if el >= min_s:
                    return el / n, (time.process_time() - c0) / n

        tb, cb = timeit(lambda: forward(batch, ones_b), 3.0)
        ts, cs = timeit(lambda: forward(single, ones_s), 2.0)
    print(json.dumps({"torch": torch.__version__, "threads": threads, "batch100x128_s": tb,
                      "batch100x128_cpu_s": cb, "texts_per_s": 100 / tb, "single16_ms": ts * 1e3,
                      "single16_cpu_ms": cs * 1e3, "max_abs_diff_vs_wick": worst}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    else:
        bench(sys.argv[2], sys.argv[3])
