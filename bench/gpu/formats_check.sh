#!/usr/bin/env bash
# Formats both ways on the GPU host (run by scripts/gpu-run.sh's `formats` stage): for each fixture
# model, `wick train --device cuda` writes a PEFT adapter, `wick merge` a merged folder,
# wick_logits computes wick's logits on the GPU, and bench/gpu/formats_check.py has PEFT and
# transformers load those folders and compare. Results: $2/formats.jsonl.
#   bench/gpu/formats_check.sh BUILD_DIR OUT_DIR
set -uo pipefail
B=$1; OUT=$2
W=$(mktemp -d)
ids="1 5 9 17 33 2 8 40 3 7 11 13"
rc=0
for m in llama qwen2 mistral; do
  M=tests/fixtures/models/$m
  "$B/wick" train --device cuda --model "$M" --data tests/fixtures/train/data.jsonl --iters 20 \
    --lr 1e-2 --lora-rank 8 --target-modules all-linear --out "$W/$m-adapter" >"$W/$m-train.log" 2>&1 \
    || { echo "train $m failed"; tail -5 "$W/$m-train.log"; rc=1; continue; }
  "$B/wick" merge --model "$M" --adapter "$W/$m-adapter" --out "$W/$m-merged" >/dev/null 2>&1 \
    || { echo "merge $m failed"; rc=1; continue; }
  "$B/wick_logits" "$M" cuda "$W/$m-ad.npy" --adapter "$W/$m-adapter" $ids >/dev/null &&
    "$B/wick_logits" "$W/$m-merged" cuda "$W/$m-merged.npy" $ids >/dev/null \
    || { echo "wick_logits $m failed"; rc=1; continue; }
  python3 bench/gpu/formats_check.py "$m" "$M" "$W/$m-adapter" "$W/$m-merged" "$W/$m-ad.npy" \
    "$W/$m-merged.npy" $ids 2>"$W/$m-py.err" | tee -a "$OUT/formats.jsonl" || { tail -5 "$W/$m-py.err"; rc=1; }
done
rm -rf "$W"
exit $rc
