#!/usr/bin/python3
"""Write a Llama model folder with random weights, for the training benchmarks in
docs/performance-train.md: config.json (LlamaForCausalLM, transformers field names, tied
embeddings, f32) and model.safetensors (normal init std 0.02, norm weights 1), plus the test
fixture's tokenizer files (tests/fixtures/models/llama; its ids are all below --vocab).
Also writes a JSONL of long {"text"} lines from fortune files or any text given with --text.

usage: /usr/bin/python3 scripts/make_random_llama.py OUT_DIR [--hidden 768 --layers 12
       --heads 12 --kv-heads 12 --ffn 2048 --vocab 32000] [--data FILE.jsonl --rows 64]
"""
import argparse
import glob
import json
import os
import shutil
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "tests", "fixtures", "models", "llama")


def tensor_shapes(a):
    d, f, dh = a.hidden, a.ffn, a.hidden // a.heads
    shapes = [("model.embed_tokens.weight", (a.vocab, d))]
    for i in range(a.layers):
        p = f"model.layers.{i}."
        shapes += [
            (p + "input_layernorm.weight", (d,)),
            (p + "self_attn.q_proj.weight", (a.heads * dh, d)),
            (p + "self_attn.k_proj.weight", (a.kv_heads * dh, d)),
            (p + "self_attn.v_proj.weight", (a.kv_heads * dh, d)),
            (p + "self_attn.o_proj.weight", (d, a.heads * dh)),
            (p + "post_attention_layernorm.weight", (d,)),
            (p + "mlp.gate_proj.weight", (f, d)),
            (p + "mlp.up_proj.weight", (f, d)),
            (p + "mlp.down_proj.weight", (d, f)),
        ]
    shapes.append(("model.norm.weight", (d,)))
    return shapes


def write_safetensors(path, shapes, seed):
    header, offset = {}, 0
    for name, shape in shapes:
        n = int(np.prod(shape)) * 4
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for name, shape in shapes:
            if name.endswith("norm.weight"):
                w = np.ones(shape, dtype="<f4")
            else:
                w = (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype("<f4")
            f.write(w.tobytes())
    return sum(int(np.prod(s)) for _, s in shapes)


def write_config(path, a):
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": None,
        "dtype": "float32",
        "eos_token_id": 2,
        "head_dim": a.hidden // a.heads,
        "hidden_act": "silu",
        "hidden_size": a.hidden,
        "initializer_range": 0.02,
        "intermediate_size": a.ffn,
        "max_position_embeddings": 2048,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": a.heads,
        "num_hidden_layers": a.layers,
        "num_key_value_heads": a.kv_heads,
        "pad_token_id": 0,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"},
        "tie_word_embeddings": True,
        "use_cache": True,
        "vocab_size": a.vocab,
    }
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def write_data(path, texts, rows, chars):
    text = ""
    for t in texts:
        with open(t, encoding="utf-8", errors="replace") as f:
            text += " ".join(f.read().replace("%\n", " ").split()) + " "
    if len(text) < chars:
        raise SystemExit(f"not enough text: {len(text)} characters, need {chars} per row")
    with open(path, "w") as f:
        for i in range(rows):
            start = (i * chars) % (len(text) - chars)
            f.write(json.dumps({"text": text[start:start + chars]}) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--kv-heads", type=int, default=12)
    ap.add_argument("--ffn", type=int, default=2048)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", help="also write this JSONL of long text lines")
    ap.add_argument("--rows", type=int, default=64)
    ap.add_argument("--chars", type=int, default=2000, help="characters per data line")
    ap.add_argument("--text", nargs="*", help="text files for --data (default: fortunes)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    write_config(os.path.join(a.out, "config.json"), a)
    n = write_safetensors(os.path.join(a.out, "model.safetensors"), tensor_shapes(a), a.seed)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(FIXTURE, name), os.path.join(a.out, name))
    print(f"{a.out}: {n:,} parameters")
    if a.data:
        texts = a.text or sorted(glob.glob("/usr/share/games/fortunes/*"))
        texts = [t for t in texts if os.path.isfile(t) and not t.endswith((".dat", ".u8"))]
        write_data(a.data, texts, a.rows, a.chars)
        print(f"{a.data}: {a.rows} lines of {a.chars} characters")


if __name__ == "__main__":
    main()
