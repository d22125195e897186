"""The PyTorch reference of the GPU benchmarks, measured in the same run as wick_gpu_bench.

Makes a random-initialised model of a real shape (default: Qwen2-0.5B), saves it as a Hugging Face
folder (bf16 safetensors) for wick, and measures with transformers + PEFT on the same card:
prefill of T tokens, greedy decoding at batch 1 with a static cache, a LoRA training step (r 16 on
all 7 projections, AdamW) with peak memory. One JSON line per workload. CUDA events / synchronise
before every clock read; medians.
"""
import json, sys, time, os
import torch

def main():
    out_dir = sys.argv[1]
    shape = sys.argv[2] if len(sys.argv) > 2 else "qwen2-0.5b"
    T, new_tokens, TB, TT = 512, 128, 8, 512
    from transformers import Qwen2Config, Qwen2ForCausalLM
    if shape == "qwen2-0.5b":
        cfg = Qwen2Config(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                          num_attention_heads=14, num_key_value_heads=2, vocab_size=151936,
                          max_position_embeddings=32768, rope_theta=1e6, rms_norm_eps=1e-6,
                          tie_word_embeddings=True, torch_dtype="bfloat16")
    else:  # a small smoke-test shape
        cfg = Qwen2Config(hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, vocab_size=1000,
                          tie_word_embeddings=True, torch_dtype="bfloat16")
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(cfg).to(torch.bfloat16)
    if not os.path.exists(os.path.join(out_dir, "model.safetensors")):
        model.save_pretrained(out_dir, safe_serialization=True)
    if "--make-only" in sys.argv:
        return
    dev = "cuda"
    model = model.to(dev).eval()
    card = torch.cuda.get_device_name()
    V = cfg.vocab_size

    def timed(fn, reps):
        ts = []
        for r in range(reps + 1):
            torch.cuda.synchronize(); t0 = time.perf_counter(); fn(); torch.cuda.synchronize()
            if r: ts.append(time.perf_counter() - t0)
        ts.sort(); return ts[len(ts) // 2]

    ids = torch.randint(0, V, (1, T), device=dev)
    with torch.no_grad():
        s = timed(lambda: model(ids, logits_to_keep=1), 5)
    print(json.dumps({"ref": "torch", "card": card, "workload": "prefill", "T": T, "ms": s * 1e3,
                      "tokens_per_s": T / s}), flush=True)

    prompt = torch.randint(0, V, (1, 16), device=dev)
    for impl in ("dynamic", "static"):
        kw = {"cache_implementation": "static"} if impl == "static" else {}
        def gen():
            model.generate(prompt, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                           do_sample=False, **kw)
        try:
            gen()
            s = timed(gen, 2)
            print(json.dumps({"ref": "torch", "card": card, "workload": "decode", "cache": impl,
                              "tokens": new_tokens, "ms": s * 1e3,
                              "tokens_per_s": new_tokens / s}), flush=True)
        except Exception as e:  # report, keep going
            print(json.dumps({"ref": "torch", "workload": "decode", "cache": impl,
                              "error": str(e)[:200]}), flush=True)

    from peft import LoraConfig, get_peft_model
    model.train()
    pm = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=[
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
    opt = torch.optim.AdamW([p for p in pm.parameters() if p.requires_grad], lr=1e-4,
                            weight_decay=0.0)
    x = torch.randint(0, V, (TB, TT), device=dev)
    def step():
        loss = pm(input_ids=x, labels=x).loss
        loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
    step()
    torch.cuda.reset_peak_memory_stats()
    s = timed(step, 5)
    print(json.dumps({"ref": "peft", "card": card, "workload": "lora_train", "batch": TB, "T": TT,
                      "ms": s * 1e3, "tokens_per_s": TB * TT / s,
                      "peak_gib": torch.cuda.max_memory_allocated() / 2**30}), flush=True)

if __name__ == "__main__":
    main()
