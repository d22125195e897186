#!/usr/bin/env python3
"""Formats both ways on the GPU host (issue 12): PEFT loads an adapter that `wick train` wrote on the
GPU, transformers loads what `wick merge` wrote, and their logits (f32, tf32 off) must equal wick's
within 1e-4 relative (max |a - b| / max |b|). Prints one JSON line per check; exits 1 if any fails.
A check whose adapter changes nothing would pass vacuously, so the adapter's effect on the logits
must itself be far above the tolerance.
  formats_check.py NAME BASE_DIR ADAPTER_DIR MERGED_DIR WICK_ADAPTER.npy WICK_MERGED.npy ID [ID ...]
"""
import json
import sys

import numpy as np
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

TOL = 1e-4


def rel(a, b):
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))


def logits(model, ids):
    with torch.no_grad():
        x = torch.tensor([ids], device="cuda")
        return model(x).logits[0].float().cpu().numpy()


def main():
    name, base, adapter, merged, wick_ad, wick_merged = sys.argv[1:7]
    ids = [int(t) for t in sys.argv[7:]]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    card = torch.cuda.get_device_name(0)
    load = dict(dtype=torch.float32)
    base_m = AutoModelForCausalLM.from_pretrained(base, **load).cuda().eval()
    base_l = logits(base_m, ids)
    peft_m = PeftModel.from_pretrained(base_m, adapter).cuda().eval()
    peft_l = logits(peft_m, ids)
    merged_l = logits(AutoModelForCausalLM.from_pretrained(merged, **load).cuda().eval(), ids)
    w_ad, w_merged = np.load(wick_ad), np.load(wick_merged)
    checks = {
        "adapter_effect_vs_base": (rel(peft_l, base_l), lambda r: r > 100 * TOL),
        "peft_loads_wick_adapter": (rel(w_ad, peft_l), lambda r: r <= TOL),
        "transformers_loads_wick_merge": (rel(w_merged, merged_l), lambda r: r <= TOL),
        "merged_equals_peft": (rel(merged_l, peft_l), lambda r: r <= TOL),
    }
    ok = True
    for check, (r, good) in checks.items():
        passed = bool(good(r)) and np.isfinite(r)
        ok &= passed
        print(json.dumps({"check": check, "model": name, "card": card, "tokens": len(ids),
                          "rel": r, "tolerance": TOL, "pass": passed}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
